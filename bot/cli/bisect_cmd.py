"""``ttfb bisect``: find the commit that regressed TTFB between a good and a bad revision."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..errors import TTFBError, UsageError
from ..pipeline.bisecting import METHOD, BisectError, bisect
from ..pipeline.options import BisectOptions, OutputPaths, StepSize, where_in
from ..report.release_view import render_bisect_text
from ..scenarios import find
from . import args, common
from .args import Common, option


@dataclass(frozen=True, kw_only=True)
class Options(Common, common.Alpha, common.Db, common.NoHistory):
    good: str = option(
        "--good", required=True, metavar="REV", help="a revision without the regression"
    )
    bad: str = option("--bad", required=True, metavar="REV", help="a revision with it")
    scenario: str | None = option("--scenario", metavar="NAME_OR_PATH")
    pairs: int = option(
        "--pairs", type=common.positive_int, default=10, help="pairs at the first look"
    )
    max_pairs: int = option(
        "--max-pairs",
        type=common.positive_int,
        default=20,
        help="pairs at the last look of a step (doubled on each retry)",
    )
    threshold_pct: float | None = option("--threshold-pct", type=common.nonneg_float, metavar="PCT")
    max_skips: int = option(
        "--max-skips",
        type=common.nonneg_int,
        default=5,
        help="commits that may fail to build or run before giving up",
    )
    samples: str | None = option("--samples", metavar="PATH", help="JSONL sample log")
    first_batch: str | None = option(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    command: list[str] | None = option(
        nargs=argparse.REMAINDER, help="-- CMD ARGS... (in each commit)"
    )


def bisect_options(o: Options) -> BisectOptions:
    """The one place ``ttfb bisect``'s options become the pipeline's."""
    root = common.root(o)
    command = common.command_tail(o.command, what="bisect")
    if bool(o.scenario) == bool(command):
        raise UsageError("bisect: give --scenario NAME or a command after --, not both")
    return BisectOptions(
        root=root,
        good=o.good,
        bad=o.bad,
        store=common.store(root, db=o, no_history=o),
        scenario=find(o.scenario, common.scenarios_dir(o, root)) if o.scenario else None,
        command=command,
        size=StepSize(
            pairs=o.pairs, max_pairs=o.max_pairs, alpha=o.alpha, threshold_pct=o.threshold_pct
        ),
        max_skips=o.max_skips,
        detect=o.first_batch,
        outputs=OutputPaths(
            json=common.path_or_none(o.json), samples=common.path_or_none(o.samples)
        ),
        fake=common.path_or_none(o.fake),
        where=where_in(root, Path.cwd()),
    )


def run(o: Options) -> int:
    try:
        doc = bisect(bisect_options(o), progress=common.say)
    except BisectError as exc:
        raise TTFBError(f"bisect: {exc}") from None
    print(render_bisect_text(doc), end="")
    return 0


NAME = "bisect"
HELP = "find the commit that regressed TTFB (statistical A/B at each step)"
DESCRIPTION = METHOD


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
