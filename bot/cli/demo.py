"""``ttfb demo``: the whole A/B flow on the bundled example, in a temporary git repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import demo, outputs, report
from . import common


def run(args: argparse.Namespace) -> int:
    out = Path(args.out_dir)
    doc = demo.run_demo(
        out,
        executor=common.executor(args),
        max_pairs=args.max_pairs,
        budget_s=args.budget_s,
        keep=args.keep,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(report.render_compare_text(doc), end="")
    print(
        f"\nwrote {out}/results.json, comment.md, summary.md and plots ({doc['elapsed_s']:.0f} s)"
    )
    return outputs.exit_code(doc, gate=False)


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "demo",
        parents=parents,
        help="A/B a planted TTFB regression in the bundled example (no GitHub needed)",
        description=demo.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("--out-dir", default="out/demo", help="where results go (default out/demo)")
    d.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the last look (default 10: a single look)",
    )
    d.add_argument(
        "--budget-s",
        type=common.positive_float,
        default=280.0,
        help="wall-clock budget (default 280)",
    )
    d.add_argument("--keep", action="store_true", help="keep the temporary git repository")
    d.set_defaults(func=run)
