"""One compare pipeline for every caller: the command line, the PR bench and the release suite
write the same outputs, and a command stays an argument vector from the command line to the
process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.gh.bench_job import Bench, run_bench
from bot.gh.context import Context
from bot.gh.release_flow import run_release
from bot.pipeline.options import StoreOptions, executor_for
from bot.pipeline.release_suite import ReleaseOptions
from bot.scenarios import load_scenario
from bot.stats.sequential import plan_looks
from bot.stats.verdict import Policy

from ..conftest import PYTHON, commit, git

ARGV_SCRIPT = """
import json, os, sys
import ttfb_lab

with open(os.environ["ARGV_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
ttfb_lab.first_batch()
"""


def test_an_argument_with_spaces_reaches_the_program_whole(tmp_path):
    """``-- python t.py --name "my run"`` runs the program with the argument "my run", one
    argv element, in both arms; a ``--base-cmd`` string is shell-split once."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "t.py").write_text(ARGV_SCRIPT)
    commit(repo, "a script that logs its arguments")
    log = tmp_path / "argv.jsonl"
    base = [PYTHON, "-m", "bot.cli", "compare", "--root", str(repo), "--no-history"]
    small = ["--pairs", "2", "--max-pairs", "2", "--instructions", "off", "--no-attribute"]
    env = {**os.environ, "ARGV_LOG": str(log)}

    tail = ["--base", "HEAD", "--head", "HEAD", *small, "--", "python", "t.py"]
    proc = subprocess.run(
        [*base, *tail, "--name", "my run", "--tag=a b"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(seen) >= 6  # a warm-up and two pairs per arm, at least
    assert all(argv == ["--name", "my run", "--tag=a b"] for argv in seen), seen

    log.unlink()
    cmd = "python t.py --name 'my run'"
    proc = subprocess.run(
        [*base, *small, "--base-cmd", cmd, "--head-cmd", cmd],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert seen and all(argv == ["--name", "my run"] for argv in seen), seen


SCENARIO = """\
name: trainer
command: [python, train.py]
timeout_s: 30
tags: [pr, release]
"""
IMPORTS = "import time: self [us] | cumulative | imported package\n"
BASE_IMPORTS = IMPORTS + "import time:       900 |        900 | json\n"
HEAD_IMPORTS = BASE_IMPORTS + (
    "import time:    150000 |     150000 |   scipy._lib\n"
    "import time:    250000 |     400000 | scipy\n"
)
SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}


@pytest.fixture
def history(tmp_path) -> tuple[Path, list[str]]:
    """A repository with a baseline and three later commits; the second one is slow."""
    repo = tmp_path / "repo"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "trainer.yaml").write_text(SCENARIO)
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "init", "-q", "-b", "main")
    shas = [commit(repo, "baseline")]
    for i in range(3):
        (repo / "train.py").write_text(f"print('train')  # {i}\n")
        shas.append(commit(repo, f"change {i}"))
    return repo, shas


def spec(tmp_path: Path, slow: list[str]) -> Path:
    """Scripted samples: the commits in ``slow`` import scipy: +30% instructions, in wall time
    too little to resolve in noisy samples (a spread change only counting finds)."""
    head = dict(SEGMENTS, model_built=0.41)
    doc = {
        "version": 1,
        "seed": 3,
        "arms": {
            "base": {
                "segments": SEGMENTS,
                "sd_pct": 6,
                "instructions": 2.0e9,
                "importtime": BASE_IMPORTS,
            },
            "slow": {
                "segments": head,
                "sd_pct": 6,
                "instructions": 2.6e9,
                "importtime": HEAD_IMPORTS,
            },
        },
        "revisions": {"slow": slow},
    }
    path = tmp_path / "fake.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def scenario_entry(results: Path) -> dict:
    doc = json.loads(results.read_text())
    (entry,) = doc["scenarios"]
    return entry


def test_the_release_suite_counts_and_attributes_like_the_pr_bench(history, tmp_path, monkeypatch):
    """Both paths go through the one pipeline, so a spread change is counted, confirmed and
    attributed on the release branch exactly as on a pull request, and the release's bisect
    follows it on CPU work."""
    monkeypatch.setenv("TTFB_LAB_INSTRUCTIONS", "auto")  # the default outside tests
    repo, shas = history
    slow = shas[2:]
    executor = executor_for(spec(tmp_path, slow))
    store = StoreOptions(repo, db=tmp_path / "h.sqlite")

    pr_out = tmp_path / "pr"
    ctx = Context(
        env={},
        root=repo,
        scenarios_dir=repo / "scenarios",
        out_dir=pr_out,
        api=lambda: pytest.fail("the bench job never calls GitHub"),
        executor=executor,
        store=store,
        instructions="auto",
    )
    run_bench(Bench("trainer", shas[0], shas[-1], max_pairs=10), ctx)

    release_out = tmp_path / "release"
    opts = ReleaseOptions(
        root=repo,
        baseline=shas[0],
        head=shas[-1],
        scenarios=(load_scenario(repo / "scenarios" / "trainer.yaml"),),
        store=store,
        out_dir=release_out,
        policy=Policy(looks=plan_looks(10, 10)),
    )
    release = run_release(
        opts, api=None, release=shas[-1], executor=executor_for(spec(tmp_path, slow))
    )

    for out in (pr_out, release_out):
        entry = scenario_entry(out / "results.json")
        assert entry["verdict"] == "regression", entry["reason"]
        assert entry["finding"]["kind"] == "instructions", entry["reason"]
        assert entry["instructions"]["base"] and entry["instructions"]["head"], out
        assert "scipy" in json.dumps(entry["attribution"]), out
        assert (out / "comment.md").is_file() and (out / "summary.md").is_file()
    (bisect,) = release.doc["bisects"]
    assert bisect["culprits"][0]["commit"] == shas[2]
    assert release.doc["gate"]["state"] == "failure"


def test_the_counting_job_writes_counts_for_the_report_to_join(history, tmp_path, monkeypatch):
    from bot.cli import main

    repo, shas = history
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    out = tmp_path / "counts"
    code = main(
        [
            *("gh", "count", "--fake", str(spec(tmp_path, shas[2:]))),
            *("--root", str(repo), "--scenario", "trainer", "--out-dir", str(out)),
            *("--base", shas[0], "--head", shas[-1]),
        ]
    )
    doc = json.loads((out / "counts.json").read_text())
    assert code == 0 and doc["version"] == 1 and doc["kind"] == "ttfb-counts"
    assert doc["scenario"] == "trainer" and doc["base"] == shas[0] and doc["head"] == shas[-1]
    work = doc["work"]
    assert work["direction"] == 1 and work["confirm"]["reproduced"] is True
    assert len(work["base"]) == 1 and doc["counts"] == 4
    assert doc["covers"] == "CPU work from start to the first forward"
