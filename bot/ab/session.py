"""A whole A/B session: resolve both arms (worktrees for revisions), build the targets, run
``compare`` with a sample log, and record every outcome. ``ttfb compare``, ``ttfb gh run``, the
release suite and the demo all start here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import git
from ..model import Executor, Progress
from ..scenarios import Scenario
from ..stats.verdict import Policy
from ..store.recorder import Recorder
from ..store.versioned import SampleLog
from . import arms
from .counting import CountingChoice
from .engine import Comparison, compare
from .profiling import Profiling
from .record import Recording
from .targets import Overrides, Threshold, build_target
from .workspace import Workspace


@dataclass(frozen=True)
class Request:
    """What to compare: the two arms, the scenarios (None: the arms' own commands)."""

    base: arms.ArmSpec
    head: arms.ArmSpec
    scenarios: tuple[Scenario | None, ...]
    name: str = "command"  # of an ad-hoc command comparison
    overrides: Overrides = field(default_factory=Overrides)
    budget_s: float | None = None
    family_size: int | None = None
    kind: str = "compare"  # the run kind the history records
    where: str = "."  # where the arms' own commands run, relative to the root


@dataclass(frozen=True)
class Session:
    comparison: Comparison
    base: arms.Arm
    head: arms.Arm
    log_path: Path


def changed_files(base_rev: str | None, head_rev: str | None, root: Path) -> tuple[str, ...]:
    """Every path a revision compare changed (both names of a rename), so selection learns
    which files' changes move which scenario; nothing for other kinds of compare."""
    if not base_rev or not head_rev or base_rev == head_rev:
        return ()
    return tuple(
        p
        for _, new, old in git.changed_paths(base_rev, head_rev, cwd=root)
        for p in (new, old)
        if p
    )


def run(
    request: Request,
    *,
    repo: Path,
    policy: Policy,
    executor: Executor,
    threshold: Threshold,
    log_path: Path,
    workspace: Workspace,
    recorder: Recorder | None = None,
    progress: Progress | None = None,
    counting: CountingChoice | None = None,
    attribute: bool | None = None,
    profile: Profiling | None = None,
) -> Session:
    """Resolve both arms (worktrees in ``workspace``), compare them on every scenario, record.

    ``counting``'s line is shown once the targets are built, after any bad input has stopped
    the run."""
    base, head = arms.resolve(
        request.base, request.head, repo=repo, worktree=workspace.worktree, where=request.where
    )
    targets = [
        build_target(
            s,
            base,
            head,
            threshold=threshold,
            overrides=request.overrides,
            workspace=workspace,
            name=request.name,
        )
        for s in request.scenarios
    ]
    counting = counting or CountingChoice()
    if counting.line and progress is not None:
        progress(counting.line)
    record = None
    if recorder is not None:
        record = Recording(
            recorder,
            kind=request.kind,
            base_rev=base.revision,
            head_rev=head.revision or git.head_revision(repo),
            changed=changed_files(base.revision, head.revision, repo),
        )
    meta = {"command": request.kind, "base": base.to_json(), "head": head.to_json()}
    with SampleLog(log_path, meta) as log:
        comparison = compare(
            targets,
            policy,
            executor,
            progress,
            budget_s=request.budget_s,
            family_size=request.family_size,
            log=log,
            record=record,
            counting=counting.counting,
            attribute=attribute,
            profile=profile,
        )
    return Session(comparison, base, head, log_path)
