"""Workflow runs and their artifacts, through the GitHub adapter (``bot.gh.api``).

What the report, command, release and calibrate jobs need from GitHub Actions: the runs of a
workflow for a commit, re-running a pull request's own run, the latest default-branch run of a
workflow, and that run's artifacts, downloaded within limits and unpacked safely
(``bot.gh.artifacts.unpack``). This module imports no PyGithub itself: it calls methods of the
objects the adapter hands out, through the adapter's error handling.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ..errors import GitHubError, ResultsError
from .api import GitHubAPI
from .artifacts import unpack

MAX_ARTIFACTS = 64
MAX_ARTIFACT_TOTAL_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Run:
    id: int
    workflow: str
    event: str
    head_sha: str
    head_branch: str | None
    head_repo: str | None
    status: str
    conclusion: str | None
    created_at: str  # ISO 8601 UTC

    @classmethod
    def of(cls, run: Any, workflow: str) -> Run:
        head = getattr(run, "head_repository", None)
        created = run.created_at
        return cls(
            id=int(run.id),
            workflow=workflow,
            event=str(run.event),
            head_sha=str(run.head_sha),
            head_branch=run.head_branch,
            head_repo=head.full_name if head is not None else None,
            status=str(run.status),
            conclusion=run.conclusion,
            created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ")
            if hasattr(created, "strftime")
            else str(created),
        )


def runs(
    api: GitHubAPI,
    workflow: str,
    *,
    head_sha: str | None = None,
    event: str | None = None,
    branch: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Run]:
    """Runs of ``workflow`` (newest first), filtered as the API filters them."""
    filters = {"head_sha": head_sha, "event": event, "branch": branch, "status": status}
    wanted = {k: v for k, v in filters.items() if v}

    def fetch() -> list[Any]:
        found = []
        for run in api.repo.get_workflow(workflow).get_runs(**wanted):
            found.append(run)
            if len(found) >= limit:
                break
        return found

    return [Run.of(r, workflow) for r in api.call(f"GET runs of {workflow}", fetch)]


def rerun(api: GitHubAPI, run_id: int) -> None:
    """Re-run a workflow run: the same event, commit and sandbox as the first time."""
    api.write(f"POST rerun of run {run_id}", lambda: api.repo.get_workflow_run(run_id).rerun())


def latest_trusted_run(
    api: GitHubAPI, workflow: str, *, branch: str, events: Sequence[str]
) -> Run | None:
    """The newest successful run of ``workflow`` on ``branch`` of this repository, started by
    one of ``events``: what a pull request cannot have produced (its runs are
    ``pull_request`` events on its own head branch, or dispatches a writer made)."""
    for run in runs(api, workflow, branch=branch, status="success", limit=50):
        if (
            run.event in events
            and run.head_branch == branch
            and run.head_repo == api.repository
            and run.conclusion == "success"
        ):
            return run
    return None


def download(
    api: GitHubAPI,
    run_id: int,
    dest: Path,
    *,
    pattern: str = "ttfb-*",
    max_count: int = MAX_ARTIFACTS,
    max_bytes: int = MAX_ARTIFACT_TOTAL_BYTES,
) -> list[Path]:
    """Download the artifacts of run ``run_id`` whose names match ``pattern`` into
    ``dest/<name>/``, after checking their number and declared sizes; each archive is
    unpacked with the same limits (``bot.gh.artifacts.unpack``). Returns the folders."""

    def listing() -> list[Any]:
        return list(api.repo.get_workflow_run(run_id).get_artifacts())

    found = [
        a
        for a in api.call(f"GET artifacts of run {run_id}", listing)
        if fnmatch.fnmatchcase(a.name, pattern)
    ]
    if len(found) > max_count:
        raise ResultsError(
            f"run {run_id}: {len(found)} artifacts match {pattern!r}, over {max_count}"
        )
    declared = sum(int(a.size_in_bytes) for a in found)
    if declared > max_bytes:
        raise ResultsError(
            f"run {run_id}: artifacts declare {declared} bytes, over the {max_bytes}-byte limit"
        )
    folders = []
    budget = max_bytes
    for a in sorted(found, key=lambda a: a.name):
        if a.expired:
            raise ResultsError(f"run {run_id}: artifact {a.name!r} has expired")
        data = _fetch_zip(api, a.archive_download_url, limit=budget)
        folder = dest / _safe_name(a.name)
        budget -= unpack(data, folder, max_bytes=budget, source=f"artifact {a.name!r}")
        folders.append(folder)
    return folders


def _safe_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ResultsError(f"artifact name {name!r} is not a plain name")
    return name


def _fetch_zip(api: GitHubAPI, url: str, *, limit: int) -> bytes:
    """The archive's bytes, streamed and cut off past ``limit`` (its declared size may lie)."""
    token = api.token
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as r:
            if r.status_code != 200:
                raise GitHubError(f"GitHub API: GET {url}: {r.status_code}")
            chunks, size = [], 0
            for chunk in r.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ResultsError(f"{url}: archive is over the {limit}-byte limit")
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise GitHubError(f"GitHub API: GET {url}: {exc}") from None
    return b"".join(chunks)
