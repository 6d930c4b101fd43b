"""The A/B engine's one entry point: ``compare(targets, policy, executor, progress)``.

Every caller goes through it: ``ttfb compare``, ``ttfb gh run``, the release suite, bisect
steps, the demo and calibration's simulations. Order of work, so the corrections are exact:

1. every target's primary schedule (``schedule.run_primary``), sampling with Bonferroni across
   targets as its stopping proxy;
2. Holm across targets on each one's smallest adjusted p (the final correction; the estimates
   are reused, not recomputed);
3. a confirmation run (fresh pairs, BAAB order) for each target with a finding;
4. the decisions (``bot.stats.verdict.decide``), each recorded as it is made.

With a ``counting`` counter, each target's CPU work to the end of start-up is counted
(``bot.ab.counting``), bounded by a cap and never beside timed samples: after the first
undecided timed look at which the planned count fits (unchanged counts then let the schedule
stop at a look with nothing moved), else once the decision is known, unless wall time
confirmed a finding (the count would add nothing). A confirmed finding on the counts decides
where wall time cannot. A finding also gets attribution samples under ``-X importtime``
(``bot.ab.attribution``; ``attribute=True``: every target), and a confirmed one profiling
samples under a sampling profiler (``bot.ab.profiling``: which function the time went to).

The time budget is shared: each target may use the remaining budget divided by the number of
targets still to run: at most half of it for counting, 60% for the primary schedule and the
rest for confirmation. A target always gets its first look (a verdict needs it) and says so
when that look alone will pass its share; attribution and profiling samples run only when
they fit what is left, and say so when they do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..model import Executor, Pair, Progress, Verdict
from ..stats import paired
from ..stats.verdict import Analysis, Confirmation, Decision, Policy, confirm, decide, with_family
from ..store.versioned import SampleLog
from . import attribution, profiling
from .counting import Counting, TargetCounts, WorkRun
from .schedule import (
    ABRun,
    Scheduler,
    confirmation_size,
    planned_s,
    run_confirmation,
    run_primary,
)
from .targets import Target

PRIMARY_SHARE = 0.6
COUNT_SHARE = 0.5  # of a target's share, at most, for its instruction counts


@dataclass(frozen=True)
class ScenarioOutcome:
    """One target's comparison: its decision and everything it was decided from."""

    target: Target
    decision: Decision
    primary: ABRun | None
    analysis: Analysis | None
    confirmation_pairs: tuple[Pair, ...] = ()
    confirmation_note: str = ""
    work: WorkRun | None = None  # instruction counts, when counted
    attribution: Mapping[str, Any] | None = None  # which imports changed, when attributed
    profile: Mapping[str, Any] | None = None  # which functions' time changed, when profiled

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    @property
    def name(self) -> str:
        return self.target.name


@dataclass(frozen=True)
class Comparison:
    """What ``compare`` returns: an outcome per target, in the targets' order."""

    outcomes: tuple[ScenarioOutcome, ...]
    policy: Policy
    elapsed_s: float

    def outcome(self, name: str) -> ScenarioOutcome:
        return next(o for o in self.outcomes if o.name == name)


Record = Callable[[ScenarioOutcome, Policy], None]  # the outcome and the policy it was decided by
"""Called with each outcome as it is decided (``bot.ab.record`` writes it to the history)."""


def policy_for(policy: Policy, target: Target) -> Policy:
    return replace(policy, threshold_pct=target.threshold_pct, threshold_note=target.threshold_note)


class _Deadlines:
    """The shared time budget (see the module docstring)."""

    def __init__(self, budget_s: float | None) -> None:
        self.end = time.monotonic() + budget_s if budget_s else None

    def share(self, left: int, fraction: float = 1.0) -> float | None:
        if self.end is None:
            return None
        now = time.monotonic()
        return now + fraction * (self.end - now) / max(1, left)


def compare(
    targets: Sequence[Target],
    policy: Policy,
    executor: Executor,
    progress: Progress | None = None,
    *,
    budget_s: float | None = None,
    family_size: int | None = None,
    log: SampleLog | None = None,
    record: Record | None = None,
    counting: Counting | None = None,
    attribute: bool | None = None,
    profile: profiling.Profiling | None = None,
) -> Comparison:
    """Compare every target's base and head (see the module docstring).

    ``family_size`` is the number of targets compared in the whole run when this process does
    only some of them (one CI job per scenario): the correction across targets is then
    Bonferroni over that many, since the other targets' p-values live in other jobs.
    """
    started = time.monotonic()
    deadlines = _Deadlines(budget_s)
    active = [t for t in targets if t.runnable and not t.skipped and not t.broken]
    family = max(1, len(active), family_size or 0)
    schedulers = {
        t.name: Scheduler(
            t.base, t.head, executor=executor, log=log, progress=progress, name=t.name
        )
        for t in active
        if t.base is not None and t.head is not None
    }
    primaries: dict[str, ABRun] = {}
    counts = TargetCounts(counting, progress) if counting is not None else None
    for i, t in enumerate(active):
        primaries[t.name] = run_primary(
            schedulers[t.name],
            policy_for(policy, t),
            family_factor=family,
            deadline=deadlines.share(len(active) - i, PRIMARY_SHARE),
            between_looks=counts.between_looks(t, deadlines.share(len(active) - i, COUNT_SHARE))
            if counts is not None
            else None,
        )
    finals = final_analyses(active, primaries, policy, family=family)
    with_findings = [t.name for t in active if (a := finals.get(t.name)) and a.finding]
    outcomes = []
    for t in targets:
        if t.name in primaries:
            left = (
                len(with_findings) - with_findings.index(t.name) if t.name in with_findings else 1
            )
            outcome = _finish(
                t,
                primaries[t.name],
                finals.get(t.name),
                schedulers[t.name],
                policy_for(policy, t),
                deadline=deadlines.share(left),
                progress=progress,
            )
            work = (
                counts.after_decision(
                    t,
                    primaries[t.name],
                    confirmed=outcome.verdict.moved and bool(outcome.decision.confirmed),
                    deadline=deadlines.share(1, COUNT_SHARE),
                )
                if counts is not None
                else None
            )
            if work is not None:
                outcome = _with_work(outcome, work, policy_for(policy, t))
            outcome = _attributed(outcome, executor, attribute, progress, deadlines.share(1))
            outcome = _profiled(outcome, executor, profile, progress, deadlines.share(1))
        else:
            outcome = _not_run(t, policy)
        if record is not None:
            record(outcome, policy_for(policy, t))
        outcomes.append(outcome)
    return Comparison(tuple(outcomes), policy, time.monotonic() - started)


def final_analyses(
    active: Sequence[Target], primaries: Mapping[str, ABRun], policy: Policy, *, family: int
) -> dict[str, Analysis]:
    """Each target's last look, judged with its final family factor: Holm across the targets
    here, or Bonferroni over ``family`` when other jobs hold the rest of the family."""
    done = {t.name: a for t in active if (a := primaries[t.name].analysis) is not None}
    if family > len(active):
        return {
            t.name: with_family(done[t.name], policy_for(policy, t), family)
            for t in active
            if t.name in done
        }
    names = [n for n, a in done.items() if a.min_p is not None]
    raw = [done[n].min_p or 0.0 for n in names]
    adjusted = dict(zip(names, paired.holm(raw), strict=True))
    finals = {}
    for t in active:
        if t.name not in done:
            continue
        factor = 1.0
        if t.name in adjusted:
            p = done[t.name].min_p or 0.0
            factor = adjusted[t.name] / p if p > 0 else float(len(names))
        finals[t.name] = with_family(done[t.name], policy_for(policy, t), max(1.0, factor))
    return finals


def _not_run(target: Target, policy: Policy) -> ScenarioOutcome:
    p = policy_for(policy, target)
    if target.skipped:
        return ScenarioOutcome(target, decide(None, policy=p, skipped=target.skipped), None, None)
    why = target.broken or "the arms could not be prepared"
    return ScenarioOutcome(target, decide(None, policy=p, broken=why), None, None)


def _finish(
    target: Target,
    primary: ABRun,
    analysis: Analysis | None,
    scheduler: Scheduler,
    policy: Policy,
    *,
    deadline: float | None,
    progress: Progress | None,
) -> ScenarioOutcome:
    """The confirmation run of a finding, and the decision."""
    if primary.broken:
        decision = decide(None, policy=policy, broken=primary.broken)
        return ScenarioOutcome(target, decision, primary, None)
    if analysis is None:
        decision = Decision(Verdict.INCONCLUSIVE, f"no pairs measured ({primary.stop_reason})")
        return ScenarioOutcome(target, decision, primary, None)
    if analysis.finding is None:
        return ScenarioOutcome(target, decide(analysis, policy=policy), primary, analysis)
    size = confirmation_size(primary.pairs)
    if progress:  # a confirmation can take minutes: say so before it starts
        progress(f"{target.name}: confirming with {size} fresh pairs, BAAB order")
    pairs, broken, note = run_confirmation(scheduler, size, deadline=deadline)
    if broken:
        decision = decide(None, policy=policy, broken=f"{broken} (confirmation run)")
        return ScenarioOutcome(target, decision, primary, analysis, pairs, note)
    conf: Confirmation | None = (
        confirm(analysis.finding, pairs, policy) if len(pairs) >= 4 else None
    )
    if progress:
        state = "confirmed" if conf and conf.reproduced else "not reproduced"
        progress(f"{target.name}: confirmation, {note} → {state}")
    decision = decide(analysis, policy=policy, confirmation=conf)
    return ScenarioOutcome(target, decision, primary, analysis, pairs, note)


def _with_work(outcome: ScenarioOutcome, run: WorkRun, policy: Policy) -> ScenarioOutcome:
    """The outcome decided again with the CPU-work endpoint (a broken one stays broken)."""
    if outcome.verdict in (Verdict.BROKEN, Verdict.SKIPPED) or outcome.analysis is None:
        return replace(outcome, work=run)
    confirmation = outcome.decision.confirmation
    if outcome.decision.finding is not None and outcome.decision.finding.kind == "instructions":
        confirmation = None
    decision = decide(outcome.analysis, policy=policy, confirmation=confirmation, work=run.work)
    return replace(outcome, decision=decision, work=run)  # its note travels with the work


def _attributed(
    outcome: ScenarioOutcome,
    executor: Executor,
    wanted: bool | None,
    progress: Progress | None,
    deadline: float | None,
) -> ScenarioOutcome:
    """Attribution samples for a finding (``wanted`` None) or for every scenario (True), when
    they fit before ``deadline``."""
    t = outcome.target
    if wanted is False or t.base is None or t.head is None or outcome.verdict is Verdict.BROKEN:
        return outcome
    if not executor.attributes_imports:
        return outcome
    if wanted is None and outcome.decision.finding is None:
        return outcome
    runs = attribution.DEFAULT_RUNS
    planned = planned_s(outcome.primary, runs, attribution.SLOWDOWN)
    if deadline is not None and planned is not None and time.monotonic() + planned > deadline:
        left = max(0.0, deadline - time.monotonic())
        why = f"{runs}+{runs} samples would take ~{planned:.0f} s, {left:.0f} s of the budget left"
        if progress:
            progress(f"{t.name}: imports not attributed: {why}")
        return replace(outcome, attribution={"skipped": why})
    doc = attribution.attribute(t.base, t.head, executor, name=t.name, runs=runs, progress=progress)
    return replace(outcome, attribution=doc)


def _profiled(
    outcome: ScenarioOutcome,
    executor: Executor,
    choice: profiling.Profiling | None,
    progress: Progress | None,
    deadline: float | None,
) -> ScenarioOutcome:
    """A differential profile for a confirmed finding, or as ``choice`` and the scenario say."""
    if choice is None or not profiling.wants(outcome.target, outcome.verdict, choice):
        return outcome
    doc = profiling.profile_outcome(
        outcome.target, outcome.primary, executor, choice, progress, deadline=deadline
    )
    return replace(outcome, profile=doc)
