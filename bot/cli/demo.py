"""``ttfb demo``: the whole A/B flow on the bundled example, in a temporary git repository."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..ab import demo
from ..ab.document import results_document
from ..report.compare import render_compare_text
from ..report.files import exit_code, write_compare_outputs
from . import common


def run(args: argparse.Namespace) -> int:
    out = Path(args.out_dir)
    result = demo.run_demo(
        out,
        executor=common.executor(args),
        max_pairs=args.max_pairs,
        budget_s=args.budget_s,
        keep=args.keep,
        progress=common.say,
    )
    s = result.session
    doc = results_document(s.comparison, base=s.base, head=s.head, extra=result.extra)
    write_compare_outputs(doc, out)
    print(render_compare_text(doc), end="")
    print(
        f"\nwrote {out}/results.json, comment.md, summary.md and plots ({doc['elapsed_s']:.0f} s)"
    )
    return exit_code(doc, gate=False)


NAME = "demo"
HELP = "A/B a planted TTFB regression in the bundled example (no GitHub needed)"
DESCRIPTION = demo.__doc__


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="out/demo", help="where results go (default out/demo)")
    p.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the last look (default 10: a single look)",
    )
    p.add_argument(
        "--budget-s",
        type=common.positive_float,
        default=280.0,
        help="wall-clock budget (default 280)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary git repository")
