"""Shared fixtures of the ``ttfb gh`` tests: real webhook payloads, real PyGithub, the local
fake REST server (``tests/fakegh.py``), and the standard Actions environment pointed at it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.cli import main

from ..fakegh import FakeGitHub

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"
HEAD = "a" * 40
COMMENTED_AT = "2026-12-01T12:00:00Z"  # when the /ttfb comment of comment_event was made
BEFORE = "2026-12-01T11:00:00Z"
AFTER = "2026-12-01T13:00:00Z"


def payload(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fake():
    with FakeGitHub(owner="octo", repo="lab") as server:
        server.add_pull(5, head_sha=HEAD, user="alice")
        server.add_workflow("ttfb-pr.yml", id=42)
        server.add_user("writer", permission="write")
        server.add_user("triager", permission="triage")
        server.add_user("reader", permission="read")
        yield server


@pytest.fixture
def actions_env(monkeypatch, tmp_path, fake):
    """The standard Actions environment, pointed at the fake; returns ``set_event``."""

    def set_event(name: str, data: dict) -> Path:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(data))
        monkeypatch.setenv("GITHUB_EVENT_NAME", name)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
        return path

    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/lab")
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    monkeypatch.setenv("TTFB_LAB_GH_THROTTLE", "0")
    # The budgets in these tests are sized for wall-time pairs; counting CPU work has its own
    # tests (test_select's counting budget, tests/ab/test_cpu_work_real.py).
    monkeypatch.setenv("TTFB_LAB_INSTRUCTIONS", "off")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return set_event


def comment_event(body: str, *, user: str, on_pr: bool = True, comment_id: int = 9001) -> dict:
    data = payload(
        "issue_comment.created.on-pr.json" if on_pr else "issue_comment.created.on-issue.json"
    )
    data = copy.deepcopy(data)
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = user
    data["comment"]["id"] = comment_id
    data["comment"]["created_at"] = COMMENTED_AT
    data["issue"]["number"] = 5
    data["repository"]["full_name"] = "octo/lab"
    data["repository"]["default_branch"] = "main"
    return data


def scenarios_dir(tmp_path: Path) -> Path:
    d = tmp_path / "scenarios"
    d.mkdir(exist_ok=True)
    for name in ("ranker-cpu", "cnn-cpu"):
        (d / f"{name}.yaml").write_text(f"name: {name}\ncommand: [python, t.py]\ntags: [pr]\n")
    return d


def gh(*args: str) -> int:
    return main(["gh", *args])
