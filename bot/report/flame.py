"""Differential flame graphs: the merged call tree of a profile laid out as rectangles, and the
self-contained HTML page (inline SVG, inline style and script, nothing fetched) that shows them.

Pure: ``layout`` turns the results document's ``profile.flame`` nodes (``[parent, function,
file, line, repo, base ms, head ms]``, parents first) into rectangles; ``render_html`` and
``render_svg`` lay them out through ``templates/flame.html.j2`` and ``flame.svg.j2`` with
autoescaping on, since function and file names come from measured code.

A frame is as wide as the larger of its two arms' mean inclusive time (children scaled to fit
their parent), and stacked on its caller, the root at the bottom. Its colour is its change,
head − base: red where head is slower, blue where it is faster, the stronger the larger the
change relative to the largest one; white where nothing changed. A profile of one command
(``ttfb measure --profile``) colours the repository's own frames warm and the rest cool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from .fmt import fmt_ds, fmt_s
from .templates import template_dir

WIDTH = 1200.0
ROW = 17.0
CHAR = 6.6  # px per character at the font size used
MIN_PX = 0.3  # narrower rectangles are left out


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    fill: str
    label: str  # the text drawn (clipped to fit), may be ""
    title: str  # the tooltip: function, file:line, both arms and the change
    function: str


@dataclass(frozen=True)
class Flame:
    width: float
    height: float
    rects: tuple[Rect, ...]
    title: str
    subtitle: str
    differential: bool


def _mix(channel_from: int, channel_to: int, t: float) -> int:
    return round(channel_from + (channel_to - channel_from) * t)


def colour(delta: float, biggest: float, *, differential: bool, repo: bool) -> str:
    """Red (slower) or blue (faster), saturating with ``|delta| / biggest``; one command's
    profile: warm for the repository's frames, cool for the rest."""
    if not differential:
        return "#f2a65a" if repo else "#a9c4de"
    t = min(1.0, math.sqrt(abs(delta) / biggest)) if biggest > 0 else 0.0
    to = (214, 39, 40) if delta > 0 else (31, 119, 180)
    return "#{:02x}{:02x}{:02x}".format(*(_mix(250, c, t) for c in to))


def _title(node: Sequence[Any], differential: bool) -> str:
    _, function, file, line, _, base, head = node
    where = f"{file}:{line}" if line else str(file)
    if not differential:
        return f"{function} — {where}\n{fmt_s(head / 1e3)} per sample (inclusive)"
    return (
        f"{function} — {where}\nbase {fmt_s(base / 1e3)}, head {fmt_s(head / 1e3)}, "
        f"Δ {fmt_ds((head - base) / 1e3)} per sample (inclusive)"
    )


def layout(
    nodes: Sequence[Sequence[Any]], *, differential: bool = True, width: float = WIDTH
) -> tuple[tuple[Rect, ...], float]:
    """Rectangles for ``nodes`` (see the module docstring) and the graph's height."""
    children: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        children.setdefault(int(node[0]), []).append(i)
    size = [max(float(n[5]), float(n[6])) for n in nodes]
    roots = children.get(-1, [])
    total = sum(size[i] for i in roots)
    if total <= 0:
        return (), ROW
    biggest = max((abs(float(n[6]) - float(n[5])) for n in nodes), default=0.0)
    placed: list[tuple[int, float, float, int]] = []  # node, x, width, depth
    todo = [(roots, 0.0, width / total, 0)]  # siblings, where they start, px per ms, depth
    while todo:
        group, x, scale, depth = todo.pop()
        for i in sorted(group, key=lambda k: (str(nodes[k][1]), str(nodes[k][2]))):
            w = size[i] * scale
            if w >= MIN_PX:
                placed.append((i, x, w, depth))
                kids = children.get(i, [])
                need = sum(size[k] for k in kids)
                if kids and need > 0:  # children fit their caller, when head and base differ
                    todo.append((kids, x, min(scale, w / need), depth + 1))
            x += w
    depth_max = max(d for *_, d in placed) + 1 if placed else 1
    height = depth_max * ROW
    rects = []
    for i, x, w, depth in placed:
        n = nodes[i]
        function = str(n[1])
        chars = int((w - 6) / CHAR)
        label = (
            function
            if len(function) <= chars
            else (function[: chars - 1] + "…" if chars > 2 else "")
        )
        fill = colour(
            float(n[6]) - float(n[5]), biggest, differential=differential, repo=bool(n[4])
        )
        rects.append(
            Rect(
                x=round(x, 2),
                y=round(height - (depth + 1) * ROW, 2),
                w=round(w, 2),
                fill=fill,
                label=label,
                title=_title(n, differential),
                function=function,
            )
        )
    return tuple(rects), height


def flame(
    nodes: Sequence[Sequence[Any]], *, title: str, subtitle: str, differential: bool = True
) -> Flame:
    rects, height = layout(nodes, differential=differential)
    return Flame(WIDTH, height, rects, title, subtitle, differential)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_svg(graph: Flame) -> str:
    """The graph as an inline ``<svg>`` (no script, no style attribute: fits a strict CSP)."""
    return _environment().get_template("flame.svg.j2").render(flame=graph)


def render_html(graph: Flame) -> str:
    """A self-contained page: the graph, a legend, hover details and a search box."""
    return _environment().get_template("flame.html.j2").render(flame=graph)
