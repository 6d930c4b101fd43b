"""The attack of the first red-team round on the release job: a measured process walks up its
ancestors and reads each one's ``/proc/<pid>/environ`` for the job's token. Here the action's
own step scripts run (from action.yml, with the step's ``env`` as GitHub would give it and a
token as the ``github-token`` input), and the measured program is that scan."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import REPO, commit, git

TOKEN = "ghs_redteam0123456789abcdef"
SCAN = r"""
import os, sys
found, pid = [], os.getppid()
while pid > 1:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            if TOKEN in f.read():
                found.append(pid)
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
with open(OUT, "a") as f:
    f.write(f"{os.getpid()} {len(found)}\n")
from ttfb_lab import mark  # the probe's first-batch mark
mark("scanned")
"""


def step_for(mode: str) -> dict:
    """The action step GitHub would run for ``mode``, judged by its ``if`` as written."""
    steps = yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
    for step in steps[1:]:
        cond = step["if"]
        if f"inputs.mode == '{mode}'" in cond or (
            "inputs.mode ==" not in cond and f"inputs.mode != '{mode}'" not in cond
        ):
            return step
    raise AssertionError(f"no step runs mode {mode}")


def step_env(step: dict, inputs: dict[str, str], action_path: Path) -> dict[str, str]:
    """The step's ``env`` with its expressions filled in, on a bare runner's environment."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ["HOME"]}
    for name, value in step["env"].items():
        m = re.fullmatch(r"\$\{\{ (inputs\.([\w-]+)|github\.action_path) \}\}", str(value))
        assert m, f"{name}: {value}"
        env[name] = str(action_path) if m.group(2) is None else inputs.get(m.group(2), "")
    return env


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, str, str, Path]:
    repo = tmp_path / "repo"
    (repo / "scenarios").mkdir(parents=True)
    found = tmp_path / "found.txt"
    (repo / "scan.py").write_text(f"OUT = {str(found)!r}\nTOKEN = {TOKEN.encode()!r}\n{SCAN}")
    (repo / "scenarios" / "scan.yaml").write_text(
        "name: scan\ncommand: [python, scan.py]\ntags: [release]\nfirst_batch: mark:scanned\n"
    )
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "v1.0")
    (repo / "README").write_text("1.1\n")
    return repo, base, commit(repo, "v1.1"), found


def test_measured_code_in_a_release_measure_job_finds_no_token_in_any_ancestor(release, tmp_path):
    repo, base, head, found = release
    inputs = {
        "mode": "release-measure",
        "github-token": TOKEN,  # what `${{ github.token }}` would be
        "root": str(repo),
        "scenarios-dir": str(repo / "scenarios"),
        "out-dir": str(tmp_path / "out"),
        "baseline": base,
        "head": head,
        "scenarios": "scan",
        "instructions": "off",
    }
    step = step_for("release-measure")
    env = step_env(step, inputs, REPO)
    # the action's step runs under bash, itself under a runner process holding only the
    # step's environment; the token is in it only if the step asks for the input
    proc = subprocess.run(
        ["bash", "-c", step["run"]], env=env, cwd=repo, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in found.read_text().splitlines()]
    assert len(rows) >= 4, proc.stdout[-3000:]  # the scan ran, in both arms' samples
    assert {n for _, n in rows} == {"0"}, "a measured process read the token from an ancestor"
