"""``ttfb report``: a results document (``results.json``) rendered as markdown or text."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..ab.results_doc import COMPARE_VERSION
from ..errors import ResultsError
from ..report.compare_view import render_comment, render_compare_text, render_summary
from ..store.versioned import read_json

FORMATS = {
    "comment": render_comment,
    "summary": render_summary,
    "text": render_compare_text,
}


def run(args: argparse.Namespace) -> int:
    doc = read_json(args.results, known=COMPARE_VERSION)
    if doc.get("kind") != "ttfb-compare":
        raise ResultsError(
            f"{args.results}: kind: expected 'ttfb-compare', got {doc.get('kind')!r}"
        )
    text = FORMATS[args.format](doc)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


NAME = "report"
HELP = "render results.json as the PR comment, the job summary or terminal text"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", help="results.json written by compare, demo or a CI job")
    p.add_argument("--format", choices=sorted(FORMATS), default="comment")
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
