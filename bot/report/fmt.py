"""Numbers and verdicts for people: seconds, percentages, intervals, p-values, table cells."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..model import Verdict
from ..stats.summary import Spread

ICONS = {
    Verdict.REGRESSION: "🔴",
    Verdict.IMPROVEMENT: "🟢",
    Verdict.NO_CHANGE: "⚪",
    Verdict.INCONCLUSIVE: "🟡",
    Verdict.BROKEN: "💥",
    Verdict.SKIPPED: "⏭️",
}


def word(verdict: Verdict | str) -> str:
    """``no change`` for ``no_change``: the verdict as a sentence says it."""
    return Verdict(verdict).value.replace("_", " ")


def badge(verdict: Verdict | str) -> str:
    """Icon and word: colour is never the only carrier of a verdict."""
    v = Verdict(verdict)
    return f"{ICONS[v]} {word(v)}"


def fmt_s(seconds: float | None) -> str:
    """Seconds for people: ``842 ms`` below one second, ``3.21 s`` above."""
    if seconds is None:
        return "–"
    if abs(seconds) < 0.9995:  # what rounds to 1000 ms is shown as 1.00 s
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_ds(seconds: float | None) -> str:
    """A signed duration: ``+251 ms``, ``-1.20 s``."""
    if seconds is None:
        return "–"
    if abs(seconds) < 0.0005:
        return "±0 ms"
    sign = "+" if seconds >= 0 else "-"
    return sign + fmt_s(abs(seconds))


def fmt_pct(value: float | None, *, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}%" if signed else f"{value:.1f}%"


def fmt_ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{low:+.1f}% … {high:+.1f}%"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_is(p: float | None) -> str:
    """``p<0.001`` or ``p=0.012``: for sentences, where ``p=<0.001`` would read badly."""
    text = fmt_p(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def fmt_spread(spread: Spread | None) -> str:
    if spread is None:
        return "–"
    if spread.n == 1:
        return f"{fmt_s(spread.median)} (1 sample)"
    return (
        f"{fmt_s(spread.median)}  (IQR {fmt_s(spread.q1)}–{fmt_s(spread.q3)}, "
        f"range {fmt_s(spread.low)}–{fmt_s(spread.high)}, n={spread.n})"
    )


def text_table(rows: Sequence[Sequence[Any]], *, indent: int = 0, right: Sequence[int] = ()) -> str:
    """Align ``rows`` (the first is the header) into columns; ``right`` lists numeric columns."""
    cells = [[str(c) for c in row] for row in rows]
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        lines.append(" " * indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


_MD_PUNCT = re.compile(r"([\\`*_\[\]<>!|~&])")
_ZWSP = "\u200b"  # zero-width space: breaks what GitHub would link, invisibly
_LINKS = re.compile(r"(?i)(https?|ftp)(://)|(www)(\.)")
_PINGS = re.compile(r"([@#])(?=[\w-])")


def md_text(value: Any) -> str:
    """Untrusted text made inert in Markdown, also inside a table cell: on one line, with the
    characters that open links, images, HTML, emphasis, code or cells escaped, and with
    ``@mentions``, ``#123`` references and bare URLs broken by a zero-width space, so that a
    file name or an error message can neither link nor notify anyone under the bot's name."""
    text = " ".join(str(value).split())
    text = _MD_PUNCT.sub(r"\\\1", text)
    text = _LINKS.sub(lambda m: (m[1] or m[3]) + _ZWSP + (m[2] or m[4]), text)
    return _PINGS.sub(lambda m: m[1] + _ZWSP, text)


def md_code(value: Any) -> str:
    """Untrusted text as an inline code span (nothing inside one links or notifies), on one
    line, its pipes escaped for table cells, fenced by more backticks than it contains."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"
