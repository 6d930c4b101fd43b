"""When a compare profiles, and what the profile says, with the scripted executor (``--fake``):
a confirmed finding is profiled by default and its top row names the planted function with
its library frame; ``--no-profile`` and a scenario's ``profile: false`` turn it off;
``--profile`` profiles identical arms too, and their profile has no row."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli import main
from bot.report.compare_view import render_comment, render_compare_text

from .scripted import spec


def compare(tmp: Path, fake: Path, *extra: str, scenario: str | None = None) -> dict:
    (tmp / "train.py").write_text("")
    out = tmp / "out"
    arms = ["--base-cmd", "python train.py", "--head-cmd", "python train.py --new"]
    if scenario is not None:
        (tmp / "scenarios").mkdir(exist_ok=True)
        (tmp / "scenarios" / "s.yaml").write_text(scenario)
        arms = ["--scenario", "s", "--base-cmd", "python train.py", "--head-cmd", "python train.py"]
    where = ["--root", str(tmp), "--out-dir", str(out), "--runner", "test-runner"]
    code = main(["compare", "--fake", str(fake), *where, *arms, "--seed", "3", *extra])
    assert code == 0
    return json.loads((out / "results.json").read_text())


def test_a_confirmed_finding_is_profiled_and_its_top_row_is_the_planted_function(tmp_path):
    doc = compare(tmp_path, spec(tmp_path))
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression"
    p = s["profile"]
    assert p["profiler"] == "scripted stacks" and p["runs"] == 5
    top = p["rows"][0]
    assert (top["function"], top["file"], top["line"]) == (
        "report_click_stats",
        "telemetry.py",
        40,
    )
    assert top["repo"] is True and top["library"] == "SocketIO.readinto (socket)"
    assert 200 < top["delta_ms"] < 300 and top["ci_low_ms"] > 0
    assert 80 < top["share_pct"] < 120
    assert all(r["function"] not in ("main", "<module>", "emit") for r in p["rows"])
    assert (tmp_path / "out" / "flame-command.html").exists()
    comment = render_comment(doc)
    assert "| `report_click_stats` → `SocketIO.readinto (socket)` | `telemetry.py:40` |" in comment
    assert "Differential flame graph: `flame-command.html`" in comment
    assert "report_click_stats (telemetry.py:40)" in render_compare_text(doc)


def test_no_profile_and_a_scenarios_profile_false_turn_it_off(tmp_path):
    (s,) = compare(tmp_path / "a", _dir(tmp_path / "a", spec), "--no-profile")["scenarios"]
    assert s["verdict"] == "regression" and "profile" not in s
    scenario = "name: s\ncommand: [python, train.py]\nprofile: false\n"
    (s,) = compare(tmp_path / "b", _dir(tmp_path / "b", spec), scenario=scenario)["scenarios"]
    assert "profile" not in s


def test_profile_on_identical_arms_has_no_row(tmp_path):
    for seed in (1, 2, 3):
        where = tmp_path / str(seed)
        where.mkdir()
        fake = spec(where, delay=False, seed=seed)
        (s,) = compare(where, fake, "--profile", "--max-pairs", "10")["scenarios"]
        assert s["verdict"] != "regression"
        assert s["profile"]["runs"] == 5 and s["profile"]["rows"] == [], s["profile"]["rows"]


def test_a_scenarios_profile_true_profiles_without_a_finding(tmp_path):
    scenario = "name: s\ncommand: [python, train.py]\nprofile: true\n"
    fake = _dir(tmp_path, lambda p: spec(p, delay=False))
    (s,) = compare(tmp_path, fake, "--max-pairs", "10", scenario=scenario)["scenarios"]
    assert s["profile"]["runs"] == 5


def _dir(where: Path, make) -> Path:  # type: ignore[no-untyped-def]
    where.mkdir(parents=True, exist_ok=True)
    return make(where)


def test_profiling_that_would_pass_the_budget_is_skipped_and_says_so(tmp_path):
    (s,) = compare(tmp_path, spec(tmp_path), "--budget-s", "3")["scenarios"]
    skipped = s["profile"]["skipped"]
    assert skipped.startswith("not profiled: 5+5 samples would take ~") and "budget" in skipped
    assert "rows" not in s["profile"] or s["profile"]["rows"] == []
    comment = render_comment(json.loads((tmp_path / "out" / "results.json").read_text()))
    assert "not profiled: 5" in comment and "of the budget left" in comment
