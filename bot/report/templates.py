"""The jinja2 environment shared by every report: templates only lay out formatted strings."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .fmt import md_code, md_text, text_table


def template_dir() -> Path:
    """``bot/templates`` in an installed wheel, else ``templates/`` of the source checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("TTFB Lab templates are missing from this installation")


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
    env.filters["md"] = md_text
    env.filters["code"] = md_code
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
