"""Bisect steps as real A/B runs: a worktree per commit, the one target builder, ``compare``.

``RevisionComparer`` is the ``compare(good, candidate, attempt)`` the pure search
(``bot.bisect.search``) asks; each step is a whole statistical A/B with the PR engine's
schedule and verdict rules, recorded in the history as a ``bisect-step`` run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ab.arms import Arm
from ..ab.counting import Counting
from ..ab.engine import ScenarioOutcome, compare
from ..ab.record import Recording
from ..ab.targets import Overrides, build_target
from ..ab.workspace import Workspace
from ..model import Executor, Progress, Verdict
from ..scenarios import DEFAULT_FLOOR_PCT, Scenario
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store.recorder import Recorder
from ..store.records import RunRecord
from ..store.versioned import SampleLog
from . import search
from .bisect_doc import bisect_json
from .search import StepResult


@dataclass(frozen=True)
class StepSize:
    """How big each step is: pairs at the first look and at the last (×2 per retry)."""

    pairs: int = 10
    max_pairs: int = 20
    alpha: float = 0.01
    threshold_pct: float | None = None


class RevisionComparer:
    """``compare(good, candidate, attempt)`` for the search, on real processes.

    One worktree per commit, from the run's ``Workspace``, kept for the whole bisect. A
    candidate whose scenario cannot even be prepared (its shrunk config fails validation) or
    whose samples crash is ``broken``: the search skips it.
    """

    def __init__(
        self,
        repo: Path,
        *,
        scenario: Scenario | None,
        command: tuple[str, ...] | None,
        executor: Executor,
        workspace: Workspace,
        size: StepSize = StepSize(),
        log: SampleLog | None = None,
        progress: Progress | None = None,
        detect: str | None = None,
        recorder: Recorder | None = None,
        counting: Counting | None = None,
        where: str = ".",
    ) -> None:
        if (scenario is None) == (command is None):
            raise ValueError("give a scenario or a command")
        self.repo = repo
        self.scenario = scenario
        self.command = command
        self.executor = executor
        self.workspace = workspace
        self.size = size
        self.log = log
        self.progress = progress
        self.overrides = Overrides(detect=detect)
        self.recorder = recorder
        self.counting = counting  # a regression found on CPU work is followed on CPU work
        self.where = where  # where the command runs, relative to the root
        # The endpoint that carried the regression at the bad end (say, one phase segment):
        # every step reports it, so a step that simply lacks the regression is clear at once
        # even when the whole-TTFB interval is too wide for the PR rules' "no change".
        self.focus: str | None = None

    def threshold(self, name: str, floor: float) -> tuple[float, str]:
        pct = self.size.threshold_pct
        return (floor, "floor") if pct is None else (pct, "set with --threshold-pct")

    def __call__(self, good: str, candidate: str, attempt: int) -> StepResult:
        base, head = (
            Arm(
                label,
                sha[:10],
                self.workspace.worktree(self.repo, sha),
                argv=self.command,
                revision=sha,
                source=self.repo,
                where=self.where,
            )
            for label, sha in (("base", good), ("head", candidate))
        )
        target = build_target(
            self.scenario,
            base,
            head,
            threshold=self.threshold,
            overrides=self.overrides,
            workspace=self.workspace,
        )
        policy = Policy(
            alpha=self.size.alpha,
            threshold_pct=target.threshold_pct,
            looks=plan_looks(self.size.pairs, self.size.max_pairs * 2**attempt),
        )
        record = None
        if self.recorder is not None:
            record = Recording(
                self.recorder, kind="bisect-step", base_rev=good, head_rev=candidate, learn=False
            )
        counting = self.counting if self.focus == "instructions" else None
        comparison = compare(
            [target],
            policy,
            self.executor,
            self.progress,
            log=self.log,
            record=record,
            counting=counting,
            attribute=False,
        )
        result, self.focus = step_result(comparison.outcomes[0], self.focus)
        return result


def step_result(outcome: ScenarioOutcome, focus: str | None) -> tuple[StepResult, str | None]:
    """A bisect step from a compare outcome, reported on ``focus`` (an endpoint key) when there
    is one; the first outcome with a finding sets the focus (the bad end, in practice).
    Returns the step and the focus from now on."""
    d = outcome.decision
    if d.verdict is Verdict.BROKEN:
        return StepResult(Verdict.BROKEN, error=d.reason), focus
    a = outcome.analysis
    if focus is None and d.finding is not None:
        focus = d.finding.endpoint
    ep = a.endpoint(focus) if a is not None and focus else None
    if ep is None and a is not None:
        ep = a.total
    r = ep.result if ep is not None else None
    effect = r.delta_pct if r is not None else None
    if d.finding is not None and (focus is None or d.finding.endpoint == focus):
        effect = d.finding.effect_pct
    pairs = len(outcome.primary.pairs) if outcome.primary else 0
    step = StepResult(
        d.verdict,
        delta_pct=effect,
        ci_low_pct=r.ci_low_pct if r else None,
        ci_high_pct=r.ci_high_pct if r else None,
        p=r.p_ttest if r else None,
        pairs=pairs + len(outcome.confirmation_pairs),
    )
    return step, focus


def run_bisect(
    commits: Sequence[str],
    *,
    repo: Path,
    scenario: Scenario | None,
    command: tuple[str, ...] | None,
    executor: Executor,
    workspace: Workspace,
    size: StepSize = StepSize(),
    max_skips: int = 5,
    bad_end: ScenarioOutcome | None = None,
    subjects: Mapping[str, str] | None = None,
    detect: str | None = None,
    log: SampleLog | None = None,
    recorder: Recorder | None = None,
    progress: Progress | None = None,
    counting: Counting | None = None,
    where: str = ".",
) -> dict[str, Any]:
    """Bisect ``commits`` (good first) on one scenario or command; the bisect document.

    ``bad_end``: the compare of the two ends that found the regression (the release suite's),
    taken as the known bad end instead of comparing the ends again; its finding's endpoint is
    the one every step reports. Each step is recorded as a ``bisect-step`` run and the whole
    bisect as a ``bisect`` run carrying the document. Too many commits that fail to build raise
    ``BisectError``. ``counting``: how steps count CPU work when the bad end's regression was
    found there (a spread change wall time cannot see).
    """
    name = scenario.name if scenario else "command"
    threshold = size.threshold_pct
    if threshold is None:
        threshold = scenario.floor_pct if scenario else DEFAULT_FLOOR_PCT
    comparer = RevisionComparer(
        repo,
        scenario=scenario,
        command=command,
        executor=executor,
        workspace=workspace,
        size=size,
        log=log,
        progress=progress,
        detect=detect,
        recorder=recorder,
        counting=counting,
        where=where,
    )
    bad_result = None
    if bad_end is not None:
        bad_result, comparer.focus = step_result(bad_end, None)
    result = search.bisect(
        commits, comparer, bad_result=bad_result, max_skips=max_skips, threshold_pct=threshold
    )
    doc = bisect_json(commits, result, scenario=name, subjects=subjects)
    if recorder is not None:
        recorder.record(
            RunRecord(
                "bisect", name, base_rev=commits[0], head_rev=commits[-1], doc=doc, learn=False
            )
        )
    return doc
