"""The release suite split into plan, measure (per runner pool) and gate jobs: the gate runs no
measured code, judges the raw samples itself, and a pool that ran nothing fails the gate."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot.cli import main

from ..conftest import commit, git
from ..fakegh import FakeGitHub

SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}
CPU = "name: cpu-one\ncommand: [python, t.py]\ntags: [release]\n"
GPU = "name: gpu-one\ncommand: [python, t.py]\nresources: {gpu: 1}\ntags: [release]\n"


@pytest.fixture
def history(tmp_path) -> tuple[Path, list[str]]:
    """v1.0, then four commits on release/1.1; the third makes cpu-one slower."""
    repo = tmp_path / "repo"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "cpu-one.yaml").write_text(CPU)
    (repo / "scenarios" / "gpu-one.yaml").write_text(GPU)
    (repo / "t.py").write_text("")
    git(repo, "init", "-q", "-b", "main")
    shas = [commit(repo, "v1.0")]
    git(repo, "tag", "v1.0")
    for i in range(4):
        (repo / "t.py").write_text(f"# {i}\n")
        shas.append(commit(repo, f"change {i}"))
    git(repo, "checkout", "-q", "-b", "release/1.1")
    return repo, shas


@pytest.fixture
def fake(monkeypatch, tmp_path):
    with FakeGitHub(owner="octo", repo="lab") as server:
        for name, value in {
            "GITHUB_REPOSITORY": "octo/lab",
            "GITHUB_API_URL": server.url,
            "GITHUB_TOKEN": "t",
            "TTFB_LAB_GH_THROTTLE": "0",
            "GITHUB_OUTPUT": str(tmp_path / "output"),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
        yield server


def outputs(path: Path) -> dict[str, str]:
    text = path.read_text() if path.exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_plan_measure_gate(history, fake, tmp_path):
    repo, shas = history
    slow = shas[3:]
    spec = tmp_path / "fake.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "seed": 2,
                "arms": {
                    "base": {"segments": SEGMENTS, "sd_pct": 2},
                    "slow": {"segments": dict(SEGMENTS, model_built=0.8), "sd_pct": 2},
                },
                "revisions": {"slow": slow},
            }
        )
    )
    common = ["--root", str(repo), "--pairs", "6", "--max-pairs", "6", "--bisect-max-pairs", "6"]
    assert main(["gh", "release-plan", *common, "--head", shas[-1]]) == 0
    planned = outputs(tmp_path / "output")
    matrix = json.loads(planned["matrix"])
    by_pool = {e["pool"]: e for e in matrix["include"]}
    assert set(by_pool) == {"ubuntu-latest", "self-hosted-gpu"}  # every runner pool planned
    assert by_pool["self-hosted-gpu"]["runs-on"] == ["self-hosted", "gpu"]
    assert planned["baseline"] == shas[0] and planned["head"] == shas[-1]

    ends = ["--baseline", planned["baseline"], "--head", planned["head"]]
    artifacts = tmp_path / "artifacts"
    pool = artifacts / "ttfb-release-ubuntu-latest"  # the GPU pool's runner never came
    code = main(
        [
            *("gh", "release-measure", *common, *ends, "--fake", str(spec)),
            *("--scenarios", by_pool["ubuntu-latest"]["scenarios"], "--out-dir", str(pool)),
        ]
    )
    assert code == 0 and (pool / "samples.jsonl").is_file() and (pool / "bisects.json").is_file()
    # a measure job ran the release's code: its results file is a claim, and here a lie
    claimed = json.loads((pool / "results.json").read_text())
    claimed["scenarios"][0].update(verdict="no_change", reason="nothing to see")
    (pool / "results.json").write_text(json.dumps(claimed))

    fake.add_commit(shas[3], pulls=(42,), author="bob")
    fake.add_pull(42, head_sha="b" * 40, user="bob", state="merged")
    fake.add_commit(shas[-1])
    gate = tmp_path / "gate"
    code = main(
        [
            *("gh", "release-gate", *common, *ends, "--gate", "--artifacts", str(artifacts)),
            *("--matrix", planned["matrix"], "--out-dir", str(gate)),
            *("--db", str(tmp_path / "h.sqlite")),
        ]
    )
    assert code == 1  # the gate fails
    doc = json.loads((gate / "release.json").read_text())
    verdicts = {s["name"]: s["verdict"] for s in doc["scenarios"]}
    assert verdicts == {"cpu-one": "regression", "gpu-one": "broken"}  # recomputed; GPU missing
    gpu = next(s for s in doc["scenarios"] if s["name"] == "gpu-one")
    assert "self-hosted-gpu" in gpu["reason"] and "uploaded no samples" in gpu["reason"]
    assert doc["runners"] == {"cpu-one": ["ubuntu-latest"], "gpu-one": ["self-hosted", "gpu"]}
    with sqlite3.connect(tmp_path / "h.sqlite") as db:  # recorded under the pool's runner label
        rows = db.execute("SELECT scenario, runner FROM runs WHERE kind = 'release'").fetchall()
    assert sorted(rows) == [("cpu-one", "ubuntu-latest"), ("gpu-one", "self-hosted-gpu")]
    report = (gate / "release.md").read_text()
    assert "| `gpu-one` | " in report and report.count("| `self-hosted, gpu` |") == 1
    (status,) = fake.statuses(shas[-1])
    assert status["state"] == "failure" and status["context"] == "ttfb/release-gate"
    (note,) = fake.comments(42)
    assert "@bob" in note["body"] and shas[3][:10] in note["body"]


def test_a_culprit_outside_the_release_range_is_never_notified():
    from bot.gh.release_jobs import checked_bisects

    commits = ["a" * 40, "b" * 40, "c" * 40]
    docs = [
        {"scenario": "s", "culprits": [{"commit": "f" * 40}]},
        {"scenario": "t", "culprits": [{"commit": "c" * 40}]},
        {"scenario": "u", "culprits": [{"commit": "b" * 40}]},
    ]
    kept = checked_bisects(docs, {"s", "t"}, commits)
    assert kept == [
        {"scenario": "s", "error": "culprit outside the release range: ignored"},
        {"scenario": "t", "culprits": [{"commit": "c" * 40}]},
    ]  # u did not regress by the recomputed verdicts: its claim is dropped
