"""The report job: identity from the event and the API, fail-closed statuses, artifacts as
untrusted data (downloaded within limits, schema-checked, rendered inert)."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.gh.api import rerun_title
from bot.report import compare_view as report

from ..conftest import REPO, SEGMENTS, commit, git
from .conftest import gh

FORK_HEAD = "f" * 40


@pytest.fixture(scope="module")
def revisions(tmp_path_factory) -> tuple[Path, str, str]:
    """A repository with a base and a head commit and one scenario (timings are scripted)."""
    repo = tmp_path_factory.mktemp("report") / "repo"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "ranker-cpu.yaml").write_text(
        "name: ranker-cpu\ncommand: [python, t.py]\n"
    )
    (repo / "t.py").write_text("x = 1\n")
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "t.py").write_text("x = 2\n")
    head = commit(repo, "head")
    return repo, base, head


def results_doc(revisions, tmp_path: Path, *, delay: float) -> dict:
    """A real ``ttfb compare`` of the revisions, head ``delay`` seconds slower (scripted)."""
    repo, base, head = revisions
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
    args = ["compare", "--fake", str(fake_spec), "--root", str(repo), "--no-depmap"]
    args += ["--scenarios-dir", str(repo / "scenarios"), "--scenario", "ranker-cpu"]
    args += ["--base", base, "--head", head, "--no-history", "--out-dir", str(out)]
    assert main(args) == 0
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def compared(revisions, tmp_path_factory) -> dict[float, dict]:
    """The results documents of no change and of a 250 ms regression, made once per module
    (each is a whole compare, with worktrees and plots)."""
    out = tmp_path_factory.mktemp("compared")
    with pytest.MonkeyPatch.context() as env:  # what actions_env sets for a compare
        env.setenv("TTFB_INSTRUCTIONS", "off")
        env.setenv("TTFB_LAB_DB", str(out / "history.sqlite"))
        return {delay: results_doc(revisions, out, delay=delay) for delay in (0.0, 0.25)}


@pytest.fixture
def results(compared):
    """``results(delay)``: this test's own copy of a results document, to change at will."""
    return lambda delay: copy.deepcopy(compared[delay])


def plan_doc(base: str, head: str, *, pr: int = 5, selected=("ranker-cpu",), **extra) -> dict:
    picks = [
        {"scenario": s, "reason": "models/ranker.py (import)", "why": "ranked"} for s in selected
    ]
    include = [{"scenario": s, "runs-on": ["ubuntu-latest"], "gpu": False} for s in selected]
    doc = {
        "version": 1,
        "kind": "ttfb-plan",
        "pr": pr,
        "base": base,
        "head": head,
        "requested_by": "",
        "runs": "",
        "selected": picks,
        "skipped": [{"scenario": "lm-gpu", "reason": "no GPU budget"}],
        "unmapped": [],
        "warnings": [],
        "matrix": {"include": include},
    }
    return {**doc, **extra}


def artifacts(tmp_path: Path, doc: dict | None, plan: dict | None) -> Path:
    root = tmp_path / "artifacts"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    if doc is not None:
        (root / "ttfb-results-ranker-cpu").mkdir()
        (root / "ttfb-results-ranker-cpu" / "results.json").write_text(json.dumps(doc))
    if plan is not None:
        (root / "ttfb-plan").mkdir()
        (root / "ttfb-plan" / "plan.json").write_text(json.dumps(plan))
    return root


def workflow_run(
    head_sha: str,
    *,
    owner: str = "octo",
    branch: str = "feature",
    event: str = "pull_request",
    conclusion: str = "success",
    run_id: int = 123,
    title: str = "Speed up the ranker",
) -> dict:
    return {
        "action": "completed",
        "repository": {"full_name": "octo/lab", "default_branch": "main"},
        "workflow_run": {
            "id": run_id,
            "event": event,
            "head_sha": head_sha,
            "head_branch": branch,
            "display_title": title,
            "conclusion": conclusion,
            "html_url": f"https://x/run/{run_id}",
            "head_repository": {"full_name": f"{owner}/lab", "owner": {"login": owner}},
            "pull_requests": [],
        },
    }


def nothing_written(fake) -> bool:
    return not [c for c in fake.calls if c.method in ("POST", "PATCH", "DELETE")]


@pytest.fixture
def pr_at_head(fake, revisions):
    """Pull request #5 of this repository, its head the revisions' head."""
    _, base, head = revisions
    fake.add_pull(6, head_sha=head, head_ref="feature", user="alice")
    return 6, base, head


def test_report_creates_then_edits_one_comment_and_sets_status(
    fake, actions_env, tmp_path, results, pr_at_head
):
    number, base, head = pr_at_head
    doc = results(0.25)
    actions_env("workflow_run", workflow_run(head))
    art = artifacts(tmp_path, doc, plan_doc(base, head, pr=number))
    assert gh("report", "--artifacts", str(art)) == 0
    assert gh("report", "--artifacts", str(art)) == 0
    (comment,) = fake.comments(number)
    assert comment["body"].startswith(report.COMMENT_MARKER)
    assert "🔴 regression" in comment["body"]
    assert "ran `ranker-cpu`: models/ranker.py (import)" in comment["body"]
    assert "skipped `lm-gpu`: no GPU budget" in comment["body"]
    statuses = fake.statuses(head)
    assert {s["context"] for s in statuses} == {"ttfb/pr"}
    assert [s["state"] for s in statuses] == ["failure", "failure"]
    assert "regression" in (tmp_path / "summary.md").read_text()


def test_a_profiled_scenario_s_flame_graph_is_drawn_by_the_report_and_linked(
    fake, actions_env, tmp_path, results, pr_at_head
):
    """The report job draws the flame graph from the results' call tree, under its own out dir
    (the workflow uploads it as ttfb-flame-graphs), and the comment links to this run's
    artifacts; a flame graph file the measured run uploaded is never what is published."""
    number, base, head = pr_at_head
    doc = results(0.25)
    fixture = Path(__file__).parents[1] / "fixtures" / "results" / "profile.json"
    doc["scenarios"][0]["profile"] = json.loads(fixture.read_text())["scenarios"][0]["profile"]
    actions_env("workflow_run", workflow_run(head))
    art = artifacts(tmp_path, doc, plan_doc(base, head, pr=number))
    planted = "<script>alert(1)</script>"
    (art / "ttfb-results-ranker-cpu" / "flame-ranker-cpu.html").write_text(planted)
    out = tmp_path / "out"
    assert gh("report", "--artifacts", str(art), "--out-dir", str(out)) == 0
    page = (out / "flame-graphs" / "flame-ranker-cpu.html").read_text()
    assert "report_click_stats" in page and planted not in page
    (comment,) = fake.comments(number)
    link = "[flame-ranker-cpu.html](https://github.example/octo/lab/actions/runs/77#artifacts)"
    assert link in comment["body"], comment["body"]
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ttfb-report.yml").read_text())
    uploads = [s for s in workflow["jobs"]["report"]["steps"] if "upload-artifact" in str(s)]
    assert [(u["with"]["name"], u["with"]["path"]) for u in uploads] == [
        ("ttfb-flame-graphs", "ttfb-results/flame-graphs/")
    ]


def test_a_fork_run_whose_artifacts_claim_another_pull_request_writes_nothing(
    fake, actions_env, tmp_path, results, pr_at_head, capsys
):
    """The fork's code ran in the bench jobs (and it may edit ttfb-pr.yml in its branch): its
    plan says #6 at #6's head, to post a green status there. The event says the run is the
    fork's head: nothing may be written anywhere."""
    number, base, head = pr_at_head
    fake.add_pull(8, head_sha=FORK_HEAD, head_ref="patch-1", head_owner="forker")
    doc = results(0.0)
    actions_env("workflow_run", workflow_run(FORK_HEAD, owner="forker", branch="patch-1"))
    art = artifacts(tmp_path, doc, plan_doc(base, head, pr=number))
    capsys.readouterr()
    assert gh("report", "--artifacts", str(art)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the artifacts claim #6") and err.count("\n") == 1
    assert nothing_written(fake)
    assert fake.statuses(head) == [] and fake.comments(number) == []


def test_a_run_for_no_open_pull_request_writes_nothing(fake, actions_env, tmp_path, capsys):
    actions_env("workflow_run", workflow_run("c" * 40))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, None, None))) == 2
    assert "no open pull request has head cccccccccc" in capsys.readouterr().err
    assert nothing_written(fake)


def test_a_fork_s_own_results_are_posted_as_advisory(
    fake, actions_env, tmp_path, revisions, results, capsys
):
    _, base, head = revisions
    fake.add_pull(8, head_sha=head, head_ref="patch-1", head_owner="forker")
    doc = results(0.0)
    actions_env("workflow_run", workflow_run(head, owner="forker", branch="patch-1"))
    assert (
        gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan_doc(base, head, pr=8)))) == 0
    )
    assert len(fake.comments(8)) == 1
    (status,) = fake.statuses(head)
    # never under ttfb/pr, which branch protection may require: the fork's jobs made the data
    assert status["context"] == "ttfb/pr (fork, advisory)"
    assert "advisory" in status["description"]


@pytest.mark.parametrize(
    ("conclusion", "expected"),
    [
        ("failure", "the bench run ended failure"),
        ("action_required", "waits for a maintainer's approval"),
        ("timed_out", "the bench run ended timed_out"),
    ],
)
def test_a_run_that_did_not_complete_never_sets_success(
    fake, actions_env, tmp_path, pr_at_head, conclusion, expected
):
    """Fail-open used to say "no scenario affected" (success) for a failed run with no
    artifacts, and for a run awaiting approval."""
    number, _, head = pr_at_head
    actions_env("workflow_run", workflow_run(head, conclusion=conclusion))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, None, None))) == 0
    (status,) = fake.statuses(head)
    assert status["state"] == "error" and expected in status["description"]
    (comment,) = fake.comments(number)
    assert "No verdict" in comment["body"]


def test_a_planned_scenario_without_results_is_an_error(
    fake, actions_env, tmp_path, results, pr_at_head
):
    number, base, head = pr_at_head
    doc = results(0.0)
    plan = plan_doc(base, head, pr=number, selected=("ranker-cpu", "lm-cpu"))
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan))) == 0
    (status,) = fake.statuses(head)
    assert status["state"] == "error" and "no result for lm-cpu" in status["description"]


def test_results_for_other_revisions_than_the_plan_are_an_error(
    fake, actions_env, tmp_path, results, pr_at_head
):
    number, base, head = pr_at_head
    doc = results(0.0)
    doc["base"]["revision"] = "9" * 40
    actions_env("workflow_run", workflow_run(head))
    assert (
        gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan_doc(base, head, pr=number))))
        == 0
    )
    (status,) = fake.statuses(head)
    assert status["state"] == "error" and "measured base 9999999999" in status["description"]


def test_a_missing_plan_is_an_error_not_nothing_to_run(fake, actions_env, tmp_path, pr_at_head):
    _, _, head = pr_at_head
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, None, None))) == 0
    (status,) = fake.statuses(head)
    assert status["state"] == "error" and "left no plan" in status["description"]


def test_nothing_selected_posts_a_short_comment_and_success(
    fake, actions_env, tmp_path, pr_at_head
):
    number, base, head = pr_at_head
    plan = plan_doc(base, head, pr=number, selected=(), unmapped=["tools/x.py"])
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, None, plan))) == 0
    (comment,) = fake.comments(number)
    assert "nothing to run" in comment["body"] and "`tools/x.py`" in comment["body"]
    assert fake.statuses(head)[0]["state"] == "success"


def test_a_dispatched_rerun_is_checked_against_the_pull_request_as_it_is_now(
    fake, actions_env, tmp_path, results, pr_at_head, capsys
):
    number, base, head = pr_at_head
    doc = results(0.0)
    art = artifacts(tmp_path, doc, plan_doc(base, head, pr=number, requested_by="writer"))
    main_sha = "e" * 40
    rerun = {"branch": "main", "event": "workflow_dispatch", "title": rerun_title(number, head)}
    actions_env("workflow_run", workflow_run(main_sha, **rerun))
    assert gh("report", "--artifacts", str(art)) == 0
    (status,) = fake.statuses(head)  # on the pull request's head, not the dispatch's main
    assert status["state"] == "success"
    assert "Rerun requested by `writer`" in fake.comments(number)[0]["body"]
    # a dispatch from another branch than the default one is not ours to trust
    actions_env("workflow_run", workflow_run(main_sha, **{**rerun, "branch": "evil"}))
    assert gh("report", "--artifacts", str(art)) == 2
    assert "not of octo/lab:main" in capsys.readouterr().err


def test_a_dispatched_run_named_for_another_pull_request_posts_nothing(
    fake, actions_env, tmp_path, results, pr_at_head, capsys
):
    """The run's name comes from the dispatch's inputs (the trusted workflow sets it); a plan
    that claims #6 in a run dispatched for #7 is the measured code speaking, not the event."""
    number, base, head = pr_at_head
    art = artifacts(tmp_path, results(0.0), plan_doc(base, head, pr=number))
    title = rerun_title(number + 1, head)
    actions_env(
        "workflow_run",
        workflow_run("e" * 40, branch="main", event="workflow_dispatch", title=title),
    )
    capsys.readouterr()
    assert gh("report", "--artifacts", str(art)) == 2
    err = capsys.readouterr().err
    assert f"is named '{title}'" in err and err.count("\n") == 1
    assert nothing_written(fake)


def test_a_rerun_whose_pull_request_moved_on_posts_nothing(
    fake, actions_env, tmp_path, results, pr_at_head, capsys
):
    number, base, _ = pr_at_head
    doc = results(0.0)
    older = plan_doc(base, "d" * 40, pr=number)  # the plan measured a head #6 no longer has
    title = rerun_title(number, "d" * 40)
    actions_env(
        "workflow_run",
        workflow_run("e" * 40, branch="main", event="workflow_dispatch", title=title),
    )
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc, older))) == 2
    assert "moved on to" in capsys.readouterr().err
    assert nothing_written(fake)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["scenarios"][0].update(verdict="pwned"), "verdict: 'pwned' is not one of"),
        (lambda d: d.update(version=99), "version: 1 was expected"),
        (lambda d: d["scenarios"][0].update(name="x" * 500), "name: value breaks pattern"),
        (lambda d: d["scenarios"][0].update(name="ok\n::error::forged"), "does not match"),
    ],
)
def test_malformed_results_are_rejected_and_nothing_posted(
    fake, actions_env, tmp_path, results, pr_at_head, capsys, mutate, expected
):
    number, base, head = pr_at_head
    doc = results(0.25)
    mutate(doc)
    capsys.readouterr()
    actions_env("workflow_run", workflow_run(head))
    assert (
        gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan_doc(base, head, pr=number))))
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1
    assert nothing_written(fake)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.update(pr="6"), "pr: '6' is not of type 'integer'"),
        (lambda p: p.update(head="HEAD"), "head: 'HEAD' does not match"),
        (lambda p: p.update(requested_by="x y"), "requested_by"),
        (lambda p: p.update(extra=1), "Additional properties are not allowed"),
    ],
)
def test_the_plan_is_schema_checked(
    fake, actions_env, tmp_path, pr_at_head, capsys, mutate, expected
):
    number, base, head = pr_at_head
    plan = plan_doc(base, head, pr=number)
    mutate(plan)
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, None, plan))) == 2
    assert expected in capsys.readouterr().err
    assert nothing_written(fake)


def test_untrusted_text_cannot_link_or_mention(fake, actions_env, tmp_path, results, pr_at_head):
    """Scenario errors, plan reasons and file names come from the run: rendered, they must not
    add links, images, HTML or @-mentions under the bot's name."""
    number, base, head = pr_at_head
    doc = results(0.0)
    hostile = (
        "boom [click](https://evil.example) ![x](https://evil.example/p.png) @mallory <b>hi</b>"
    )
    doc["scenarios"][0]["notes"] = [hostile]
    doc["head"]["label"] = "abc123 " + hostile
    plan = plan_doc(base, head, pr=number, unmapped=["`@mallory` [a](b)"])
    plan["selected"][0]["reason"] = hostile
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan))) == 0
    body = fake.comments(number)[0]["body"]
    assert "@mallory" in body  # in code spans; elsewhere broken by a zero-width space:
    outside_code = re.sub(r"(`+)(?:(?!\1).)+?\1", "", body)  # code spans neither link nor ping
    assert "@mallory" not in outside_code and "@\u200bmallory" in outside_code
    assert "](https://evil" not in outside_code.replace("\\](", "")  # brackets escaped
    assert "<b>" not in outside_code and "\\<b\\>" in outside_code


def test_oversized_or_non_json_artifact_rejected(fake, actions_env, tmp_path, pr_at_head, capsys):
    _, _, head = pr_at_head
    actions_env("workflow_run", workflow_run(head))
    art = tmp_path / "artifacts" / "ttfb-results-x"
    art.mkdir(parents=True)
    (art / "results.json").write_bytes(b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert gh("report", "--artifacts", str(tmp_path / "artifacts")) == 2
    assert "over the 10485760-byte limit" in capsys.readouterr().err
    (art / "results.json").write_text("{not json")
    assert gh("report", "--artifacts", str(tmp_path / "artifacts")) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert nothing_written(fake)


def test_300_scenarios_fit_the_comment_limit(fake, actions_env, tmp_path, results, pr_at_head):
    number, base, head = pr_at_head
    doc = results(0.25)
    one = doc["scenarios"][0]
    doc["scenarios"] = [dict(one, name=f"s{i:03d}") for i in range(300)]
    plan = plan_doc(base, head, pr=number, selected=[f"s{i:03d}" for i in range(300)])
    actions_env("workflow_run", workflow_run(head))
    trusted = tmp_path / "trusted-scenarios"  # the report accepts only scenarios it knows
    trusted.mkdir()
    for i in range(300):
        (trusted / f"s{i:03d}.yaml").write_text(f"name: s{i:03d}\ncommand: [python, t.py]\n")
    folder = str(artifacts(tmp_path, doc, plan))
    assert gh("report", "--artifacts", folder, "--scenarios-dir", str(trusted)) == 0
    (comment,) = fake.comments(number)
    assert len(comment["body"]) <= 65536
    assert "https://github.example/octo/lab/actions/runs/123" in comment["body"]


# --- downloading the artifacts through the API ----------------------------------------------


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_the_report_downloads_only_ttfb_artifacts_through_the_api(
    fake, actions_env, tmp_path, results, pr_at_head
):
    number, base, head = pr_at_head
    doc = results(0.0)
    fake.add_run(123, head_sha=head)
    fake.add_artifact(
        123, "ttfb-plan", {"plan.json": json.dumps(plan_doc(base, head, pr=number)).encode()}
    )
    fake.add_artifact(123, "ttfb-results-ranker-cpu", {"results.json": json.dumps(doc).encode()})
    fake.add_artifact(123, "coverage", {"results.json": b"{not even json"})  # not ours: ignored
    actions_env("workflow_run", workflow_run(head))
    assert gh("report") == 0
    assert fake.statuses(head)[0]["state"] == "success"
    downloads = [c.path for c in fake.calls if c.path.endswith("/zip")]
    assert len(downloads) == 2


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"../evil.json": b"{}"}, "would land outside its folder"),
        ({"/etc/cron.d/x": b"{}"}, "would land outside its folder"),
        ({"results.json": b" " * (65 * 1024 * 1024)}, "over the"),
    ],
)
def test_hostile_or_huge_archives_are_refused_before_anything_is_posted(
    fake, actions_env, tmp_path, pr_at_head, capsys, files, expected
):
    _, _, head = pr_at_head
    fake.add_run(123, head_sha=head)
    fake.add_artifact(123, "ttfb-results-x", raw_zip=zipped(files), size_in_bytes=100)
    actions_env("workflow_run", workflow_run(head))
    assert gh("report") == 2
    assert expected in capsys.readouterr().err
    assert nothing_written(fake)


def test_too_many_artifacts_are_refused_unopened(fake, actions_env, tmp_path, pr_at_head, capsys):
    _, _, head = pr_at_head
    fake.add_run(123, head_sha=head)
    for i in range(65):
        fake.add_artifact(123, f"ttfb-results-{i}", {"results.json": b"{}"})
    actions_env("workflow_run", workflow_run(head))
    assert gh("report") == 2
    assert "65 artifacts match 'ttfb-*', over 64" in capsys.readouterr().err
    assert [c for c in fake.calls if c.path.endswith("/zip")] == []
    assert nothing_written(fake)


def test_a_scenario_the_trusted_checkout_does_not_have_is_refused(
    fake, actions_env, tmp_path, results, pr_at_head, capsys
):
    """A job that ran the pull request's code cannot add a scenario of its own to the report."""
    number, base, head = pr_at_head
    doc = results(0.25)
    doc["scenarios"] = [dict(doc["scenarios"][0], name="planted-by-the-pr")]
    plan = plan_doc(base, head, pr=number, selected=["planted-by-the-pr"])
    actions_env("workflow_run", workflow_run(head))
    assert gh("report", "--artifacts", str(artifacts(tmp_path, doc, plan))) == 2
    assert "'planted-by-the-pr' is not in" in capsys.readouterr().err
    assert fake.comments(number) == []
