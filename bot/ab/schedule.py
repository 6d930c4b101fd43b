"""The A/B schedule: warm-up, balanced ABBA blocks, adaptive looks, confirmation.

For one scenario with base and head jobs:

1. one discarded warm-up sample per arm (page cache, lazy imports of the filesystem);
2. blocks of four samples in ABBA order (BAAB for the confirmation run), each block giving two
   pairs, so a linear drift of the machine cancels within the block;
3. a look at each planned pair count (``Policy.looks``, e.g. 10, 20, 40, 80): stop early when
   the look is decisive (``bot.stats.verdict``), otherwise keep going until the last look,
   ``--max-pairs`` or the time budget, whichever comes first;
4. any sample that is not ``ok`` in either arm stops the scenario at once as broken.

The stopping rule is fixed in advance and every look spends only its share of alpha
(``bot.stats.sequential``), so looking early does not raise the false-positive rate.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..model import Executor, Job, Pair, Progress, Sample
from ..stats.verdict import Analysis, Policy, analyze, moved_segments
from ..store.versioned import SampleLog


@dataclass(frozen=True)
class ABRun:
    """What one primary (or confirmation) schedule produced."""

    pairs: tuple[Pair, ...]
    analysis: Analysis | None
    stop_reason: str
    broken: str | None = None
    warmups: tuple[Sample, ...] = ()
    elapsed_s: float = 0.0
    looks_done: tuple[int, ...] = field(default_factory=tuple)
    sampled_s: float = 0.0  # wall time of the samples taken (warm-up included)


def _failure(sample: Sample, arm: str) -> str:
    detail = f": {sample.error}" if sample.error else ""
    return f"{arm} sample {sample.status}{detail}"


class Scheduler:
    """Runs blocks of samples for one scenario and logs each sample as it finishes."""

    def __init__(
        self,
        base: Job,
        head: Job,
        *,
        executor: Executor,
        log: SampleLog | None = None,
        progress: Progress | None = None,
        name: str = "",
    ) -> None:
        # Jobs carry their arm, which logs and modelled executors (fake, resampling) read.
        self.base = replace(base, label="base")
        self.head = replace(head, label="head")
        self.executor = executor
        self.log = log
        self.progress = progress
        self.name = name
        self.sample_s: list[float] = []

    def _run(self, arm: str, stage: str, block: int) -> Sample:
        job = self.base if arm == "base" else self.head
        started = time.monotonic()
        sample = replace(self.executor.run(job), arm=arm)
        self.sample_s.append(time.monotonic() - started)
        if self.log:
            self.log.append(sample, scenario=self.name, stage=stage, block=block)
        return sample

    def warm_up(self) -> tuple[tuple[Sample, ...], str | None]:
        self.executor.new_block()
        warmups = []
        for arm in ("base", "head"):
            sample = self._run(arm, "warmup", -1)
            warmups.append(sample)
            if not sample.ok:
                return tuple(warmups), _failure(sample, arm) + " (warm-up)"
        return tuple(warmups), None

    def block(self, index: int, *, reverse: bool, stage: str) -> tuple[list[Pair], str | None]:
        """One ABBA (or BAAB) block: two pairs, or the failure that stopped it."""
        order = ("head", "base", "base", "head") if reverse else ("base", "head", "head", "base")
        self.executor.new_block()
        got: dict[str, list[Sample]] = {"base": [], "head": []}
        for arm in order:
            sample = self._run(arm, stage, index)
            if not sample.ok:
                return [], _failure(sample, arm)
            got[arm].append(sample)
        return [Pair(b, h, index) for b, h in zip(got["base"], got["head"], strict=True)], None

    def block_seconds(self) -> float:
        """Expected duration of the next block, from the samples so far."""
        if not self.sample_s:
            return 0.0
        recent = self.sample_s[-8:]
        return 4 * sum(recent) / len(recent)


WorkState = Literal["unchanged", "moved", "other"]
"""What counting between looks found: the CPU work unchanged, moved (a finding its confirming
counts reproduced), or anything else (not counted, failed, not reproduced)."""

BetweenLooks = Callable[[Sequence[Pair], float], WorkState | None]
"""(the pairs so far, seconds sampled so far) → what the counts say, or None while they are
not done: not counted yet, or a finding whose confirmation waits for a larger cap (asked
again after the next undecided look)."""


def run_primary(
    scheduler: Scheduler,
    policy: Policy,
    *,
    family_factor: float,
    deadline: float | None = None,
    between_looks: BetweenLooks | None = None,
) -> ABRun:
    """Warm up, then sample in ABBA blocks with a look at each planned size (see module doc).

    The time budget applies from the second look on: a scenario always gets its first.
    ``between_looks`` runs after each look that was not decisive (no samples run meanwhile),
    until the counts are done (``WorkState``). Once the CPU work is unchanged, a look without a
    finding and without a moved phase segment is decisive (``no_change``) too; once it moved
    and fresh counts reproduced that, the schedule stops: the counts decide where wall time
    cannot, and more timed pairs would not change the verdict.
    """
    started = time.monotonic()
    warmups, broken = scheduler.warm_up()
    pairs: list[Pair] = []
    analysis: Analysis | None = None
    looks_done: list[int] = []
    work: WorkState | None = None

    def done(reason: str, final: Analysis | None = None, why: str | None = None) -> ABRun:
        elapsed = time.monotonic() - started
        sampled = sum(s.wall_s for s in [*warmups, *(s for p in pairs for s in (p.base, p.head))])
        return ABRun(tuple(pairs), final, reason, why, warmups, elapsed, tuple(looks_done), sampled)

    if broken:
        return done("broken", why=broken)
    first = 2 * policy.looks[0] * sum(scheduler.sample_s) / max(1, len(scheduler.sample_s))
    if deadline is not None and scheduler.progress and time.monotonic() + first > deadline:
        left = max(0.0, deadline - time.monotonic())
        scheduler.progress(
            f"{scheduler.name}: the first look ({policy.looks[0]} pairs, ~{first:.0f} s from the "
            f"warm-up) passes this scenario's share of the time budget ({left:.0f} s left); "
            "it runs whole, as a verdict needs it"
        )
    block = 0
    for look, target in enumerate(policy.looks):
        while len(pairs) < target:
            late = deadline is not None and time.monotonic() + scheduler.block_seconds() > deadline
            if looks_done and late:
                final = analysis if analysis and analysis.n == len(pairs) else None
                if final is None and pairs:
                    final = analyze(pairs, policy, look=look, family_factor=family_factor)
                return done(f"time budget spent after {len(pairs)} pairs", final)
            new, broken = scheduler.block(block, reverse=False, stage="primary")
            block += 1
            if broken:
                return done("broken", why=broken)
            pairs.extend(new)
        analysis = analyze(pairs, policy, look=look, family_factor=family_factor)
        looks_done.append(len(pairs))
        if scheduler.progress:
            scheduler.progress(_look_line(scheduler.name, analysis))
        where = f"at look {look + 1} of {len(policy.looks)}"
        if analysis.decisive:
            return done(f"decisive ({analysis.decisive}) {where}", analysis)
        if work is None and between_looks is not None:
            # the samples' own time: what counting's share is measured against
            sampled = [*warmups, *(s for p in pairs for s in (p.base, p.head))]
            work = between_looks(tuple(pairs), sum(s.wall_s for s in sampled))
        if work == "unchanged" and analysis.finding is None and not moved_segments(analysis):
            return done(f"decisive (CPU work unchanged, no phase moved) {where}", analysis)
        if work == "moved":
            return done(f"decisive (CPU work moved, confirmed by fresh counts) {where}", analysis)
    return done("last planned look reached", analysis)


def run_confirmation(
    scheduler: Scheduler, pairs: int, *, deadline: float | None = None
) -> tuple[tuple[Pair, ...], str | None, str]:
    """A fresh, independent batch of ``pairs`` pairs in BAAB order (the opposite block order).

    Returns (pairs, broken reason or None, note on how it ended).
    """
    got: list[Pair] = []
    block = 1000  # block numbers of the confirmation stage
    while len(got) < pairs:
        if deadline is not None and time.monotonic() + scheduler.block_seconds() > deadline:
            return tuple(got), None, f"time budget spent after {len(got)} of {pairs} pairs"
        new, broken = scheduler.block(block, reverse=True, stage="confirm")
        block += 1
        if broken:
            return tuple(got), broken, "broken"
        got.extend(new)
    return tuple(got), None, f"{len(got)} pairs"


def _look_line(name: str, a: Analysis) -> str:
    t = a.total.result
    state = a.decisive or "continue"
    return (
        f"{name}: {a.n} pairs  Δ {t.delta_pct:+.1f}% "
        f"(95% CI {t.ci_low_pct:+.1f}% to {t.ci_high_pct:+.1f}%)  → {state}"
    )


def planned_s(primary: ABRun | None, runs: int, slowdown: float) -> float | None:
    """What ``runs`` extra samples per arm (attribution, profiling) should take: the timed
    samples' median wall time times ``slowdown``, the cost of what they run under."""
    walls = [s.wall_s for p in (primary.pairs if primary else ()) for s in (p.base, p.head)]
    return 2 * runs * statistics.median(walls) * slowdown if walls else None


def confirmation_size(primary_pairs: Sequence[Pair], minimum: int = 10) -> int:
    """As many pairs as established the finding, at least ``minimum``, rounded up to even."""
    n = max(minimum, len(primary_pairs))
    return n + n % 2
