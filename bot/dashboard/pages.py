"""What each page shows, as plain values for the templates and the pages' data files. Pure.

Numbers are formatted by ``bot.report.fmt`` (the comment's own formats) and verdicts carry
their symbol and word, as in the comment, so colour never carries a verdict alone. Data for
the scripts is columnar (one list per field) and rounded to what a chart can show, which
keeps a 200-run scenario's file near 40 KB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Verdict
from ..report.fmt import badge, fmt_ci, fmt_pct, fmt_s
from .commits import Commit
from .sessions import Session
from .trend import Point, Series, downsample, segments

DATA_VERSION = 1
# Chart markers: a shape per verdict (the colour only repeats it).
SYMBOLS = {
    Verdict.REGRESSION: "▲",
    Verdict.IMPROVEMENT: "▼",
    Verdict.NO_CHANGE: "●",
    Verdict.INCONCLUSIVE: "◆",
    Verdict.BROKEN: "✖",
    Verdict.SKIPPED: "○",
}


def verdicts() -> dict[str, dict[str, str]]:
    """Each verdict's badge (icon and word, as in the comment) and chart symbol."""
    return {v.value: {"badge": badge(v), "symbol": SYMBOLS[v]} for v in Verdict}


def _r(x: float | None, digits: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _count(x: float | None) -> int | None:
    return None if x is None else round(x)


def short(rev: str | None) -> str:
    return rev[:10] if rev else "–"


def series_data(
    s: Series,
    *,
    commits: Mapping[str, Commit],
    on_branch: set[str] | None,
    branch: str | None,
    repo_url: str | None,
) -> dict[str, Any]:
    """The scenario page's data: one entry per run in every column, oldest first."""
    pts = s.points

    def column(get: Any) -> list[Any]:
        return [get(p) for p in pts]

    def commit(p: Point) -> Commit | None:
        return commits.get(p.rev or "")

    segs = [segments(p, s.phases) for p in pts]
    return {
        "version": DATA_VERSION,
        "kind": "ttfb-dashboard-series",
        "scenario": s.scenario,
        "runner": s.runner,
        "branch": branch,
        "repo_url": repo_url,
        "phases": list(s.phases),
        "verdicts": verdicts(),
        "runs": {
            "uid": column(lambda p: p.uid),
            "kind": column(lambda p: p.kind),
            "created": column(lambda p: p.created),
            "rev": column(lambda p: p.rev),
            "base_rev": column(lambda p: p.base_rev),
            "date": column(lambda p: c.date if (c := commit(p)) else None),
            "subject": column(lambda p: c.subject if (c := commit(p)) else None),
            "on_branch": column(
                lambda p: None if on_branch is None else int(bool(p.rev) and p.rev in on_branch)
            ),
            "n": column(lambda p: p.n),
            "median": column(lambda p: _r(p.median_s)),
            "lo": column(lambda p: _r(p.ci_low_s)),
            "hi": column(lambda p: _r(p.ci_high_s)),
            "base": column(lambda p: _r(p.base_median_s)),
            "cpu": column(lambda p: _r(p.cpu_s)),
            "instructions": column(lambda p: _count(p.instructions)),
            "verdict": column(lambda p: p.verdict),
            "delta": column(lambda p: _r(p.delta_pct, 2)),
            "dlo": column(lambda p: _r(p.ci_low_pct, 2)),
            "dhi": column(lambda p: _r(p.ci_high_pct, 2)),
            "pairs": column(lambda p: p.pairs),
            "report": column(lambda p: p.report),
            "seg": [[_r(row[k]) for row in segs] for k in range(len(s.phases))],
        },
    }


def sparkline(values: Sequence[float], *, limit: int, width: int = 120, height: int = 28) -> str:
    """The ``points`` of an SVG polyline of ``values`` (downsampled to ``limit``)."""
    kept = downsample(values, limit)
    if not kept:
        return ""
    low = min(v for _, v in kept)
    high = max(v for _, v in kept)
    span = (high - low) or 1.0
    last = max(len(values) - 1, 1)
    return " ".join(
        f"{2 + i / last * (width - 4):.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"
        for i, v in kept
    )


def calibration_text(cal: Mapping[str, Any] | None) -> str:
    """``threshold 5% · paired sd 16.5% · from 40 A/A pairs`` (the stored calibration)."""
    if not cal:
        return "not calibrated: the scenario's floor applies"
    sd = cal.get("sd_total")
    sd_text = f" · paired sd {math.expm1(float(sd)) * 100:.1f}%" if sd is not None else ""
    return f"threshold {float(cal['threshold_pct']):g}%{sd_text} · from {cal['pairs']} A/A pairs"


def overview_row(
    s: Series, *, cal: Mapping[str, Any] | None, last: int, spark_points: int
) -> dict[str, Any]:
    """One row of the overview: latest median, the sparkline, last verdict, calibration."""
    measured = [p for p in s.points if p.median_s is not None]
    window = [p.median_s for p in measured[-last:] if p.median_s is not None]
    latest = measured[-1] if measured else None
    judged = [p for p in s.points if p.verdict]
    verdict = judged[-1] if judged else None
    spark = sparkline(window, limit=spark_points)
    label = (
        f"median TTFB over the last {len(window)} runs: from {fmt_s(min(window))} to "
        f"{fmt_s(max(window))}, latest {fmt_s(window[-1])}"
        if window
        else "no measured run"
    )
    return {
        "scenario": s.scenario,
        "runner": s.runner,
        "key": s.key,
        "runs": len(s.points),
        "latest": fmt_s(latest.median_s) if latest else "–",
        "latest_ci": (
            f"95% CI {fmt_s(latest.ci_low_s)}–{fmt_s(latest.ci_high_s)}, n={latest.n}"
            if latest
            else ""
        ),
        "latest_when": latest.created[:10] if latest else "",
        "spark": spark,
        "spark_label": label,
        "window": len(window),
        "verdict": badge(verdict.verdict) if verdict and verdict.verdict else "–",
        "verdict_value": verdict.verdict if verdict else "",
        "verdict_delta": (
            f"{fmt_pct(verdict.delta_pct)} ({fmt_ci(verdict.ci_low_pct, verdict.ci_high_pct)})"
            if verdict and verdict.delta_pct is not None
            else ""
        ),
        "verdict_report": verdict.report if verdict else None,
        "calibration": calibration_text(cal),
        "calibrated": cal is not None,
    }


def comparisons_data(
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Mapping[tuple[str, str], str],
    commits: Mapping[str, Commit],
) -> dict[str, Any]:
    """The comparisons page's data: one row per compared scenario, newest first."""
    columns = [
        "created",
        "kind",
        "scenario",
        "runner",
        "base",
        "head",
        "subject",
        "verdict",
        "delta",
        "dlo",
        "dhi",
        "pairs",
        "report",
        "series",
    ]
    out = []
    for r in rows:
        c = commits.get(r["head"])
        out.append(
            [
                r["created"],
                r["kind"],
                r["scenario"],
                r["runner"],
                r["base"],
                r["head"],
                c.subject if c else None,
                r["verdict"],
                _r(r["delta_pct"], 2),
                _r(r["ci_low_pct"], 2),
                _r(r["ci_high_pct"], 2),
                r["pairs"],
                r["report"],
                keys.get((r["scenario"], r["runner"])),
            ]
        )
    return {
        "version": DATA_VERSION,
        "kind": "ttfb-dashboard-comparisons",
        "columns": columns,
        "rows": out,
        "verdicts": verdicts(),
        "scenarios": sorted({r["scenario"] for r in rows}),
    }


def session_heading(s: Session) -> str:
    what = {"release": "release suite", "demo": "demo compare"}.get(s.kind, "compare")
    return f"{what} {short(s.base_rev)} → {short(s.head_rev)}"
