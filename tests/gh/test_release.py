"""The release flow on a real git history and the fake GitHub: bisect, notify once, gate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.cli import main
from bot.gh import api as github
from bot.gh import release_flow
from bot.model import Verdict
from bot.store.history_db import History

from ..conftest import (
    commit,
    git,
    init_config_check_repo,
    init_example_repo,
    plant_config_check_sleep,
)
from ..fakegh import FakeGitHub

SCENARIO = """\
name: config-check
command: [python, train.py]
first_batch: "mark:config_loaded"
timeout_s: 60
tags: [release]
"""
PLANTED = 3


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory) -> tuple[Path, list[str]]:
    """v1.0 and four commits of the torch-free config check; the third makes it ~200 ms
    slower (several times its start-up: robust on a loaded runner)."""
    repo = init_config_check_repo(tmp_path_factory.mktemp("release") / "repo", SCENARIO)
    shas = [commit(repo, "v1.0")]
    git(repo, "tag", "v1.0")
    for i in range(1, 5):
        if i == PLANTED:
            plant_config_check_sleep(repo, 0.2, "sync audit log")
            shas.append(commit(repo, "Log every config load to the audit service"))
        else:
            notes = repo / "notes.txt"
            notes.write_text(notes.read_text() + f"\n# {i}\n")
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
@pytest.mark.timing
def test_release_bisects_notifies_the_author_and_gates(release_repo, fake, tmp_path, capsys):
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
        "12",  # a second look only when the first was disturbed
        "--bisect-max-pairs",
        "6",
        "--out-dir",
        str(tmp_path / "out"),
        "--db",
        str(tmp_path / "history.sqlite"),
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
    assert "Bisect: `config-check`" in (tmp_path / "summary.md").read_text()
    assert "culprit" in capsys.readouterr().out

    # every comparison, bisect step and the bisect itself went to the history
    with History(tmp_path / "history.sqlite") as h:
        kinds = Counter(r["kind"] for r in h.recent(limit=100))
    assert kinds["release"] == 1 and kinds["bisect"] == 1 and kinds["bisect-step"] >= 3
    assert main(["history", "--db", str(tmp_path / "history.sqlite")]) == 0
    listed = capsys.readouterr().out
    assert "release" in listed and "bisect-step" in listed


def test_a_rerun_notifies_the_culprit_s_author_once(fake):
    """Reruns of the release job edit the culprit note on the pull request, never repeat it."""
    fake.add_commit("d" * 40, pulls=(7,), author="dora")
    fake.add_pull(7, head_sha="e" * 40, user="dora", state="merged")
    api = github.GitHubAPI(github.connect("t", base_url=fake.url, throttle=False), "octo/lab")
    bisect_doc = {
        "scenario": "ranker-cpu",
        "culprits": [{"commit": "d" * 40, "subject": "s", "effect_pct": 9.0, "position": 2}],
        "steps": [],
        "drawing": "◆ dddddddddd  culprit",
        "notes": [],
    }
    first = release_flow.notify([bisect_doc], api=api, release="release/2.0", run_url=None)
    again = release_flow.notify([bisect_doc], api=api, release="release/2.0", run_url=None)
    assert [e["created"] for e in first + again] == [True, False]
    (comment,) = fake.comments(7)
    assert "@dora" in comment["body"] and "ranker-cpu" in comment["body"]


BROKEN_SHRINK = """\
name: config-check
command: [python, -m, examples.trainer.train, --config, examples/configs/ranker.yaml,
          --validate-only]
first_batch: "mark:config_loaded"
timeout_s: 60
tags: [release]
shrink:
  rules: {trainer.steps: 2}
  validate: [python, -c, "raise SystemExit('steps must be at least 100')"]
"""


def test_a_scenario_whose_shrink_fails_validation_is_broken_and_the_gate_still_runs(
    fake, tmp_path, capsys
):
    """Regression: the release copy of the target builder let the validation's ConfigError
    abort the whole release (exit 2, no gate status)."""
    repo = init_example_repo(tmp_path / "repo", scenarios={"config-check": BROKEN_SHRINK})
    base = commit(repo, "v1.0")
    git(repo, "tag", "v1.0")
    (repo / "notes.txt").write_text("release notes\n")
    head = commit(repo, "notes")
    fake.add_commit(head)
    args = ["gh", "release", "--root", str(repo), "--scenarios-dir", "scenarios", "--gate"]
    assert main([*args, "--out-dir", str(tmp_path / "out")]) == 1
    (status,) = fake.statuses(head)
    assert status["state"] == "failure" and "config-check (broken)" in status["description"]
    doc = json.loads((tmp_path / "out" / "release.json").read_text())
    (s,) = doc["scenarios"]
    assert s["verdict"] == "broken" and "steps must be at least 100" in s["error"]
    assert doc["baseline"] == base and doc["bisects"] == []
    assert "TTFB gate failed" in capsys.readouterr().out


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
        (entry,) = release_flow.notify([bisect_doc], api=api, release="release/2.0", run_url=None)
    assert entry["author"] == "carol" and entry["where"].startswith("issue #")
    assert len(fake.issues) == 1
    assert "@carol" in fake.issues[0]["body"]


def test_gate_state():
    ok = [("a", Verdict.NO_CHANGE), ("b", Verdict.IMPROVEMENT), ("s", Verdict.SKIPPED)]
    assert release_flow.gate_state(ok)[0] == "success"
    state, text = release_flow.gate_state([*ok, ("c", Verdict.REGRESSION)])
    assert state == "failure" and "c (regression)" in text
    state, text = release_flow.gate_state([*ok, ("d", Verdict.BROKEN)])
    assert state == "failure" and "d (broken)" in text


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
