"""Trend points: one per run of a scenario on a runner, from the run's stored samples. Pure.

A run's point describes the revision it tested: the ``head`` arm of a compare (``compare``,
``demo``, ``release``), both arms of an A/A ``calibrate`` run (the same revision), the single
arm of a ``measure``. Its value is the median wall TTFB of those ok samples, with the
distribution-free 95% CI of that median (order statistics, ``median_ci_ranks``); the base arm's
median of a compare is kept too. Phases are the median time since submit at which each phase
was reached; the bands between consecutive phases are what the stacked chart draws. Where a
compare counted instructions, the point carries the head arm's median count. Bisect steps are
not trend points: they measure commits of a release range in search order.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..stats.summary import median_ci_ranks

TREND_KINDS = ("measure", "calibrate", "compare", "demo", "release")
COMPARE_KINDS = ("compare", "demo", "release")
FIRST_BATCH = "first_batch"


def tested_arms(kind: str) -> tuple[str, ...]:
    """The arms whose samples measured the revision a run is about."""
    if kind == "calibrate":
        return ("base", "head")
    if kind in COMPARE_KINDS:
        return ("head",)
    return ("",)


@cache
def _ci_ranks(n: int) -> tuple[int, int]:
    return median_ci_ranks(n)


@dataclass(frozen=True)
class Point:
    """One run of one scenario, as the scenario page shows it."""

    run_id: int
    uid: str
    kind: str
    created: str
    rev: str | None
    base_rev: str | None
    n: int = 0
    median_s: float | None = None
    ci_low_s: float | None = None
    ci_high_s: float | None = None
    base_median_s: float | None = None
    cpu_s: float | None = None
    instructions: float | None = None  # the head arm's median count, where counted
    phase_at: Mapping[str, float] = field(default_factory=dict)
    verdict: str | None = None
    delta_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    pairs: int | None = None
    report: str | None = None  # the id of the report page of its comparison


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def head_instructions(work: Any) -> float | None:
    """The median of the head arm's counts in a run's ``work`` (``store.scan.runs``); None
    where there are none, or they are not counts (the history is data from other jobs)."""
    head = work.get("head") if isinstance(work, Mapping) else None
    if not isinstance(head, list):
        return None
    counts = [
        float(c)
        for c in head
        if isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) and c > 0
    ]
    return _median(counts) if counts and len(counts) == len(head) else None


def point(run: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]) -> Point:
    """The point of ``run`` (a row of ``store.scan.runs``) from its samples."""
    arms = tested_arms(run["kind"])
    tested = [
        s
        for s in samples
        if s["arm"] in arms and s["status"] == "ok" and s["stage"] != "warmup" and s["ttfb_s"]
    ]
    ttfb = sorted(float(s["ttfb_s"]) for s in tested)
    n = len(ttfb)
    lo, hi = _ci_ranks(n) if n else (0, 0)
    base = [
        float(s["ttfb_s"])
        for s in samples
        if run["kind"] in COMPARE_KINDS and s["arm"] == "base" and s["status"] == "ok"
        if s["ttfb_s"]
    ]
    at: dict[str, list[float]] = {}
    for s in tested:
        for name, t in s["phases"].items():
            if isinstance(t, int | float) and math.isfinite(t):
                at.setdefault(str(name), []).append(float(t))
    return Point(
        run_id=int(run["id"]),
        uid=str(run["uid"]),
        kind=str(run["kind"]),
        created=str(run["created"]),
        rev=run["head_rev"],
        base_rev=run["base_rev"] if run["kind"] in COMPARE_KINDS else None,
        n=n,
        median_s=_median(ttfb),
        ci_low_s=ttfb[lo] if n else None,
        ci_high_s=ttfb[hi] if n else None,
        base_median_s=_median(base),
        cpu_s=_median([float(s["cpu_s"]) for s in tested if s["cpu_s"]]),
        instructions=head_instructions(run.get("work")),
        phase_at={k: float(statistics.median(v)) for k, v in at.items()},
        verdict=run.get("verdict"),
        delta_pct=run.get("delta_pct"),
        ci_low_pct=run.get("ci_low_pct"),
        ci_high_pct=run.get("ci_high_pct"),
        pairs=run.get("pairs"),
    )


def phase_order(points: Iterable[Point]) -> tuple[str, ...]:
    """The phases up to the first batch, in the order runs reach them (median over runs)."""
    at: dict[str, list[float]] = {}
    for p in points:
        for name, t in p.phase_at.items():
            at.setdefault(name, []).append(t)
    medians = {k: statistics.median(v) for k, v in at.items()}
    end = medians.get(FIRST_BATCH, math.inf)
    return tuple(
        sorted(
            (k for k, m in medians.items() if m <= end),
            key=lambda k: (medians[k], k == FIRST_BATCH, k),
        )
    )


def segments(p: Point, phases: Sequence[str]) -> list[float | None]:
    """The bands of ``p``: from the previous phase it reached (or submit) to each phase."""
    out: list[float | None] = []
    previous = 0.0
    for name in phases:
        t = p.phase_at.get(name)
        if t is None:
            out.append(None)
            continue
        out.append(max(0.0, t - previous))
        previous = max(previous, t)
    return out


@dataclass(frozen=True)
class Series:
    """Every trend point of one scenario on one runner, in the order the runs were made."""

    scenario: str
    runner: str
    points: tuple[Point, ...]
    phases: tuple[str, ...]

    @property
    def key(self) -> str:
        """A file name for this series: readable, and unique whatever the names hold."""
        digest = hashlib.sha256(f"{self.scenario}\0{self.runner}".encode()).hexdigest()[:8]
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.scenario}--{self.runner}")
        return f"{readable.strip('._')[:60]}-{digest}"


def build_series(points: Iterable[tuple[str, str, Point]]) -> list[Series]:
    """Series from ``(scenario, runner, point)``, sorted by scenario then runner."""
    grouped: dict[tuple[str, str], list[Point]] = {}
    for scenario, runner, p in points:
        grouped.setdefault((scenario, runner), []).append(p)
    out = []
    for (scenario, runner), pts in sorted(grouped.items()):
        pts.sort(key=lambda p: (p.created, p.run_id))
        out.append(Series(scenario, runner, tuple(pts), phase_order(pts)))
    return out


def downsample(values: Sequence[float], limit: int) -> list[tuple[int, float]]:
    """At most ``limit`` of ``(index, value)``, chosen by largest-triangle-three-buckets: the
    first and last are kept, and from each bucket between them the point that makes the
    largest triangle with the point kept before it and the mean of the next bucket, so peaks
    and dips survive where an every-k-th sample would drop them."""
    n = len(values)
    if n <= limit:
        return list(enumerate(values))
    if limit < 3:
        return [(0, values[0]), (n - 1, values[-1])][: max(limit, 0)]
    kept = [(0, values[0])]
    width = (n - 2) / (limit - 2)
    a = 0
    for b in range(limit - 2):
        start, stop = int(b * width) + 1, int((b + 1) * width) + 1
        nxt_start, nxt_stop = stop, min(int((b + 2) * width) + 1, n)
        if nxt_start >= nxt_stop:
            nxt_start, nxt_stop = n - 1, n
        cx = (nxt_start + nxt_stop - 1) / 2
        cy = sum(values[nxt_start:nxt_stop]) / (nxt_stop - nxt_start)
        ax, ay = a, values[a]
        best, best_area = start, -1.0
        for i in range(start, min(stop, n - 1)):
            area = abs((ax - cx) * (values[i] - ay) - (ax - i) * (cy - ay))
            if area > best_area:
                best, best_area = i, area
        kept.append((best, values[best]))
        a = best
    kept.append((n - 1, values[-1]))
    return kept
