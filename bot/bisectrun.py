"""Bisect steps as real A/B runs: worktrees per commit, the PR engine, its verdict rules."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import arms, compare, git
from .bisect import StepResult
from .errors import ConfigError
from .results import SampleLog
from .runner import plan_looks
from .sample import Executor
from .scenarios import Scenario
from .verdict import Policy


@dataclass(frozen=True)
class Plan:
    """How big each step is: pairs at the first look and at the last (×2 per retry)."""

    pairs: int = 10
    max_pairs: int = 20
    alpha: float = 0.01
    threshold_pct: float | None = None


class RevisionComparer:
    """``compare(good, candidate, attempt)`` for ``bot.bisect``, on real processes.

    One worktree per commit, made on first use and kept for the whole bisect (``close``).
    A candidate whose scenario cannot even be prepared (its shrunk config fails validation) or
    whose samples crash is ``broken``: the search skips it.
    """

    def __init__(
        self,
        repo: Path,
        *,
        scenario: Scenario | None,
        command: tuple[str, ...] | None,
        executor: Executor,
        plan: Plan = Plan(),
        log: SampleLog | None = None,
        progress: Any = None,
        detect: str | None = None,
        focus: str | None = None,
    ) -> None:
        if (scenario is None) == (command is None):
            raise ValueError("give a scenario or a command")
        self.repo = repo
        self.scenario = scenario
        self.command = command
        self.executor = executor
        self.plan = plan
        self.log = log
        self.progress = progress
        self.detect = detect
        # The endpoint that carried the regression at the bad end (say, one phase segment):
        # every step reports it, so a step that simply lacks the regression is clear at once
        # even when the whole-TTFB interval is too wide for the PR rules' "no change".
        self.focus: str | None = focus
        self.stack = ExitStack()
        self.trees: dict[str, Path] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="ttfb-bisect-"))
        self.stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)

    def tree(self, sha: str) -> Path:
        if sha not in self.trees:
            self.trees[sha] = self.stack.enter_context(
                git.worktree(sha, cwd=self.repo, parent=self.workdir)
            )
        return self.trees[sha]

    def __call__(self, good: str, candidate: str, attempt: int) -> StepResult:
        name = self.scenario.name if self.scenario else "command"
        jobs = []
        for label, sha in (("base", good), ("head", candidate)):
            arm = arms.Arm(label, sha[:10], self.tree(sha), argv=self.command, revision=sha)
            try:
                jobs.append(
                    arms.job_for(
                        arm, self.scenario, timeout_s=None, detect=self.detect, workdir=self.workdir
                    )
                )
            except ConfigError as exc:
                return StepResult("broken", error=f"{label} {sha[:10]}: {exc}")
        floor = self.plan.threshold_pct
        if floor is None:
            floor = self.scenario.floor_pct if self.scenario else 2.0
        policy = Policy(
            alpha=self.plan.alpha,
            threshold_pct=floor,
            looks=plan_looks(self.plan.pairs, self.plan.max_pairs * 2**attempt),
        )
        target = compare.Target(name, jobs[0], jobs[1], floor)
        (outcome,) = compare.run_compare(
            [target], policy=policy, executor=self.executor, log=self.log, progress=self.progress
        )
        return step_result(outcome, self)

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> RevisionComparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def step_result(outcome: compare.ScenarioOutcome, holder: Any) -> StepResult:
    """A bisect step from a compare outcome, reported on ``holder.focus`` when it has one.

    The first outcome with a finding sets ``holder.focus`` (the bad end, in practice).
    """
    v = outcome.verdict
    if v.verdict == "broken":
        return StepResult("broken", error=v.reason)
    a = outcome.analysis
    if holder.focus is None and v.finding is not None:
        holder.focus = v.finding.endpoint
    ep = a.endpoint(holder.focus) if a is not None and holder.focus else None
    if ep is None and a is not None:
        ep = a.total
    r = ep.result if ep is not None else None
    effect = r.delta_pct if r is not None else None
    if v.finding is not None and (holder.focus is None or v.finding.endpoint == holder.focus):
        effect = v.finding.effect_pct
    pairs = len(outcome.primary.pairs) if outcome.primary else 0
    return StepResult(
        v.verdict,
        delta_pct=effect,
        ci_low_pct=r.ci_low_pct if r else None,
        ci_high_pct=r.ci_high_pct if r else None,
        p=r.p_ttest if r else None,
        pairs=pairs + len(outcome.confirmation_pairs),
    )
