"""The release flow on a real git history and the fake GitHub: bisect, notify once, gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import github, release
from bot.cli import main

from .conftest import commit, git, init_example_repo, plant_config_sleep
from .fakegh import FakeGitHub

SCENARIO = """\
name: config-check
command: [python, -m, examples.trainer.train, --config, examples/configs/ranker.yaml,
          --validate-only]
first_batch: "mark:config_loaded"
timeout_s: 60
tags: [release]
"""
PLANTED = 4


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory) -> tuple[Path, list[str]]:
    repo = init_example_repo(
        tmp_path_factory.mktemp("release") / "repo", scenarios={"config-check": SCENARIO}
    )
    shas = [commit(repo, "v1.0")]
    git(repo, "tag", "v1.0")
    for i in range(1, 7):
        if i == PLANTED:
            plant_config_sleep(repo, 0.3, "sync audit log")
            shas.append(commit(repo, "Log every config load to the audit service"))
        else:
            loop = repo / "examples" / "trainer" / "loop.py"
            loop.write_text(loop.read_text() + f"\n# {i}\n")
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
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.mark.slow
def test_release_bisects_notifies_the_author_once_and_gates(release_repo, fake, tmp_path, capsys):
    repo, shas = release_repo
    culprit, head = shas[PLANTED], shas[-1]
    fake.add_commit(culprit, pulls=(42,), author="bob")
    fake.add_pull(42, head_sha="b" * 40, user="bob", state="merged")
    fake.add_commit(head)
    args = [
        "gh",
        "release",
        "--root",
        str(repo),
        "--scenarios-dir",
        "scenarios",
        "--gate",
        "--pairs",
        "6",
        "--max-pairs",
        "6",
        "--bisect-max-pairs",
        "6",
        "--out-dir",
        str(tmp_path / "out"),
    ]
    assert main(args) == 1  # the gate fails
    comments = fake.comments(42)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert "@bob" in body and culprit[:10] in body and "config-check" in body
    (status,) = fake.statuses(head)
    assert status["context"] == "ttfb/release-gate" and status["state"] == "failure"
    assert fake.statuses(culprit) == []
    doc = json.loads((tmp_path / "out" / "release.json").read_text())
    assert doc["version"] == 1 and doc["baseline"] == shas[0] and doc["head"] == head
    assert doc["scenarios"][0]["verdict"] == "regression"
    (b,) = doc["bisects"]
    assert b["culprits"][0]["commit"] == culprit
    assert doc["attribution"][0]["where"] == "pull request #42"
    assert "## TTFB Lab release gate: failure" in (tmp_path / "out" / "release.md").read_text()
    assert "Bisect: config-check" in (tmp_path / "summary.md").read_text()
    assert "culprit" in capsys.readouterr().out

    assert main(args) == 1  # a rerun: still one notification, the status updated in place
    assert len(fake.comments(42)) == 1
    assert [s["state"] for s in fake.statuses(head)] == ["failure", "failure"]


def test_culprit_without_a_pull_request_gets_one_issue(fake):
    fake.add_commit("c" * 40, pulls=(), author="carol")
    api = github.GitHubAPI(github.connect("t", base_url=fake.url, throttle=False), "octo/lab")
    bisect_doc = {
        "scenario": "ranker-cpu",
        "culprits": [{"commit": "c" * 40, "subject": "speed up", "effect_pct": 6.0, "position": 3}],
        "steps": [],
        "drawing": "◆ cccccccccc  culprit",
        "notes": [],
    }
    for _ in range(2):
        (entry,) = release.notify([bisect_doc], api=api, release="release/2.0", run_url=None)
    assert entry["author"] == "carol" and entry["where"].startswith("issue #")
    assert len(fake.issues) == 1
    assert "@carol" in fake.issues[0]["body"]


def test_gate_state():
    ok = [{"name": "a", "verdict": "no_change"}, {"name": "b", "verdict": "improvement"}]
    assert release.gate_state(ok)[0] == "success"
    state, text = release.gate_state([*ok, {"name": "c", "verdict": "regression"}])
    assert state == "failure" and "c (regression)" in text


def test_no_previous_tag_is_a_clear_error(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "scenarios").mkdir()
    (repo / "scenarios" / "s.yaml").write_text(SCENARIO)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "one")
    (repo / "README.md").write_text("two\n")
    commit(repo, "two")
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert (
        main(["gh", "release", "--root", str(repo), "--scenarios-dir", "scenarios", "--offline"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: --baseline: no tag matching 'v*' before")
