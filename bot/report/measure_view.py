"""The terminal summary of ``ttfb measure``: spreads and a phase table in time order. Pure."""

from __future__ import annotations

from typing import Any

from ..stats.summary import Summary
from .fmt import fmt_s, fmt_spread
from .templates import render


def measure_view(summary: Summary) -> dict[str, Any]:
    """Rows for the measure summary: headline spreads and a phase table in time order."""
    rows: list[list[str]] = [["phase", "median since submit", "segment", "IQR"]]
    previous = 0.0
    for name, spread in summary.phases.items():
        rows.append(
            [
                name,
                fmt_s(spread.median),
                f"+{fmt_s(spread.median - previous)}",
                f"{fmt_s(spread.q1)}–{fmt_s(spread.q3)}",
            ]
        )
        previous = spread.median
    detected = ", ".join(f"{how} ×{n}" for how, n in sorted(summary.detected_by.items()))
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    return {
        "name": summary.name,
        "skipped": summary.skipped,
        "statuses": statuses or "no samples",
        "ttfb": fmt_spread(summary.ttfb),
        "cpu": fmt_spread(summary.cpu),
        "rss": f"{summary.rss_mb.median:.0f} MB" if summary.rss_mb else "–",
        "phase_rows": rows if len(rows) > 1 else [],
        "detected": detected,
        "evaluation": evaluation_line(summary),
        "gc": gc_line(summary),
        "errors": list(summary.errors),
    }


def render_measure(summaries: list[Summary]) -> str:
    return render("measure.txt.j2", targets=[measure_view(s) for s in summaries])


def evaluation_line(summary: Summary) -> str:
    """ "evaluation before training: 17.2 s (40 forwards)", or "" when there was none."""
    if summary.evaluation is None:
        return ""
    n = summary.eval_forwards
    return (
        f"evaluation before training: {fmt_s(summary.evaluation.median)} "
        f"({n} {'forward' if n == 1 else 'forwards'}, median), included in TTFB"
    )


def gc_line(summary: Summary) -> str:
    """ "garbage collection before the first batch: 421 ms, 21% of TTFB (790 collections, 7
    full), median", or "" where the probe did not time it."""
    if summary.gc is None:
        return ""
    share = ""
    if summary.ttfb is not None and summary.ttfb.median > 0:
        share = f", {summary.gc.median / summary.ttfb.median:.0%} of TTFB"
    n, full = summary.gc_collections, summary.gc_full
    return (
        f"garbage collection before the first batch: {fmt_s(summary.gc.median)}{share} "
        f"({n} collection{'' if n == 1 else 's'}, {full} full), median"
    )
