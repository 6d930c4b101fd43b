"""``ttfb bisect``: find the commit that regressed TTFB between a good and a bad revision."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import bisect, bisectrun, git, history, hostinfo, releasereport, results, thresholds
from ..errors import TTFBError, UsageError
from ..scenarios import find
from . import common


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    argv = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if bool(args.scenario) == bool(argv):
        raise UsageError("bisect: give --scenario NAME or a command after --, not both")
    scenario = find(args.scenario, args.scenarios_dir) if args.scenario else None
    commits = git.first_parent_range(args.good, args.bad, cwd=root)
    subjects = {c: git.subject(c, cwd=root) for c in commits}
    name = scenario.name if scenario else "command"
    print(
        f"{name}: bisecting {len(commits) - 1} commits ({commits[0][:10]}..{commits[-1][:10]})",
        file=sys.stderr,
    )
    plan = bisectrun.Plan(
        pairs=args.pairs,
        max_pairs=args.max_pairs,
        alpha=args.alpha,
        threshold_pct=args.threshold_pct,
    )

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    log_path = (
        Path(args.samples) if args.samples else common.samples_path(args, "bisect", several=False)
    )
    with (
        results.SampleLog(
            log_path,
            {"command": "bisect", "good": commits[0], "bad": commits[-1], "scenario": name},
        ) as log,
        bisectrun.RevisionComparer(
            root,
            scenario=scenario,
            command=tuple(argv) if argv else None,
            executor=common.executor(args),
            plan=plan,
            log=log,
            progress=progress,
            detect=args.first_batch,
        ) as comparer,
    ):
        try:
            result = bisect.bisect(
                commits,
                comparer,
                max_skips=args.max_skips,
                threshold_pct=plan.threshold_pct or (scenario.floor_pct if scenario else 2.0),
            )
        except bisect.BisectError as exc:
            raise TTFBError(f"bisect: {exc}") from None
    doc = releasereport.bisect_json(commits, result, scenario=name, subjects=subjects)
    if not args.no_history:
        with history.History(common.db_path(args, root)) as hist:
            hist.record_run(
                "bisect",
                scenario=name,
                base_rev=commits[0],
                head_rev=commits[-1],
                runner=thresholds.runner_label(None),
                machine=hostinfo.machine_facts(),
                doc=doc,
            )
    if args.json:
        results.write_json(args.json, doc)
    print(releasereport.render_bisect_text(doc), end="")
    return 0


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "bisect",
        parents=parents,
        help="find the commit that regressed TTFB (statistical A/B at each step)",
        description=bisect.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--good", required=True, metavar="REV", help="a revision without the regression")
    b.add_argument("--bad", required=True, metavar="REV", help="a revision with it")
    b.add_argument("--scenario", metavar="NAME_OR_PATH")
    b.add_argument("--pairs", type=common.positive_int, default=10, help="pairs at the first look")
    b.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=20,
        help="pairs at the last look of a step (doubled on each retry)",
    )
    b.add_argument("--alpha", type=common.probability, default=0.01)
    b.add_argument("--threshold-pct", type=common.nonneg_float, metavar="PCT")
    b.add_argument(
        "--max-skips",
        type=common.nonneg_int,
        default=5,
        help="commits that may fail to build or run before giving up",
    )
    b.add_argument("--samples", metavar="PATH", help="JSONL sample log")
    common.add_history_args(b, no_history="do not record this bisect")
    b.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    b.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS... (in each commit)")
    b.set_defaults(func=run)
