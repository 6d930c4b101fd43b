"""``ttfb select``: changed paths + budgets → the scenarios to run, as a plan or a matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import git
from ..errors import UsageError
from ..gh.select_flow import count_slowdown
from ..report.plan_view import plan_text
from ..scenarios import load_all
from ..selection import candidates
from ..selection.plan import Plan, Settings, plan
from ..selection.plan import __doc__ as SELECTION_DOC
from ..store import depmap_db
from ..store.versioned import write_json
from . import common


def build_plan(args: argparse.Namespace) -> Plan:
    root = common.root(args)
    head = git.resolve(args.head or "HEAD", cwd=root, what="--head")
    if args.base:
        base = git.resolve(args.base, cwd=root, what="--base")
    else:
        branch = git.default_branch(cwd=root)
        if branch is None:
            raise UsageError("--base: no default branch found; pass --base REV")
        base = git.merge_base(branch, head, cwd=root)
    changes = candidates.changes_from(git.changed_paths(base, head, cwd=root))
    scenarios = load_all(common.scenarios_dir(args, root))
    infos = [
        candidates.scenario_info(s, root=root)
        for s in scenarios
        if not args.tag or args.tag in s.tags
    ]
    files, learned = depmap_db.selection_inputs(
        Path(args.depmap) if args.depmap else depmap_db.default_path(root)
    )
    settings = Settings(
        seeds=candidates.DEFAULT_SEEDS + tuple(args.seed_glob or ()),
        ignore=candidates.DEFAULT_IGNORE + tuple(args.ignore_glob or ()),
        pairs=args.pairs,
        explore=args.explore,
        explore_gpu=args.explore_gpu,
        seed=int(head[:8], 16) if args.seed is None else args.seed,
        count_slowdown=count_slowdown(args.instructions),
    )
    return plan(
        changes,
        infos,
        files,
        budget_cpu_s=args.budget_cpu_s,
        budget_gpu_s=args.budget_gpu_s,
        learned=learned,
        settings=settings,
    )


def run(args: argparse.Namespace) -> int:
    p = build_plan(args)
    doc = p.to_json()
    if args.json:
        write_json(args.json, doc)
    if args.matrix:
        print(json.dumps(doc["matrix"], separators=(",", ":")))
    else:
        print(plan_text(p), end="")
    return 0


NAME = "select"
HELP = "pick the scenarios a change can affect, within CPU/GPU budgets"
DESCRIPTION = SELECTION_DOC


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", metavar="REV", help="default: merge-base with the default branch")
    p.add_argument("--head", metavar="REV", help="default: HEAD")
    p.add_argument(
        "--budget-cpu-s",
        type=common.nonneg_float,
        default=3600.0,
        help="CPU-seconds for the whole plan (default 3600)",
    )
    p.add_argument(
        "--instructions",
        choices=("auto", "on", "off"),
        default="auto",
        help="budget for counting CPU work (auto/on: est_seconds x callgrind's slowdown x 6 "
        "runs per counted scenario; off: wall-time pairs only)",
    )
    p.add_argument(
        "--budget-gpu-s",
        type=common.nonneg_float,
        default=0.0,
        help="GPU-seconds for the whole plan (default 0)",
    )
    p.add_argument(
        "--pairs",
        type=common.positive_int,
        default=20,
        help="planned pairs per scenario, for costs (default 20)",
    )
    p.add_argument(
        "--explore",
        type=common.fraction,
        default=0.1,
        metavar="P",
        help="chance of also running one unaffected scenario, to measure recall (default 0.1)",
    )
    p.add_argument(
        "--explore-gpu",
        action="store_true",
        help="let that exploration pick a GPU scenario (never by default)",
    )
    p.add_argument("--seed", type=int, help="exploration seed (default: from the head commit)")
    p.add_argument("--tag", help="only scenarios with this tag (e.g. pr)")
    common.add_depmap_args(p, record=False)
    p.add_argument(
        "--seed-glob",
        action="append",
        metavar="GLOB",
        help="another file pattern that can change everything (repeatable)",
    )
    p.add_argument(
        "--ignore-glob",
        action="append",
        metavar="GLOB",
        help="another pattern that never affects TTFB, e.g. docs (repeatable)",
    )
    p.add_argument("--matrix", action="store_true", help="print only the GitHub Actions matrix")
