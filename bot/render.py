"""The jinja2 environment shared by every report: templates only lay out formatted strings."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2


def template_dir() -> Path:
    """``bot/templates`` in an installed wheel, else ``templates/`` of the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("TTFB Lab templates are missing from this installation")


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


def md_escape(value: Any) -> str:
    """Make a value safe inside a Markdown table cell: escape pipes, flatten newlines."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["text_table"] = text_table
    env.filters["md"] = md_escape
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
