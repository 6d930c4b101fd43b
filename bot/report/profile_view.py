"""The differential profile in reports: the "Where the time went" function table of the comment,
its notes, the terminal lines, and the flame graph of each profiled scenario. Pure.

Rows are those the profile found significant (``bot.stats.profile``), largest change first, at
most ``MAX_ROWS``; each names the repository's function (its file and first line) and, beside
it, the library frame its change is spent in. Times are inclusive, in milliseconds per
profiling sample.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..results import GcChange, ProfileResult, ProfileRow, ScenarioResult
from .flame import Flame, flame
from .fmt import md_code, md_text

MAX_ROWS = 5


def flame_file(name: str) -> str:
    """The flame graph's file name for scenario ``name``, beside ``results.json``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")[:64] or "scenario"
    return f"flame-{safe}.html"


def fmt_ms(ms: float | None, *, sign: bool = False) -> str:
    if ms is None:
        return "–"
    value = f"{ms:+.0f}" if sign else f"{ms:.0f}"
    if abs(ms) < 10:
        value = f"{ms:+.1f}" if sign else f"{ms:.1f}"
    return f"{value} ms"


def _change(r: ProfileRow | GcChange) -> str:
    """The median paired change with its 95% CI: "+248 ms (+246 ms … +268 ms)"."""
    return (
        f"{fmt_ms(r.delta_ms, sign=True)} ({fmt_ms(r.ci_low_ms, sign=True)} … "
        f"{fmt_ms(r.ci_high_ms, sign=True)})"
    )


def _share(r: ProfileRow) -> str:
    return "–" if r.share_pct is None else f"{r.share_pct:.0f}%"


def where(r: ProfileRow) -> str:
    return f"{r.file}:{r.line}" if r.line else r.file


def rows(p: ProfileResult) -> list[list[str]]:
    """The comment's rows: function (→ library frame), file:line, base, head, Δ (95% CI),
    share of the TTFB change."""
    out = []
    for r in p.rows[:MAX_ROWS]:
        function = md_code(r.function) + (f" → {md_code(r.library)}" if r.library else "")
        out.append(
            [
                function,
                md_code(where(r)),
                fmt_ms(r.base_ms),
                fmt_ms(r.head_ms),
                md_text(_change(r)),
                _share(r),
            ]
        )
    return out


def note(p: ProfileResult) -> str:
    """What the profile is, or why there is none."""
    if p.skipped:
        return p.skipped
    if p.error:
        return f"not profiled: {p.error}"
    found = len(p.rows)
    what = (
        f"{found} function{'' if found == 1 else 's'} changed significantly"
        if found
        else "no function's time changed significantly"
    )
    return (
        f"differential profile: {p.runs}+{p.runs} profiling samples under {p.profiler}; {what}"
        f" (the 95% bootstrap CI of its median change beyond ±{fmt_ms(p.floor_ms)} and ±½ of "
        f"its base time; {p.tested} moved by ≥{fmt_ms(p.floor_ms)}); ms per sample, inclusive"
        f"{_gc(p)}"
    )


def _gc(p: ProfileResult) -> str:
    """The garbage collections' line: counted apart, since a collection lands on whichever
    function allocates when it runs, and its share found on the sampled stacks when low."""
    g = p.gc
    if g is None:
        return ""
    placed = g.placed_pct
    found = f", {placed:.0f}% of it found on the sampled stacks" if placed is not None else ""
    return (
        f"; garbage collection {fmt_ms(g.base_ms)} → {fmt_ms(g.head_ms)}, {_change(g)}, "
        f"counted apart from the functions it interrupted{found}"
    )


def section(s: ScenarioResult, context: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The comment's function table of one scenario, or None where it was not profiled."""
    p = s.profile
    if p is None:
        return None
    ctx = context or {}
    link = ""
    if p.flame:
        name = flame_file(s.name)
        url = ctx.get("artifacts_url")
        link = (
            f"Differential flame graph: [{name}]({url}) (artifact `ttfb-flame-graphs` of the "
            "report run)"
            if isinstance(url, str) and url.startswith("https://")
            else f"Differential flame graph: `{name}`, beside `results.json` in the results "
            "artifact"
        )
    return {"rows": rows(p), "note": md_text(note(p)), "flame": link}


def text_lines(s: ScenarioResult) -> list[str]:
    """The terminal's lines: the profile's note, then a line per row."""
    p = s.profile
    if p is None:
        return []
    lines = [note(p)]
    for r in p.rows[:MAX_ROWS]:
        beside = f" → {r.library}" if r.library else ""
        lines.append(
            f"  {r.function} ({where(r)}){beside}: {fmt_ms(r.base_ms)} → {fmt_ms(r.head_ms)}, "
            f"{_change(r)}, {_share(r)} of the change"
        )
    return lines


def flame_graph(s: ScenarioResult, *, base: str, head: str) -> Flame | None:
    """The differential flame graph of a profiled scenario (None without one)."""
    p = s.profile
    if p is None or not p.flame:
        return None
    return flame(
        p.flame,
        title=f"{s.name}: where the time to first batch went, head vs base",
        subtitle=(
            f"base {base} → head {head}; {p.runs}+{p.runs} profiling samples under "
            f"{p.profiler}; median TTFB {fmt_ms(p.base_ttfb_ms)} → {fmt_ms(p.head_ttfb_ms)}"
        ),
    )
