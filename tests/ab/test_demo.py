"""``ttfb demo``: the planted repository (real git) and the flow (scripted timings)."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import yaml

from bot.ab import demo_repo
from bot.cli import main

from ..conftest import PYTHON, SEGMENTS, git


def test_build_repo_plants_a_synchronous_metrics_call(tmp_path):
    repo = demo_repo.build_repo(tmp_path / "repo")
    log = git(repo.path, "log", "--format=%H %s").splitlines()
    assert [line.split(" ", 1)[0] for line in log] == [repo.head, repo.base]
    changed = git(repo.path, "diff", "--name-only", repo.base, repo.head).split()
    assert changed == ["examples/trainer/datasets/ranker.py", "examples/trainer/telemetry.py"]
    diff = git(repo.path, "diff", repo.base, repo.head)
    assert "time.sleep(COLLECTOR_LATENCY_S)" in diff
    assert "telemetry.report_stats(" in diff
    assert sorted(p.name for p in (repo.path / "scenarios").iterdir()) == [
        "cnn-cpu.yaml",
        "ranker-cpu.yaml",
    ]
    # the head still passes the trainer's own config validation and imports cleanly
    proc = subprocess.run(
        [PYTHON, "-c", "import examples.trainer.datasets.ranker"],
        cwd=repo.path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_demo_flow_with_scripted_timings(tmp_path, capsys):
    slow = dict(SEGMENTS, data_ready=0.25)
    spec = {
        "version": 1,
        "seed": 3,
        "load_sd_pct": 3,
        "scenarios": {
            "ranker-cpu": {
                "arms": {
                    "base": {"segments": SEGMENTS, "sd_pct": 4},
                    "head": {"segments": slow, "sd_pct": 4},
                }
            },
            "cnn-cpu": {"arms": {"base": {"segments": SEGMENTS, "sd_pct": 4}}},
        },
    }
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    code = main(["demo", "--fake", str(fake), "--out-dir", str(out)])
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    verdicts = {s["name"]: s["verdict"] for s in doc["scenarios"]}
    assert verdicts["ranker-cpu"] == "regression"
    assert verdicts["cnn-cpu"] in ("no_change", "inconclusive")
    for name in ("comment.md", "summary.md", "ranker-cpu.png", "cnn-cpu.png", "samples.jsonl"):
        assert (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "REGRESSION  ranker-cpu" in printed
    # the demo's own runs, recorded and published as the dashboard
    site = out / "site"
    assert f"open {site / 'index.html'}" in printed
    with sqlite3.connect(out / "history.sqlite") as con:
        kinds = con.execute("SELECT kind, scenario FROM runs ORDER BY scenario").fetchall()
    assert kinds == [("demo", "cnn-cpu"), ("demo", "ranker-cpu")]
    overview = (site / "index.html").read_text()
    assert "ranker-cpu" in overview and "cnn-cpu" in overview
    (report,) = (site / "reports").glob("*.html")
    text = report.read_text()
    assert "Report click-log statistics" in text  # the head commit's subject, from git
    assert "regression" in text.lower()
    # the report is the PR comment's, from what the history kept: policy, reason, confirmation
    assert "α = 0.01" in text and "not recorded" not in text
    assert "confirmed (+" in text
    assert "From the history: the results entry" in text
    assert "Phase segments, from the stored pairs" not in text  # the entry has its own table
