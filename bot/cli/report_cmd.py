"""``ttfb report``: a results document (``results.json``) rendered as markdown or text."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResultsError
from ..pipeline.options import COMPARE_VERSION
from ..report.compare_view import render_comment, render_compare_text, render_summary
from ..store.versioned import read_json
from . import args
from .args import Common, option

FORMATS = {
    "comment": render_comment,
    "summary": render_summary,
    "text": render_compare_text,
}


@dataclass(frozen=True, kw_only=True)
class Options(Common):
    results: str = option(help="results.json written by compare, demo or a CI job")
    format: str = option("--format", choices=sorted(FORMATS), default="comment")
    output: str | None = option(
        "-o", "--output", metavar="PATH", help="write here instead of stdout"
    )


def run(o: Options) -> int:
    doc = read_json(o.results, known=COMPARE_VERSION)
    if doc.get("kind") != "ttfb-compare":
        raise ResultsError(f"{o.results}: kind: expected 'ttfb-compare', got {doc.get('kind')!r}")
    text = FORMATS[o.format](doc)
    if o.output:
        Path(o.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


NAME = "report"
HELP = "render results.json as the PR comment, the job summary or terminal text"


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
