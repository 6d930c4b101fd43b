"""The select job: the matrix, the runners a fork may reach, the learned history, reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.exec import counters
from bot.model import COUNT_CAP_S, Verdict
from bot.store import depmap_db

from ..conftest import commit, git
from .conftest import gh, payload


def repo_with(tmp_path: Path, scenarios: dict[str, str]) -> tuple[Path, str, str]:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "model.py").write_text("x = 1\n")
    (repo / "scenarios").mkdir()
    for name, extra in scenarios.items():
        (repo / "scenarios" / f"{name}.yaml").write_text(
            f"name: {name}\ncommand: [python, t.py]\npaths: [src/**]\ntags: [pr]\n{extra}"
        )
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "src" / "model.py").write_text("x = 2\n")
    head = commit(repo, "change")
    return repo, base, head


def outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def pr_event(base: str, head: str, *, head_repo: str | None = None) -> dict:
    event = payload("pull_request.opened.json")
    event["pull_request"]["base"]["sha"] = base
    event["pull_request"]["head"]["sha"] = head
    if head_repo:
        event["pull_request"]["head"]["repo"]["full_name"] = head_repo
    return event


def test_select_splits_the_matrix_and_keeps_forks_off_self_hosted(fake, actions_env, tmp_path):
    repo, base, head = repo_with(
        tmp_path, {"cpu": "", "gpu": "resources: {gpu: 1, est_seconds: 5}\n"}
    )
    actions_env("pull_request", pr_event(base, head))
    out = tmp_path / "results"
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--out-dir", str(out)]
    args += ["--budget-gpu-s", "1000"]
    assert gh("handle", *args) == 0
    values = outputs(tmp_path)
    assert [e["scenario"] for e in json.loads(values["matrix"])["include"]] == ["cpu"]
    assert [e["scenario"] for e in json.loads(values["self_hosted_matrix"])["include"]] == ["gpu"]
    assert values["head"] == head and values["base"] == base
    plan = json.loads((out / "plan.json").read_text())
    assert plan["pr"] == 2 and plan["selected"][0]["reason"].startswith("src/model.py")

    actions_env("pull_request", pr_event(base, head, head_repo="forker/Hello-World"))
    (tmp_path / "output").unlink()
    assert gh("handle", *args) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [p["scenario"] for p in plan["selected"]] == ["cpu"]
    assert any("never run code from forks" in s["reason"] for s in plan["skipped"])
    assert outputs(tmp_path)["self_hosted_count"] == "0"
    assert fake.calls == []  # a pull_request select needs no API at all


@pytest.mark.parametrize(
    "labels",
    [
        "[Self-Hosted, gpu]",
        "[SELF-HOSTED]",
        "[gpu]",  # a runner group's custom label: not a GitHub-hosted image
        "[ubuntu-latest, a100]",
        "[my-runners]",
    ],
)
def test_a_fork_plan_never_holds_a_self_hosted_label_in_any_case(
    fake, actions_env, tmp_path, labels
):
    """The filter used to look for the exact label `self-hosted`; any label that is not one of
    GitHub's hosted images can reach a self-hosted machine."""
    repo, base, head = repo_with(
        tmp_path, {"cpu": "", "box": f"resources: {{runner: {labels}, est_seconds: 5}}\n"}
    )
    actions_env("pull_request", pr_event(base, head, head_repo="forker/Hello-World"))
    out = tmp_path / "results"
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--out-dir", str(out)]
    assert gh("select", *args) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [e["scenario"] for e in plan["matrix"]["include"]] == ["cpu"]
    values = outputs(tmp_path)
    assert json.loads(values["self_hosted_matrix"]) == {"include": []}


def test_a_dispatched_rerun_of_a_fork_pull_request_is_refused(fake, actions_env, tmp_path, capsys):
    """Only same-repository pull requests are rerun by dispatch (a dispatched run runs in the
    default branch's context); a maintainer dispatching one by hand is refused too."""
    repo, base, head = repo_with(tmp_path, {"cpu": ""})
    fake.add_pull(8, head_sha=head, head_owner="forker", base_sha=base)
    actions_env("workflow_dispatch", {"inputs": {"pr": "8", "sha": head}})
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--out-dir", str(tmp_path / "o")]
    assert gh("select", *args) == 2
    assert "comes from a fork" in capsys.readouterr().err
    assert not (tmp_path / "o" / "plan.json").exists()


def test_select_in_ci_ranks_with_the_stored_per_file_history(fake, actions_env, tmp_path):
    """Regression: the CI select job planned without the per-file history, so every rate fell
    back to the prior. Both scenarios import src/common.py; past changes to it moved b five
    times out of five and a never; with room for one, b must run."""
    repo, base, head = repo_with(tmp_path, {"a": "", "b": ""})
    for name in ("a", "b"):
        (repo / "scenarios" / f"{name}.yaml").write_text(
            f"name: {name}\ncommand: [python, t.py]\ntags: [pr]\nresources: {{est_seconds: 5}}\n"
        )
    db = tmp_path / "history.sqlite"  # the default history (TTFB_LAB_DB) holds the map
    for name, moved in (("a", False), ("b", True)):
        depmap_db.record(db, name, imported={"src/model.py"}, opened=(), revision=base)
        for _ in range(5):
            depmap_db.record(
                db,
                name,
                imported=(),
                opened=(),
                revision=base,
                verdict=Verdict.REGRESSION if moved else Verdict.NO_CHANGE,
                changed=["src/model.py"],
            )
    actions_env("pull_request", pr_event(base, head))
    out = tmp_path / "results"
    one_scenario = str(5 * (2 * 20 + 2) + 1)
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--out-dir", str(out)]
    assert gh("select", *args, "--budget-cpu-s", one_scenario) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [p["scenario"] for p in plan["selected"]] == ["b"]


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


def test_a_mode_given_the_wrong_event_is_a_usage_error(fake, actions_env, capsys):
    actions_env("push", payload("push.with-new-branch.json"))
    assert gh("report") == 2
    assert capsys.readouterr().err.startswith("error: report: expects a workflow_run event")


def test_the_plan_budgets_for_counting_cpu_work_unless_it_is_off(fake, actions_env, tmp_path):
    repo, base, head = repo_with(
        tmp_path,
        {
            "counted": "resources: {est_seconds: 2}\n",
            "wall-only": "resources: {est_seconds: 2}\ninstructions: off\n",
        },
    )
    actions_env("pull_request", pr_event(base, head))
    args = ["--root", str(repo), "--scenarios-dir", "scenarios", "--budget-cpu-s", "100000"]
    costs = {}
    for mode in ("auto", "off"):
        out = tmp_path / mode
        assert gh("select", *args, "--out-dir", str(out), "--instructions", mode) == 0
        plan = json.loads((out / "plan.json").read_text())
        costs[mode] = {p["scenario"]: p["cost_s"] for p in plan["selected"]}
    timed = 2 * (2 * 20 + 2)
    slowdown = counters.BACKENDS["cachegrind"].slowdown  # what the counting job uses
    assert costs["off"] == {"counted": timed, "wall-only": timed}
    # counting is capped (bot.model.COUNT_CAP_S): a count that would not fit is not run
    counting = min(2 * slowdown * 4, timed, COUNT_CAP_S)
    assert 0 < counting < 2 * slowdown * 4
    assert costs["auto"] == {"counted": timed + counting, "wall-only": timed}
