"""``ttfb gh …`` end to end: real webhook payloads, real PyGithub, the local fake REST server."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.model import Verdict
from bot.report import compare as report
from bot.store import depmap

from ..conftest import commit, git
from ..fakegh import FakeGitHub

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"
HEAD = "a" * 40
SEGMENTS = {
    "interpreter_ready": 0.03,
    "import_torch": 1.2,
    "data_ready": 0.05,
    "optimizer_created": 1.0,
    "first_forward": 0.01,
}


def payload(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fake():
    with FakeGitHub(owner="octo", repo="lab") as server:
        server.add_pull(5, head_sha=HEAD, user="alice")
        server.add_workflow("ttfb-pr.yml", id=42)
        server.add_user("writer", permission="write")
        server.add_user("reader", permission="read")
        yield server


@pytest.fixture
def actions_env(monkeypatch, tmp_path, fake):
    """The standard Actions environment, pointed at the fake."""

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
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return set_event


def comment_event(body: str, *, user: str, on_pr: bool = True) -> dict:
    data = payload(
        "issue_comment.created.on-pr.json" if on_pr else "issue_comment.created.on-issue.json"
    )
    data = copy.deepcopy(data)
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = user
    data["comment"]["id"] = 9001
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


# --- /ttfb commands ---------------------------------------------------------------------------


def test_rerun_from_read_only_user_is_refused_without_dispatch(fake, actions_env, tmp_path, capsys):
    fake.add_comment(5, "/ttfb rerun", user="reader")
    actions_env("issue_comment", comment_event("/ttfb rerun", user="reader"))
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert fake.dispatches == []
    replies = [c["body"] for c in fake.comments(5) if c["user"]["login"] == "github-actions[bot]"]
    assert len(replies) == 1 and "needs write permission" in replies[0]
    assert "@reader" in replies[0] and "nothing was run" in replies[0]
    assert "refused rerun from reader" in capsys.readouterr().out


def test_rerun_from_writer_reacts_pins_the_head_and_dispatches(fake, actions_env, tmp_path):
    comment = fake.add_comment(5, "/ttfb rerun scenario=ranker-cpu runs=20", user="writer")
    event = comment_event("/ttfb rerun scenario=ranker-cpu runs=20", user="writer")
    event["comment"]["id"] = comment["id"]
    actions_env("issue_comment", event)
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert [r["content"] for r in fake.reactions(comment["id"])] == ["eyes"]
    (d,) = fake.dispatches
    assert d["ref"] == "main"
    assert d["inputs"] == {
        "pr": "5",
        "sha": HEAD,
        "requested_by": "writer",
        "scenarios": "ranker-cpu",
        "runs": "20",
    }
    assert (tmp_path / "output").read_text().count(f"sha={HEAD}") == 1


def test_bad_arguments_get_a_reply_listing_valid_ones(fake, actions_env, tmp_path):
    actions_env("issue_comment", comment_event("/ttfb rerun scenario=nope", user="writer"))
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    (reply,) = [c["body"] for c in fake.comments(5)]
    assert "unknown scenario `nope`" in reply
    assert "`cnn-cpu`, `ranker-cpu`" in reply and "/ttfb rerun runs=N" in reply
    assert fake.dispatches == []


def test_help(fake, actions_env, tmp_path):
    actions_env("issue_comment", comment_event("/ttfb help", user="reader"))
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    (reply,) = [c["body"] for c in fake.comments(5)]
    assert "TTFB Lab commands" in reply


def test_comment_on_plain_issue_is_ignored(fake, actions_env, tmp_path, capsys):
    actions_env("issue_comment", comment_event("/ttfb rerun", user="writer", on_pr=False))
    assert gh("handle", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert "not on a pull request" in capsys.readouterr().out
    assert fake.calls == []


def test_dry_run_prints_the_writes(fake, actions_env, tmp_path, capsys):
    actions_env("issue_comment", comment_event("/ttfb rerun", user="writer"))
    assert gh("command", "--dry-run", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    err = capsys.readouterr().err
    assert "dry-run: would POST reaction 'eyes'" in err
    assert "dry-run: would POST dispatch ttfb-pr.yml on main" in err
    assert fake.dispatches == [] and fake.find_calls("POST", ".") == []


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        ("push", {"ref": "refs/tags/v1.0", "deleted": False}, "ignored: tag push"),
        ("push", {"ref": "refs/heads/old", "deleted": True}, "ignored: branch deletion"),
        ("push", None, "ignored: push to master"),
        ("star", {"action": "created"}, "ignored: event 'star' is not handled"),
        ("pull_request", {"action": "closed"}, "ignored: pull_request action 'closed'"),
    ],
)
def test_unhandled_events_exit_0_with_one_line(fake, actions_env, capsys, event, data, expected):
    actions_env(event, data if data is not None else payload("push.with-new-branch.json"))
    assert gh("handle") == 0
    out = capsys.readouterr().out
    assert out.startswith(expected) and out.count("\n") == 1
    assert fake.calls == []


# --- report -------------------------------------------------------------------------------------


def results_doc(tmp_path: Path, *, delay: float) -> dict:
    slow = dict(SEGMENTS, data_ready=0.05 + delay)
    spec = {
        "version": 1,
        "seed": 4,
        "load_sd_pct": 3,
        "arms": {
            "base": {"segments": SEGMENTS, "sd_pct": 4},
            "head": {"segments": slow, "sd_pct": 4},
        },
    }
    fake_spec = tmp_path / f"spec-{delay}.yaml"
    fake_spec.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / f"cmp-{delay}"
    assert (
        main(
            [
                "compare",
                "--fake",
                str(fake_spec),
                "--root",
                str(tmp_path),
                "--no-depmap",
                "--base-cmd",
                "python t.py",
                "--head-cmd",
                "python t.py --x",
                "--name",
                "ranker-cpu",
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    return json.loads((out / "results.json").read_text())


def artifacts(tmp_path: Path, doc: dict, plan: dict | None = None) -> Path:
    root = tmp_path / "artifacts"
    shutil.rmtree(root, ignore_errors=True)
    (root / "ttfb-results-ranker-cpu").mkdir(parents=True)
    (root / "ttfb-results-ranker-cpu" / "results.json").write_text(json.dumps(doc))
    if plan is not None:
        (root / "ttfb-plan").mkdir()
        (root / "ttfb-plan" / "plan.json").write_text(json.dumps(plan))
    return root


def workflow_run(*, pulls: list[int], owner: str = "octo", branch: str = "feature") -> dict:
    return {
        "action": "completed",
        "repository": {"full_name": "octo/lab"},
        "workflow_run": {
            "id": 123,
            "head_sha": HEAD,
            "head_branch": branch,
            "conclusion": "success",
            "html_url": "https://x/run/123",
            "head_repository": {"owner": {"login": owner}},
            "pull_requests": [{"number": n} for n in pulls],
        },
    }


def test_report_creates_then_edits_one_comment_and_sets_status(fake, actions_env, tmp_path):
    doc = results_doc(tmp_path, delay=0.25)
    actions_env("workflow_run", workflow_run(pulls=[5]))
    plan = {
        "version": 1,
        "kind": "ttfb-plan",
        "pr": 5,
        "head": HEAD,
        "requested_by": "",
        "selected": [{"scenario": "ranker-cpu", "reason": "models/ranker.py (import)"}],
        "skipped": [{"scenario": "lm-gpu", "reason": "no GPU budget"}],
        "unmapped": [],
        "warnings": [],
    }
    art = artifacts(tmp_path, doc, plan)
    assert gh("report", "--artifacts", str(art)) == 0
    assert gh("report", "--artifacts", str(art)) == 0
    (comment,) = fake.comments(5)
    assert comment["body"].startswith(report.COMMENT_MARKER)
    assert "🔴 regression" in comment["body"]
    assert "ran `ranker-cpu`: models/ranker.py (import)" in comment["body"]
    assert "skipped `lm-gpu`: no GPU budget" in comment["body"]
    statuses = fake.statuses(HEAD)
    assert {s["context"] for s in statuses} == {"ttfb/pr"}
    assert statuses[0]["state"] == "failure"
    assert "regression" in (tmp_path / "summary.md").read_text()


def test_report_finds_the_pr_of_a_fork(fake, actions_env, tmp_path):
    fake.add_pull(8, head_sha="f" * 40, head_ref="patch-1", head_owner="forker")
    doc = results_doc(tmp_path, delay=0.0)
    event = workflow_run(pulls=[], owner="forker", branch="patch-1")
    event["workflow_run"]["head_sha"] = "f" * 40
    actions_env("workflow_run", event)
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc))) == 0
    assert len(fake.comments(8)) == 1
    assert fake.statuses("f" * 40)[0]["state"] == "success"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["scenarios"][0].update(verdict="pwned"), "verdict: 'pwned' is not one of"),
        (lambda d: d.update(version=99), "version: 1 was expected"),
        (lambda d: d["scenarios"][0].update(name="x" * 500), "breaks maxLength = 200"),
    ],
)
def test_malformed_artifacts_are_rejected_and_nothing_posted(
    fake, actions_env, tmp_path, capsys, mutate, expected
):
    doc = results_doc(tmp_path, delay=0.25)
    mutate(doc)
    capsys.readouterr()
    actions_env("workflow_run", workflow_run(pulls=[5]))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc))) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1
    assert fake.find_calls("POST", ".") == [] and fake.find_calls("PATCH", ".") == []


def test_oversized_or_non_json_artifact_rejected(fake, actions_env, tmp_path, capsys):
    actions_env("workflow_run", workflow_run(pulls=[5]))
    art = tmp_path / "artifacts" / "ttfb-results-x"
    art.mkdir(parents=True)
    (art / "results.json").write_bytes(b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert gh("report", "--artifacts", str(tmp_path / "artifacts")) == 2
    assert "over the 10485760-byte limit" in capsys.readouterr().err
    (art / "results.json").write_text("{not json")
    assert gh("report", "--artifacts", str(tmp_path / "artifacts")) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert fake.find_calls("POST", ".") == []


def test_300_scenarios_fit_the_comment_limit(fake, actions_env, tmp_path):
    doc = results_doc(tmp_path, delay=0.25)
    one = doc["scenarios"][0]
    doc["scenarios"] = [dict(one, name=f"s{i:03d}") for i in range(300)]
    actions_env("workflow_run", workflow_run(pulls=[5]))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc))) == 0
    (comment,) = fake.comments(5)
    assert len(comment["body"]) <= 65536
    assert "https://github.example/octo/lab/actions/runs/123" in comment["body"]


def test_nothing_selected_posts_a_short_comment_and_success(fake, actions_env, tmp_path):
    actions_env("workflow_run", workflow_run(pulls=[5]))
    plan = {
        "version": 1,
        "kind": "ttfb-plan",
        "pr": 5,
        "head": HEAD,
        "selected": [],
        "skipped": [],
        "unmapped": ["tools/x.py"],
        "warnings": [],
    }
    root = tmp_path / "artifacts" / "ttfb-plan"
    root.mkdir(parents=True)
    (root / "plan.json").write_text(json.dumps(plan))
    assert gh("report", "--artifacts", str(tmp_path / "artifacts")) == 0
    (comment,) = fake.comments(5)
    assert "nothing to run" in comment["body"] and "`tools/x.py`" in comment["body"]
    assert fake.statuses(HEAD)[0]["state"] == "success"


# --- select (pull_request) ------------------------------------------------------------------------


def test_select_writes_the_matrix_and_keeps_forks_off_self_hosted(fake, actions_env, tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "model.py").write_text("x = 1\n")
    (repo / "scenarios").mkdir()
    (repo / "scenarios" / "cpu.yaml").write_text(
        "name: cpu\ncommand: [python, t.py]\npaths: [src/**]\ntags: [pr]\n"
    )
    (repo / "scenarios" / "gpu.yaml").write_text(
        "name: gpu\ncommand: [python, t.py]\npaths: [src/**]\ntags: [pr]\n"
        "resources: {gpu: 1, est_seconds: 5}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "src" / "model.py").write_text("x = 2\n")
    head = commit(repo, "change")
    event = payload("pull_request.opened.json")
    event["pull_request"]["base"]["sha"] = base
    event["pull_request"]["head"]["sha"] = head
    actions_env("pull_request", event)
    out = tmp_path / "results"
    args = [
        "--root",
        str(repo),
        "--scenarios-dir",
        "scenarios",
        "--out-dir",
        str(out),
        "--budget-gpu-s",
        "1000",
    ]
    assert gh("handle", *args) == 0
    outputs = (tmp_path / "output").read_text()
    matrix = json.loads(
        next(line[7:] for line in outputs.splitlines() if line.startswith("matrix="))
    )
    assert {e["scenario"] for e in matrix["include"]} == {"cpu", "gpu"}
    assert f"head={head}" in outputs and f"base={base}" in outputs
    plan = json.loads((out / "plan.json").read_text())
    assert plan["pr"] == 2 and plan["selected"][0]["reason"].startswith("src/model.py")

    event["pull_request"]["head"]["repo"]["full_name"] = "forker/Hello-World"
    actions_env("pull_request", event)
    (tmp_path / "output").unlink()
    assert gh("handle", *args) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [p["scenario"] for p in plan["selected"]] == ["cpu"]
    assert any(
        "self-hosted runners never run code from forks" in s["reason"] for s in plan["skipped"]
    )
    assert fake.calls == []  # a pull_request select needs no API at all


def test_select_in_ci_ranks_with_the_stored_per_file_history(fake, actions_env, tmp_path):
    """Regression: the CI select job planned without the per-file history, so every rate fell
    back to the prior. Both scenarios import src/common.py; past changes to it moved b five
    times out of five and a never; with room for one, b must run."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "common.py").write_text("x = 1\n")
    (repo / "scenarios").mkdir()
    for name in ("a", "b"):
        (repo / "scenarios" / f"{name}.yaml").write_text(
            f"name: {name}\ncommand: [python, t.py]\ntags: [pr]\nresources: {{est_seconds: 5}}\n"
        )
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "src" / "common.py").write_text("x = 2\n")
    head = commit(repo, "change")
    db = tmp_path / "history.sqlite"  # the default history (TTFB_LAB_DB) holds the map
    for name, moved in (("a", False), ("b", True)):
        depmap.record(db, name, imported={"src/common.py"}, opened=(), revision=base)
        for _ in range(5):
            depmap.record(
                db,
                name,
                imported=(),
                opened=(),
                revision=base,
                verdict=Verdict.REGRESSION if moved else Verdict.NO_CHANGE,
                changed=["src/common.py"],
            )
    event = payload("pull_request.opened.json")
    event["pull_request"]["base"]["sha"] = base
    event["pull_request"]["head"]["sha"] = head
    actions_env("pull_request", event)
    out = tmp_path / "results"
    one_scenario = str(5 * (2 * 20 + 2) + 1)
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--out-dir", str(out)]
    assert gh("select", *args, "--budget-cpu-s", one_scenario) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [p["scenario"] for p in plan["selected"]] == ["b"]


def test_rerun_still_dispatches_when_the_reaction_fails(fake, actions_env, tmp_path, capsys):
    event = comment_event("/ttfb rerun", user="writer")
    event["comment"]["id"] = 123456  # deleted before we could react
    actions_env("issue_comment", event)
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert len(fake.dispatches) == 1
    assert "warning: GitHub API: POST reaction 'eyes'" in capsys.readouterr().err
