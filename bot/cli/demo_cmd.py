"""``ttfb demo``: the whole A/B flow on the bundled example, in a temporary git repository."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..pipeline import demo_run
from ..pipeline.options import DemoOptions
from ..report.compare_view import render_compare_text
from . import args, common
from .args import Common, option


@dataclass(frozen=True, kw_only=True)
class Options(Common):
    out_dir: str = option(
        "--out-dir", default="out/demo", help="where results go (default out/demo)"
    )
    max_pairs: int = option(
        "--max-pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the last look (default 10: a single look)",
    )
    budget_s: float = option(
        "--budget-s",
        type=common.positive_float,
        default=280.0,
        help="wall-clock budget (default 280)",
    )
    keep: bool = option(
        "--keep", default=False, action="store_true", help="keep the temporary git repository"
    )


def run(o: Options) -> int:
    opts = DemoOptions(
        out_dir=Path(o.out_dir),
        max_pairs=o.max_pairs,
        budget_s=o.budget_s,
        keep=o.keep,
        fake=common.path_or_none(o.fake),
    )
    result = demo_run.demo(opts, progress=common.say)
    doc = result.run.doc
    print(render_compare_text(doc), end="")
    print(
        f"\nwrote {opts.out_dir}/results.json, comment.md, summary.md and plots "
        f"({doc['elapsed_s']:.0f} s)\nwrote the dashboard: open {result.site}"
    )
    return 0


NAME = "demo"
HELP = "A/B a planted TTFB regression in the bundled example (no GitHub needed)"
DESCRIPTION = demo_run.__doc__


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
