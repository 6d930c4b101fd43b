"""CPU work to first batch for one target: instruction counts of both arms, before the timed pairs.

``count_work`` runs ``runs`` counting samples per arm in ABBA order (base, head, head, base for
two), each a full job under a counter (``bot.exec.counters``: cachegrind, or ``perf stat``)
with the determinism settings. When the counts make a finding (``bot.stats.instructions``),
one fresh count per arm, in the opposite order, confirms it. A counting sample that fails is a
note, not a broken scenario: the wall-time path carries on without this endpoint.

A ``Counter`` is anything with ``count(job) -> Count``, ``name``, ``settings`` and
``slowdown``; ``--fake`` runs use the scripted executor's counts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import UsageError
from ..model import Counter, CounterBackend, CountingMode, Executor, Job, Progress
from ..scenarios import Scenario
from ..stats.instructions import DEFAULT_THRESHOLD_PCT, Work


@dataclass(frozen=True)
class Counting:
    """How a comparison counts instructions: the counter, runs per arm, the threshold."""

    counter: Counter
    runs: int = 2
    threshold_pct: float = DEFAULT_THRESHOLD_PCT


@dataclass(frozen=True)
class CountingChoice:
    """The counter a run uses (None: wall time only) and the line that says which and why,
    shown once the arms are prepared, after any bad input has stopped the run."""

    counting: Counting | None = None
    line: str = ""


@dataclass(frozen=True)
class WorkRun:
    """What counting produced for one target: the judged counts, or why there are none."""

    work: Work | None
    note: str = ""


def count_work(
    counting: Counting,
    base: Job,
    head: Job,
    *,
    name: str,
    progress: Progress | None = None,
    threshold_pct: float | None = None,
    deadline: float | None = None,
) -> WorkRun:
    """Count both arms (ABBA), judge, and confirm a finding with one more count per arm.

    ``deadline`` (``time.monotonic()``): a count that would end after it is not started, and
    the endpoint is left out with a note (the time budget covers counting too)."""
    jobs = {"base": replace(base, label="base"), "head": replace(head, label="head")}
    order = _abba(counting.runs)
    if progress:
        progress(
            f"{name}: counting instructions, {counting.runs}+{counting.runs} runs under "
            f"{counting.counter.name} (≈{counting.counter.slowdown:g}× slower)"
        )
    got, failed = _counts(counting.counter, jobs, order, deadline)
    if failed:
        return WorkRun(None, f"CPU work not counted: {failed}")
    work = Work(
        tuple(got["base"]),
        tuple(got["head"]),
        threshold_pct if threshold_pct is not None else counting.threshold_pct,
        counting.counter.name,
        counting.counter.settings,
    )
    if work.direction:
        if progress:
            progress(f"{name}: {work.summary()}; confirming with one more count per arm")
        more, failed = _counts(counting.counter, jobs, ("head", "base"), deadline)
        if failed:
            return WorkRun(work, f"confirming count failed: {failed}")
        work = replace(work, confirm_base=more["base"][0], confirm_head=more["head"][0])
    if progress:
        progress(f"{name}: {work.summary()}")
    return WorkRun(work)


def _abba(runs: int) -> tuple[str, ...]:
    order: list[str] = []
    for i in range(runs):
        order.extend(("base", "head") if i % 2 == 0 else ("head", "base"))
    return tuple(order)


def _counts(
    counter: Counter, jobs: dict[str, Job], order: Sequence[str], deadline: float | None = None
) -> tuple[dict[str, list[int]], str | None]:
    got: dict[str, list[int]] = {"base": [], "head": []}
    last = 0.0
    for arm in order:
        if deadline is not None and time.monotonic() + last > deadline:
            return got, "the time budget would be spent before the next count"
        started = time.monotonic()
        count = counter.count(jobs[arm])
        last = time.monotonic() - started
        if count.status != "ok" or count.instructions is None:
            detail = f": {count.error}" if count.error else ""
            return got, f"{arm} counting sample {count.status}{detail}"
        got[arm].append(int(count.instructions))
    return got, None


def resolve_counting(
    mode: CountingMode | None,
    scenarios: Sequence[Scenario | None],
    *,
    executor: Executor,
    backend: CounterBackend = "auto",
    workdir: Path,
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
    return CountingChoice(Counting(counter), f"CPU work to first batch: {why}")
