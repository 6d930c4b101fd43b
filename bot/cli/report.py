"""``ttfb report``: a results document (``results.json``) rendered as markdown or text."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import compare, report, results
from ..errors import ResultsError

FORMATS = {
    "comment": report.render_comment,
    "summary": report.render_summary,
    "text": report.render_compare_text,
}


def run(args: argparse.Namespace) -> int:
    doc = results.read_json(args.results, known=compare.COMPARE_VERSION)
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


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "report",
        help="render results.json as the PR comment, the job summary or terminal text",
    )
    r.add_argument("results", help="results.json written by compare, demo or a CI job")
    r.add_argument("--format", choices=sorted(FORMATS), default="comment")
    r.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    r.set_defaults(func=run)
