"""Verdicts recomputed from the raw sample log match the engine's, and a forged results file
cannot change them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot.ab.rejudge import pairs_from_log, rejudge
from bot.cli import main
from bot.model import Verdict
from bot.stats.sequential import plan_looks
from bot.stats.verdict import Policy

SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}


def compare(tmp_path: Path) -> tuple[dict, list[dict]]:
    slow = dict(SEGMENTS, model_built=0.7)
    scenarios = {
        "same": {"arms": {"base": {"segments": SEGMENTS, "sd_pct": 2}}},
        "slower": {
            "arms": {
                "base": {"segments": SEGMENTS, "sd_pct": 2},
                "head": {"segments": slow, "sd_pct": 2},
            }
        },
        "crashes": {
            "arms": {
                "base": {"segments": SEGMENTS, "sd_pct": 2},
                "head": {"segments": SEGMENTS, "fail_at": 3},
            }
        },
    }
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump({"version": 1, "seed": 3, "scenarios": scenarios}))
    (tmp_path / "scenarios").mkdir()
    for name in scenarios:
        (tmp_path / "scenarios" / f"{name}.yaml").write_text(
            f"name: {name}\ncommand: [python, t.py]\n"
        )
    (tmp_path / "t.py").write_text("")
    out = tmp_path / "out"
    main(
        [
            *("compare", "--fake", str(fake), "--root", str(tmp_path), "--all"),
            *("--scenarios-dir", str(tmp_path / "scenarios"), "--out-dir", str(out)),
            *("--no-history", "--instructions", "off", "--max-pairs", "40"),
            *("--base-env", "ARM=base", "--head-env", "ARM=head"),
        ]
    )
    doc = json.loads((out / "results.json").read_text())
    records = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()[1:]]
    return doc, records


def test_the_recomputed_verdicts_are_the_engines(tmp_path):
    doc, records = compare(tmp_path)
    claimed = {s["name"]: Verdict(s["verdict"]) for s in doc["scenarios"]}
    assert claimed == {
        "crashes": Verdict.BROKEN,
        "same": claimed["same"],
        "slower": Verdict.REGRESSION,
    }
    thresholds = {s["name"]: (s["threshold_pct"], s["threshold_note"]) for s in doc["scenarios"]}
    again = rejudge(pairs_from_log(records), Policy(looks=plan_looks(10, 40)), thresholds)
    assert {n: d.verdict for n, d in again.items()} == claimed
    assert again["slower"].confirmed is True


def test_the_verdict_follows_the_samples_not_the_results_file(tmp_path):
    """The results file's claims are never read: the same log with the slow scenario's
    samples made equal is no regression."""
    doc, records = compare(tmp_path)
    thresholds = {s["name"]: (s["threshold_pct"], "floor") for s in doc["scenarios"]}
    policy = Policy(looks=plan_looks(10, 40))
    again = rejudge(pairs_from_log(records), policy, thresholds)
    assert again["slower"].verdict is Verdict.REGRESSION
    equalised = [
        dict(r, ttfb_s=1.63, cpu_s=1.5, phases={}) if r.get("scenario") == "slower" else r
        for r in records
    ]
    assert rejudge(pairs_from_log(equalised), policy, thresholds)["slower"].verdict is not (
        Verdict.REGRESSION
    )
