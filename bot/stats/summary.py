"""Summaries of unpaired samples: medians, quartiles and the CI of a median. Pure."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Sample


@dataclass(frozen=True)
class Spread:
    """Median and spread of one quantity over the ok samples (inclusive quartiles)."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        if not values:
            return None
        if len(values) == 1:
            v = values[0]
            return cls(1, v, v, v, v, v)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), q1, q3, min(values), max(values))

    def to_json(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("n", "median", "q1", "q3", "low", "high")}


@dataclass(frozen=True)
class Summary:
    """What ``measure`` reports: TTFB, CPU, RSS and per-phase spreads, and the failures."""

    name: str
    ok: int
    failed: int
    statuses: Mapping[str, int]
    ttfb: Spread | None
    cpu: Spread | None
    rss_mb: Spread | None
    phases: Mapping[str, Spread] = field(default_factory=dict)
    detected_by: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    skipped: str | None = None
    evaluation: Spread | None = None  # eval forwards before the first training batch
    eval_forwards: int = 0  # their median count
    gc: Spread | None = None  # garbage collection before the first batch, seconds
    gc_collections: int = 0  # median collections, and of them full ones
    gc_full: int = 0

    def to_json(self) -> dict[str, Any]:
        def spread(s: Spread | None) -> dict[str, float] | None:
            return s.to_json() if s else None

        return {
            "name": self.name,
            "ok": self.ok,
            "failed": self.failed,
            "statuses": dict(self.statuses),
            "ttfb_s": spread(self.ttfb),
            "cpu_s": spread(self.cpu),
            "peak_rss_mb": spread(self.rss_mb),
            "phases": {k: v.to_json() for k, v in self.phases.items()},
            "detected_by": dict(self.detected_by),
            "errors": list(self.errors),
            "skipped": self.skipped,
            "evaluation_s": spread(self.evaluation),
            "eval_forwards": self.eval_forwards,
            "gc_s": spread(self.gc),
            "gc_collections": self.gc_collections,
            "gc_full": self.gc_full,
        }


def summarize(name: str, samples: Sequence[Sample], skipped: str | None = None) -> Summary:
    """Spreads over the ok samples; phases in order of their median time since submit."""
    ok = [s for s in samples if s.ok]
    phase_values: dict[str, list[float]] = {}
    for s in ok:
        for phase, t in s.phases.items():
            phase_values.setdefault(phase, []).append(t)
    phases = {k: Spread.of(v) for k, v in phase_values.items()}
    ordered = dict(sorted(((k, v) for k, v in phases.items() if v), key=lambda kv: kv[1].median))
    errors = tuple(dict.fromkeys(s.error for s in samples if not s.ok and s.error))
    return Summary(
        name=name,
        ok=len(ok),
        failed=len(samples) - len(ok),
        statuses=dict(Counter(s.status for s in samples)),
        ttfb=Spread.of([s.ttfb_s for s in ok if s.ttfb_s is not None]),
        cpu=Spread.of([s.cpu_s for s in ok if s.cpu_s is not None]),
        rss_mb=Spread.of([s.peak_rss_mb for s in ok if s.peak_rss_mb is not None]),
        phases=ordered,
        detected_by=dict(Counter(s.detected_by for s in ok if s.detected_by)),
        errors=errors,
        skipped=skipped,
        evaluation=Spread.of(evaluation_values(ok)),
        eval_forwards=_median_int([s.eval_forwards for s in ok]),
        gc=Spread.of([s.gc_s for s in ok if s.gc_s is not None]),
        gc_collections=_median_int([s.gc_collections for s in ok]),
        gc_full=_median_int([s.gc_full for s in ok]),
    )


def _median_int(values: Sequence[int | None]) -> int:
    """The median of the known ``values`` as a whole number; 0 where none is known."""
    known = [v for v in values if v is not None]
    return int(statistics.median(known)) if known else 0


def evaluation_values(samples: Sequence[Sample]) -> list[float]:
    """Per sample, the time from the first eval forward to the first (training) batch.

    The cost of an evaluation at step 0 (or Lightning's sanity check) that TTFB includes.
    """
    values = []
    for s in samples:
        start, end = s.phases.get("first_eval_forward"), s.phases.get("first_batch")
        if start is not None and end is not None and start < end:
            values.append(end - start)
    return values


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """0-based ranks of the distribution-free CI of the median of n sorted values: the widest
    order statistics j < k with P(j < rank of the median ≤ k) ≥ confidence (binomial)."""
    if n < 3:
        return 0, n - 1
    tail = (1 - confidence) / 2
    from scipy.stats import binom  # imported on first use, like bot.stats.paired's

    j = int(binom.ppf(tail, n, 0.5))  # P(B ≤ j) ≥ tail
    if binom.cdf(j, n, 0.5) > tail:
        j -= 1
    j = max(j, 0)
    return j, min(n - 1 - j, n - 1)
