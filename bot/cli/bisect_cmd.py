"""``ttfb bisect``: find the commit that regressed TTFB between a good and a bad revision."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import git
from ..bisect import search
from ..bisect.search import BisectError
from ..bisect.steps import StepSize, run_bisect
from ..errors import TTFBError, UsageError
from ..report.release_view import render_bisect_text
from ..scenarios import find
from ..store.versioned import SampleLog, write_json
from . import common


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    argv = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if bool(args.scenario) == bool(argv):
        raise UsageError("bisect: give --scenario NAME or a command after --, not both")
    scenario = find(args.scenario, common.scenarios_dir(args, root)) if args.scenario else None
    commits = git.first_parent_range(args.good, args.bad, cwd=root)
    name = scenario.name if scenario else "command"
    common.say(
        f"{name}: bisecting {len(commits) - 1} commits ({commits[0][:10]}..{commits[-1][:10]})"
    )
    log_path = (
        Path(args.samples) if args.samples else common.samples_path(args, "bisect", several=False)
    )
    meta = {"command": "bisect", "good": commits[0], "bad": commits[-1], "scenario": name}
    with SampleLog(log_path, meta) as log:
        try:
            doc = run_bisect(
                commits,
                repo=root,
                scenario=scenario,
                command=tuple(argv) if argv else None,
                executor=common.executor(args),
                size=StepSize(
                    pairs=args.pairs,
                    max_pairs=args.max_pairs,
                    alpha=args.alpha,
                    threshold_pct=args.threshold_pct,
                ),
                max_skips=args.max_skips,
                subjects={c: git.subject(c, cwd=root) for c in commits},
                detect=args.first_batch,
                log=log,
                recorder=common.recorder(args, root),
                progress=common.say,
            )
        except BisectError as exc:
            raise TTFBError(f"bisect: {exc}") from None
    if args.json:
        write_json(args.json, doc)
    print(render_bisect_text(doc), end="")
    return 0


NAME = "bisect"
HELP = "find the commit that regressed TTFB (statistical A/B at each step)"
DESCRIPTION = search.__doc__


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--good", required=True, metavar="REV", help="a revision without the regression")
    p.add_argument("--bad", required=True, metavar="REV", help="a revision with it")
    p.add_argument("--scenario", metavar="NAME_OR_PATH")
    p.add_argument("--pairs", type=common.positive_int, default=10, help="pairs at the first look")
    p.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=20,
        help="pairs at the last look of a step (doubled on each retry)",
    )
    common.add_alpha(p)
    p.add_argument("--threshold-pct", type=common.nonneg_float, metavar="PCT")
    p.add_argument(
        "--max-skips",
        type=common.nonneg_int,
        default=5,
        help="commits that may fail to build or run before giving up",
    )
    p.add_argument("--samples", metavar="PATH", help="JSONL sample log")
    common.add_history_args(p, no_history="do not record this bisect")
    p.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS... (in each commit)")
