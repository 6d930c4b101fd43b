"""``ttfb compare`` end to end with the scripted executor: CLI, statistics, rendered comment.

The golden files of the comment, summary and text are rendered from a stored results
document (tests/report/test_views.py), so fresh bootstrap numbers never move them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.report import compare_view as report
from bot.store import export, scan
from bot.store.history_db import History

SEGMENTS = {
    "interpreter_ready": 0.03,
    "import_torch": 1.2,
    "model_built": 0.05,
    "optimizer_created": 1.0,
    "dataloader_iter": 0.01,
    "first_dataloader_batch": 0.02,
    "first_forward": 0.001,
}


def spec(
    tmp_path: Path,
    *,
    head_delay: float = 0.0,
    seed: int = 7,
    sd: float = 5,
    fail_at: int | None = None,
    scenarios: dict | None = None,
) -> Path:
    head = dict(SEGMENTS)
    head["dataloader_iter"] += head_delay
    arms = {"base": {"segments": SEGMENTS, "sd_pct": sd}, "head": {"segments": head, "sd_pct": sd}}
    if fail_at:
        arms["head"].update(fail_at=fail_at, fail_error="RuntimeError: CUDA error: out of memory")
    doc = {"version": 1, "seed": seed, "load_sd_pct": 4, "arms": arms}
    if scenarios:
        doc["scenarios"] = scenarios
    path = tmp_path / f"fake-{seed}-{head_delay}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_compare(tmp_path: Path, fake: Path, *extra: str) -> tuple[int, dict]:
    (tmp_path / "train.py").write_text("")  # scripted samples: the script only has to exist
    out = tmp_path / "out"
    code = main(
        [
            "compare",
            "--fake",
            str(fake),
            "--root",
            str(tmp_path),
            "--base-cmd",
            "python train.py",
            "--head-cmd",
            "python train.py --new",
            "--out-dir",
            str(out),
            "--runner",
            "test-runner",
            *extra,
        ]
    )
    return code, json.loads((out / "results.json").read_text())


def test_planted_delay_is_a_confirmed_regression(tmp_path, capsys):
    code, doc = run_compare(tmp_path, spec(tmp_path, head_delay=0.25))
    assert code == 0
    assert doc["version"] == 1
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression" and s["confirmed"] is True
    assert 7 < s["delta_pct"] < 14
    assert s["ci_low_pct"] < s["delta_pct"] < s["ci_high_pct"]
    assert s["p_ttest"] < 0.01 and s["p_wilcoxon"] < 0.05
    assert s["pairs"] == 10 and s["confirmation"]["pairs"] == 10
    assert s["mde_pct"] > 0
    moved = [p for p in s["phases"] if p["significant"]]
    assert [p["key"] for p in moved] == ["segment:dataloader_iter"]
    assert abs(moved[0]["delta_s"] - 0.25) < 0.03
    captured = capsys.readouterr()
    assert "head is" in captured.out
    lines = captured.err.splitlines()  # the minutes-long confirmation is announced first
    start = lines.index("command: confirming with 10 fresh pairs, BAAB order")
    assert any(line.startswith("command: confirmation, ") for line in lines[start + 1 :])
    comment = report.render_comment(doc)
    assert comment.startswith(report.COMMENT_MARKER) and "| 🔴 regression |" in comment
    assert "— confirmed" in report.render_compare_text(doc)


def test_gate_mode_exits_1_on_regression(tmp_path):
    code, _ = run_compare(tmp_path, spec(tmp_path, head_delay=0.25), "--gate")
    assert code == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_identical_arms_are_never_a_regression(tmp_path, seed):
    code, doc = run_compare(tmp_path, spec(tmp_path, seed=seed), "--gate")
    (s,) = doc["scenarios"]
    assert s["verdict"] in ("no_change", "inconclusive"), s["reason"]
    assert code == 0


def test_crashing_head_is_broken_with_the_error(tmp_path):
    code, doc = run_compare(tmp_path, spec(tmp_path, head_delay=0.25, fail_at=3), "--gate")
    (s,) = doc["scenarios"]
    assert s["verdict"] == "broken"
    assert "head sample crashed: RuntimeError: CUDA error: out of memory" in s["error"]
    assert s["delta_pct"] is None and s["pairs"] == 0  # never a TTFB number
    assert code == 1
    comment = report.render_comment(doc)
    assert "💥 broken" in comment and "out of memory" in comment


def test_evaluation_before_training_is_reported_per_arm(tmp_path):
    """An evaluation at step 0 (eval forwards before the training one) is named in every
    report with what it cost each arm; a longer evaluation in head is a regression in its
    segment, the training forward. The garbage collector's share is named too."""
    base = {k: v for k, v in SEGMENTS.items() if k != "first_forward"}
    base.update(first_eval_forward=0.01, first_forward=1.5)
    head = {**base, "first_forward": 2.5}
    arms = {
        "base": {"segments": base, "sd_pct": 3, "eval_forwards": 20, "gc_fraction": 0.2},
        "head": {"segments": head, "sd_pct": 3, "eval_forwards": 20, "gc_fraction": 0.2},
    }
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump({"version": 1, "seed": 3, "arms": arms}, sort_keys=False))
    _, doc = run_compare(tmp_path, fake)
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression"
    assert 1.3 < s["base"]["eval_median_s"] < 1.7 and 2.2 < s["head"]["eval_median_s"] < 2.8
    assert s["base"]["eval_forwards"] == 20
    note = f"evaluation before training: base {report.fmt_s(s['base']['eval_median_s'])}"
    for text in (report.render_comment(doc), report.render_compare_text(doc)):
        assert note in text and "(20 forwards), included in TTFB" in text
    # and what the garbage collector took of each arm's TTFB (a fifth, as planted)
    for arm in ("base", "head"):
        assert s[arm]["gc_median_s"] == pytest.approx(0.2 * s[arm]["median_s"], rel=0.05)
    gc = f"garbage collection before the first batch: base {report.fmt_s(s['base']['gc_median_s'])}"
    assert gc in report.render_comment(doc) and gc in report.render_compare_text(doc)


def test_several_scenarios_holm_and_worst_first(tmp_path):
    slow = dict(SEGMENTS, model_built=0.35)
    scenarios = {
        "fast-one": {
            "arms": {
                "base": {"segments": SEGMENTS, "sd_pct": 3},
                "head": {"segments": SEGMENTS, "sd_pct": 3},
            }
        },
        "slow-one": {
            "arms": {
                "base": {"segments": SEGMENTS, "sd_pct": 3},
                "head": {"segments": slow, "sd_pct": 3},
            }
        },
    }
    fake = spec(tmp_path, scenarios=scenarios)
    (tmp_path / "scenarios").mkdir()
    for name in ("fast-one", "slow-one"):
        path = tmp_path / "scenarios" / f"{name}.yaml"
        path.write_text(f"name: {name}\ncommand: [python, t.py]\n")
    (tmp_path / "t.py").write_text("")
    out = tmp_path / "out"
    code = main(
        [
            "compare",
            "--fake",
            str(fake),
            "--root",
            str(tmp_path),
            "--scenarios-dir",
            str(tmp_path / "scenarios"),
            "--all",
            "--base-env",
            "A=1",
            "--head-env",
            "A=2",
            "--out-dir",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    by_name = {s["name"]: s for s in doc["scenarios"]}
    assert by_name["slow-one"]["verdict"] == "regression"
    assert by_name["fast-one"]["verdict"] in ("no_change", "inconclusive")
    assert doc["head"]["env"] == {"A": "2"}
    comment = (out / "comment.md").read_text()
    assert comment.index("slow-one") < comment.index("fast-one")
    assert comment.startswith(report.COMMENT_MARKER)
    assert (out / "slow-one.png").stat().st_size > 1000


def test_comment_fits_the_limit_with_300_scenarios(tmp_path):
    _, doc = run_compare(tmp_path, spec(tmp_path, head_delay=0.25))
    one = doc["scenarios"][0]
    doc["scenarios"] = [dict(one, name=f"scenario-{i:03d}|pipe") for i in range(300)]
    text = report.render_comment(doc)
    assert len(text) <= report.COMMENT_LIMIT
    assert "more scenario(s), left out" in text
    assert "scenario-000\\|pipe" in text  # pipes escaped in table cells
    full = report.render_summary(doc)
    assert full.count("scenario-") >= 300


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    fake = spec(tmp_path)
    cases = [
        (["--base-cmd", "python a.py"], "--base-cmd and --head-cmd go together"),
        (
            ["--base-env", "NOEQUALS", "--head-env", "A=1", "--", "python", "x.py"],
            "--base-env: expected NAME=VALUE, got 'NOEQUALS'",
        ),
        (["--base-cmd", "python 'unclosed", "--head-cmd", "python b.py"], "--base-cmd: cannot"),
        (["--base", "no-such-rev", "--head", "HEAD", "--", "python", "x.py"], "error:"),
    ]
    for args, expected in cases:
        code = main(["compare", "--fake", str(fake), "--root", str(tmp_path), *args])
        err = capsys.readouterr().err
        assert code == 2, args
        assert expected in err, err
        assert err.count("\n") == 1, err


def work_spec(tmp_path: Path, head_pct: float, *, sd: float = 8) -> Path:
    """Noisy wall times (8% per segment) that do not move, as a spread 3% change is lost in
    them, and instruction counts that repeat to 0.002% and carry the change."""
    arms = {
        "base": {"segments": SEGMENTS, "sd_pct": sd, "instructions": 2e9},
        "head": {"segments": SEGMENTS, "sd_pct": sd, "instructions": 2e9 * (1 + head_pct / 100)},
    }
    for arm in arms.values():
        arm["instructions_sd_pct"] = 0.002
    path = tmp_path / f"work-{head_pct}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "seed": 5, "arms": arms}, sort_keys=False))
    return path


def test_a_spread_change_is_found_by_cpu_work_and_confirmed(tmp_path):
    code, doc = run_compare(tmp_path, work_spec(tmp_path, 3.0), "--instructions", "on", "--gate")
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression" and s["confirmed"] is True
    assert s["finding"]["kind"] == "instructions"
    work = s["instructions"]
    assert work["stable"] and work["direction"] == 1 and 2.9 < work["delta_pct"] < 3.1
    assert work["confirm"]["reproduced"] is True
    comment = report.render_comment(doc)
    assert "CPU work from start to the first forward (instructions)" in comment
    assert "confirmed (+3.00% instructions, 1+1 counts)" in comment
    assert code == 1


def test_the_counts_are_recorded_and_travel_with_the_history_export(tmp_path, monkeypatch):
    db = tmp_path / "history.sqlite"
    monkeypatch.setenv("TTFB_LAB_DB", str(db))
    _, doc = run_compare(tmp_path, work_spec(tmp_path, 3.0), "--instructions", "on")
    _, without = run_compare(tmp_path, work_spec(tmp_path, 0.0), "--instructions", "off")
    counted = doc["scenarios"][0]["instructions"]
    with History(db) as h:
        first, second = scan.runs(h)
        exported = json.loads(json.dumps(export.export(h)))
    assert first["work"] == {
        "base": counted["base"],
        "head": counted["head"],
        "confirm_base": counted["confirm"]["base"],
        "confirm_head": counted["confirm"]["head"],
        "backend": counted["backend"],
        "delta_pct": pytest.approx(counted["delta_pct"]),
        "threshold_pct": counted["threshold_pct"],
    }
    assert second["work"] is None and without["scenarios"][0]["instructions"] is None
    with History(tmp_path / "imported.sqlite") as other:
        assert export.load_export(other, exported) == 2
        assert [r["work"] for r in scan.runs(other)] == [first["work"], None]


def test_unchanged_cpu_work_ends_an_aa_early_as_no_change(tmp_path):
    _, doc = run_compare(tmp_path, work_spec(tmp_path, 0.0), "--instructions", "on")
    (s,) = doc["scenarios"]
    assert s["verdict"] == "no_change", s["reason"]
    assert s["reason"].startswith("CPU work from start to the first forward unchanged")
    assert s["pairs"] == 10  # stopped at the first look, not after 80 pairs
    _, without = run_compare(tmp_path, work_spec(tmp_path, 0.0), "--instructions", "off")
    assert without["scenarios"][0]["instructions"] is None
    assert without["scenarios"][0]["pairs"] > 10  # wall time alone needs more pairs here
