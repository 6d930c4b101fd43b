"""CPU work to the end of start-up for one target: instruction counts of both arms, bounded.

A count covers start-up, where spread regressions live (imports, hooks, config, framework
start-up): it ends at the first forward of any kind, a loader's first batch or the first-batch
mark (the probe's ``startup`` mode), not at the first *training* forward. Tensor arithmetic runs
hundreds of times slower under valgrind, and an evaluation before training is large in wall
time, where it is visible anyway. A scenario may ask for ``instructions_until: first_batch``.

Every count is bounded, and nothing waits silently:

- the **cap** is ``--count-cap-s``, else as long as the timed samples taken so far (so that
  counting is at most half of a compare), and never more than five minutes per scenario;
- a count is **planned** before it starts: ``slowdown × start-up time`` (from the timed
  samples). One that would not fit is not started, and the report says
  "CPU work not counted: a count would take ~N min (cap M min)"; the first counts measure the
  real slowdown, and a confirmation is planned from that;
- a count that runs past the cap is stopped, and the scenario goes on with wall time;
- while counts run, a progress line every ``TICK_S`` says how long they have run and are
  expected to.

Counts are deterministic, so they do not care what runs beside them (wall-time samples do):
the two arms' counts run **concurrently**, one per core (``--count-jobs``), and never while
timed samples run. One count per arm decides (they repeat to thousandths of a percent); a
finding is confirmed by one fresh count per arm, again side by side. A confirmation that does
not fit what is left of the cap between looks is tried again once the decision is known,
under the cap that all the timed samples allow by then.

A counting sample that fails is a note, not a broken scenario: the wall-time path carries on
without this endpoint. A ``Counter`` is anything with ``count(job) -> Count``, ``name``,
``settings`` and ``slowdown`` (``bot.model``); ``--fake`` runs use scripted counts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import UsageError
from ..model import (
    COUNT_CAP_S,
    Counter,
    CounterBackend,
    CountingMode,
    CountUntil,
    Executor,
    Job,
    Pair,
    Progress,
    Sample,
)
from ..scenarios import Scenario
from ..stats.instructions import DEFAULT_THRESHOLD_PCT, Work
from .count_batch import Batch, minutes
from .schedule import ABRun, BetweenLooks, WorkState
from .targets import Target

DEFAULT_CAP_S = COUNT_CAP_S  # the most counting a scenario gets unless --count-cap-s says so
STARTUP_PHASES = ("first_eval_forward", "first_forward", "first_dataloader_batch", "first_batch")
COVERS = {
    "first_forward": "CPU work from start to the first forward",
    "first_batch": "CPU work from start to the first batch",
}


@dataclass(frozen=True)
class Counting:
    """How a comparison counts instructions: the counter, counts per arm, the threshold, the
    cap (None: the first look's sampling time, at most ``DEFAULT_CAP_S``) and how many counts
    run at once (0: one per core)."""

    counter: Counter
    runs: int = 1
    threshold_pct: float = DEFAULT_THRESHOLD_PCT
    cap_s: float | None = None
    jobs: int = 0
    always: bool = False  # ``on`` was asked for: count even where wall time already decided


@dataclass(frozen=True)
class CountingChoice:
    """The counter a run uses (None: wall time only) and the line that says which and why,
    shown once the arms are prepared, after any bad input has stopped the run."""

    counting: Counting | None = None
    line: str = ""


@dataclass(frozen=True)
class WorkRun:
    """What counting produced for one target: the judged counts, or why there are none; how
    many counting samples ran and the wall time they took; what a count covered."""

    work: Work | None
    note: str = ""
    counts: int = 0
    seconds: float = 0.0
    covers: str = ""
    confirm_s: float = 0.0  # a finding's confirming counts did not fit yet: what they need


def counted_job(job: Job, until: CountUntil) -> Job:
    """The job a count runs: to the end of start-up, unless the scenario counts to its first
    batch, or its first batch is a named milestone (``mark:NAME``)."""
    if until == "first_batch" or job.detect.startswith("mark:"):
        return job
    return replace(job, detect="startup")


def startup_seconds(samples: Sequence[Sample]) -> float | None:
    """Median time from submit to the end of start-up in the ok samples (the earliest of an
    evaluation forward, the first forward, a loader's first batch, the first batch)."""
    ends = [
        min(s.phases[p] for p in STARTUP_PHASES if p in s.phases)
        for s in samples
        if s.ok and any(p in s.phases for p in STARTUP_PHASES)
    ]
    return statistics.median(ends) if ends else None


def cap_seconds(counting: Counting, sampled_s: float, deadline: float | None) -> float:
    """How long this target's counting may take (see the module docstring)."""
    cap = counting.cap_s if counting.cap_s is not None else min(sampled_s, DEFAULT_CAP_S)
    if deadline is not None:
        cap = min(cap, max(0.0, deadline - time.monotonic()))
    return cap


def _result(batch: Batch, work: Work | None, note: str, started: float, covers: str) -> WorkRun:
    return WorkRun(work, note, batch.done, time.monotonic() - started, covers)


def count_work(
    counting: Counting,
    base: Job,
    head: Job,
    *,
    name: str,
    cap_s: float,
    startup_s: float | None,
    until: CountUntil = "first_forward",
    threshold_pct: float | None = None,
    progress: Progress | None = None,
) -> WorkRun:
    """Count both arms side by side, judge, and confirm a finding with one more count per
    arm, all within ``cap_s`` (see the module docstring)."""
    covers = COVERS["first_batch" if until == "first_batch" else "first_forward"]
    jobs = {"base": counted_job(base, until), "head": counted_job(head, until)}
    counter = counting.counter
    expected = counter.slowdown * startup_s if startup_s else None
    if expected is not None and expected > cap_s:
        why = f"a count would take ~{minutes(expected)} (cap {minutes(cap_s)})"
        return WorkRun(None, f"CPU work not counted: {why}", covers=covers)
    started = time.monotonic()
    runs = max(1, counting.runs)
    order = [
        arm for i in range(runs) for arm in (("base", "head") if i % 2 == 0 else ("head", "base"))
    ]
    if progress:
        progress(
            f"{name}: counting {covers}, {runs}+{runs} run(s) under {counter.name}, "
            f"side by side; expected ~{minutes(expected) if expected else '?'} "
            f"(cap {minutes(cap_s)})"
        )
    batch = Batch(counter, jobs, counting.jobs, name=name, progress=progress)
    got, failed = batch.run(order, cap_s, expected)
    if failed:
        return _result(batch, None, f"CPU work not counted: {failed}", started, covers)
    work = Work(
        tuple(got["base"]),
        tuple(got["head"]),
        threshold_pct if threshold_pct is not None else counting.threshold_pct,
        counter.name,
        counter.settings,
        covers=covers,
    )
    if work.direction:
        return _confirmed(batch, work, cap_s - (time.monotonic() - started), started, covers)
    if progress:
        progress(f"{name}: {work.summary()} ({minutes(time.monotonic() - started)})")
    return _result(batch, work, "", started, covers)


def _confirmed(batch: Batch, work: Work, left: float, started: float, covers: str) -> WorkRun:
    """A finding on the counts, confirmed by one fresh count per arm when that fits what is
    left of the cap (planned from the longest count so far); else marked pending
    (``confirm_s``), to be tried again once the decision is known and more timed samples have
    raised the cap."""
    needed = batch.longest
    if needed > left:
        note = (
            f"{work.summary()}; not confirmed: confirming counts would take "
            f"~{minutes(needed)} (cap left {minutes(max(left, 0.0))})"
        )
        if batch.progress:
            batch.progress(f"{batch.name}: {note}")
        return replace(_result(batch, work, note, started, covers), confirm_s=needed)
    if batch.progress:
        batch.progress(f"{batch.name}: {work.summary()}; confirming with one more count per arm")
    more, failed = batch.run(["head", "base"], left, needed)
    if failed:
        return _result(batch, work, f"confirming count failed: {failed}", started, covers)
    work = replace(work, confirm_base=more["base"][0], confirm_head=more["head"][0])
    if batch.progress:
        spent = minutes(time.monotonic() - started)
        batch.progress(f"{batch.name}: {work.summary()} ({spent})")
    return _result(batch, work, "", started, covers)


def work_state(run: WorkRun) -> WorkState:
    """What a target's counts say, for the schedule (``bot.ab.schedule.WorkState``)."""
    if run.work is not None and run.work.unchanged:
        return "unchanged"
    if run.work is not None and run.work.direction and run.work.confirmed:
        return "moved"
    return "other"


def confirm_later(
    counting: Counting,
    base: Job,
    head: Job,
    run: WorkRun,
    *,
    name: str,
    cap_s: float,
    until: CountUntil = "first_forward",
    progress: Progress | None = None,
) -> WorkRun:
    """The pending confirmation of ``run`` (counted between looks), now that the cap is
    ``cap_s`` for all of the target's counting: the counts already made keep their time."""
    assert run.work is not None
    jobs = {"base": counted_job(base, until), "head": counted_job(head, until)}
    batch = Batch(counting.counter, jobs, counting.jobs, name=name, progress=progress)
    batch.longest = run.confirm_s
    started = time.monotonic()
    done = _confirmed(batch, run.work, cap_s - run.seconds, started, run.covers)
    return replace(done, counts=run.counts + done.counts, seconds=run.seconds + done.seconds)


class TargetCounts:
    """When each target of one compare is counted (see the module docstring and
    ``bot.ab.engine``): after the first undecided timed look at which the planned count fits
    the time sampled so far, else once its decision is known, unless that is a confirmed
    wall-time finding (the count would add nothing to the verdict)."""

    def __init__(self, counting: Counting, progress: Progress | None) -> None:
        self.counting = counting
        self.progress = progress
        self.works: dict[str, WorkRun] = {}

    def wanted(self, t: Target) -> bool:
        return t.instructions != "off" and t.base is not None and t.head is not None

    def between_looks(self, t: Target, deadline: float | None) -> BetweenLooks | None:
        """The ``run_primary`` hook that counts ``t`` after an undecided look, once the planned
        count fits the time sampled so far (or the explicit cap)."""
        if not self.wanted(t):
            return None

        def count(pairs: Sequence[Pair], sampled_s: float) -> WorkState | None:
            samples = [s for p in pairs for s in (p.base, p.head)]
            run = self.works.get(t.name)
            if run is None:
                if self._later(t, samples, sampled_s, deadline):
                    return None
                run = self._count(t, sampled_s, samples, deadline)
            elif run.confirm_s:  # a finding's confirmation, now under a larger cap
                assert t.base is not None and t.head is not None
                cap = cap_seconds(self.counting, sampled_s, deadline)
                run = confirm_later(
                    self.counting, t.base, t.head, run, name=t.name, cap_s=cap,
                    until=t.instructions_until, progress=self.progress,
                )  # fmt: skip
            self.works[t.name] = run
            return None if run.confirm_s else work_state(run)

        return count

    def _later(
        self, t: Target, samples: Sequence[Sample], sampled_s: float, deadline: float | None
    ) -> bool:
        """Whether to wait for more sampled time: the planned count does not fit the cap now,
        but would fit a cap that more timed samples can still raise."""
        if self.counting.cap_s is not None or sampled_s >= DEFAULT_CAP_S:
            return False
        start = startup_seconds(samples)
        expected = self.counting.counter.slowdown * start if start else 0.0
        return expected > cap_seconds(self.counting, sampled_s, deadline)

    def after_decision(
        self, t: Target, primary: ABRun, confirmed: bool, deadline: float | None
    ) -> WorkRun | None:
        """``t``'s counts: made between its looks, or now, or None when not wanted or when
        an arm is broken (a count of a command that crashes says nothing the verdict does not,
        and its failure would read as the count's); a confirmed wall-time finding is not
        counted (unless ``on``), and says so."""
        if not self.wanted(t) or (primary.broken and t.name not in self.works):
            return None
        if t.name not in self.works:
            if confirmed and not (self.counting.always or t.instructions == "on"):
                note = "CPU work not counted: the wall-time finding was confirmed"
                self.works[t.name] = WorkRun(None, note)
            else:
                samples = [s for p in primary.pairs for s in (p.base, p.head)]
                self.works[t.name] = self._count(t, primary.sampled_s, samples, deadline)
        elif self.works[t.name].confirm_s and t.base is not None and t.head is not None:
            self.works[t.name] = confirm_later(
                self.counting,
                t.base,
                t.head,
                self.works[t.name],
                name=t.name,
                cap_s=cap_seconds(self.counting, primary.sampled_s, deadline),
                until=t.instructions_until,
                progress=self.progress,
            )
        return self.works[t.name]

    def _count(
        self, t: Target, sampled_s: float, samples: Sequence[Sample], deadline: float | None
    ) -> WorkRun:
        assert t.base is not None and t.head is not None
        return count_work(
            self.counting,
            t.base,
            t.head,
            name=t.name,
            cap_s=cap_seconds(self.counting, sampled_s, deadline),
            startup_s=startup_seconds(samples),
            until=t.instructions_until,
            threshold_pct=t.instructions_pct,
            progress=self.progress,
        )


def resolve_counting(
    mode: CountingMode | None,
    scenarios: Sequence[Scenario | None],
    *,
    executor: Executor,
    backend: CounterBackend = "auto",
    workdir: Path,
    cap_s: float | None = None,
    jobs: int = 0,
) -> CountingChoice:
    """The counter a run uses, from ``mode`` (``--instructions``), else the scenarios' own
    settings. Without a counter, ``on`` is a usage error and ``auto`` says so, with the reason,
    and carries on with wall time."""
    modes = {mode} if mode else {s.instructions if s else "auto" for s in scenarios}
    if modes <= {"off"}:
        return CountingChoice()
    counter, why = executor.counter(backend, workdir)
    if counter is None:
        if "on" in modes:
            raise UsageError(f"--instructions on: {why}")
        return CountingChoice(
            None, f"CPU work to first batch not counted: {why}; carrying on with wall time"
        )
    counting = Counting(counter, cap_s=cap_s, jobs=jobs, always=mode == "on")
    return CountingChoice(counting, f"CPU work to the end of start-up: {why}")
