"""Counting is its own CI job: beside the timing job, never inside it, joined by the report."""

from __future__ import annotations

import json

from .conftest import REPO
from .test_workflows import load, steps

PR = REPO / ".github" / "workflows" / "ttfb-pr.yml"


def test_counting_and_timing_are_separate_jobs_that_run_side_by_side():
    jobs = load(PR)["jobs"]
    bench, count = jobs["bench"], jobs["count"]
    # both wait for selection alone, over the same matrix: neither waits for the other
    assert bench["needs"] == count["needs"] == "select"
    assert bench["strategy"]["matrix"] == count["strategy"]["matrix"]
    timing = next(s for s in steps(bench) if s.get("with", {}).get("mode") == "run")
    assert timing["with"]["instructions"] == "off"  # the timing job never counts
    counting = next(s for s in steps(count) if s.get("with", {}).get("mode") == "count")
    assert counting["uses"] == "./.ttfb-trusted"
    # it runs the pull request's code: read-only, no token, no secret
    assert count["permissions"] == {"contents": "read"}
    assert "GITHUB_TOKEN" not in json.dumps(count) and "secrets." not in json.dumps(count)
    uploads = [s for s in steps(count) if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["name"].startswith("ttfb-counts-")
    assert uploads[0]["with"]["path"].endswith("counts.json")


def test_the_action_runs_the_counting_job_without_a_token():
    action = load(REPO / "action.yml")
    by_id = {s.get("id", ""): s for s in action["runs"]["steps"]}
    no_token = by_id["untrusted"]
    assert "inputs.mode == 'count'" in no_token["if"]
    assert "GITHUB_TOKEN" not in json.dumps(no_token)
    assert "gh count" in no_token["run"] and "gh run" in no_token["run"]
    assert "inputs.mode != 'count'" in by_id["api"]["if"]  # the token step never counts


def test_the_action_installs_its_dependencies_isolated_from_the_checkout(tmp_path):
    """'python -m pip' puts the working directory first on sys.path: a pull request that adds
    pip/__main__.py to its checkout would run its own code in the install step."""
    import subprocess
    import sys

    action = load(REPO / "action.yml")
    install = action["runs"]["steps"][0]["run"]
    assert install.startswith('cd "$ACTION_PATH" &&') and "python3 -I -m pip" in install
    for step in action["runs"]["steps"][1:]:
        assert "python3 -I " in step["run"]  # isolated there too
    planted = tmp_path / "pip"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "__main__.py").write_text("print('PR-controlled pip module ran')\n")
    plain = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    isolated = subprocess.run(
        [sys.executable, "-I", "-m", "pip", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "PR-controlled" in plain.stdout  # the attack, as reproduced
    assert "PR-controlled" not in isolated.stdout and "pip" in isolated.stdout
