"""What every GitHub flow is given (``Context``) and gives back (``Outputs``), and the Actions
files they write: ``$GITHUB_OUTPUT`` and the job summary."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import CountingMode, Executor
from ..pipeline.options import StoreOptions
from .api import GitHubAPI

PR_WORKFLOW = "ttfb-pr.yml"
PLAN_FILE = "plan.json"
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class Outputs:
    """Values for ``$GITHUB_OUTPUT`` and a line for the log."""

    values: Mapping[str, str]
    message: str
    code: int = 0  # the exit status (release: 1 when the gate fails and --gate was given)


@dataclass(frozen=True)
class ReleaseSettings:
    baseline: str | None = None
    head: str | None = None
    tag_pattern: str = "v*"
    tag: str = "release"
    pairs: int = 10
    max_pairs: int = 40
    bisect_max_pairs: int = 20
    alpha: float = 0.01
    gate: bool = False
    offline: bool = False


@dataclass(frozen=True)
class Context:
    """Where a flow runs and what it may use. ``api`` connects on first use, so flows that
    never write (select on a pull request) never need a token."""

    env: Mapping[str, str]
    root: Path
    scenarios_dir: Path
    out_dir: Path
    api: Callable[[], GitHubAPI]
    executor: Executor
    store: StoreOptions  # the history (thresholds, records), the dependency map, the runner
    budget_cpu_s: float = 3600.0
    instructions: CountingMode = "auto"  # count CPU work in the bench jobs
    budget_gpu_s: float = 0.0
    runners: Mapping[str, Sequence[str]] = field(default_factory=dict)
    artifacts: Path | None = None  # downloaded artifacts; None: download them via the API
    ref: str | None = None
    release: ReleaseSettings = ReleaseSettings()


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """``$GITHUB_OUTPUT``: a multi-line value between a random delimiter that no value can
    contain by chance or by design (a fixed one could be planted in a value to end it early
    and add outputs of its own)."""
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a") as f:
        for key, value in values.items():
            if "\n" in value or "\r" in value:
                delimiter = f"ttfb_{secrets.token_hex(16)}"
                while delimiter in value:
                    delimiter = f"ttfb_{secrets.token_hex(16)}"
                f.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                f.write(f"{key}={value}\n")


def append_summary(env: Mapping[str, str], text: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def run_url(env: Mapping[str, str], run_id: Any | None = None) -> str | None:
    server, repo = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
    run_id = run_id or env.get("GITHUB_RUN_ID")
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None
