"""``ttfb select``: changed paths + budgets → the scenarios to run, as a plan or a matrix."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from .. import git
from ..model import CountingMode
from ..pipeline.options import default_base
from ..pipeline.selecting import SelectOptions, select
from ..report.plan_view import plan_text
from ..scenarios import load_all
from ..selection.plan import Plan
from ..selection.plan import __doc__ as SELECTION_DOC
from ..store.versioned import write_json
from . import common
from .args import Common, option, register


@dataclass(frozen=True, kw_only=True)
class Options(Common, common.Depmap):
    base: str | None = option(
        "--base", metavar="REV", help="default: merge-base with the default branch"
    )
    head: str | None = option("--head", metavar="REV", help="default: HEAD")
    budget_cpu_s: float = option(
        "--budget-cpu-s",
        type=common.nonneg_float,
        default=3600.0,
        help="CPU-seconds for the whole plan (default 3600)",
    )
    instructions: CountingMode = option(
        "--instructions",
        type=common.counting_mode,
        default="auto",
        metavar="{auto,on,off}",
        help="budget for counting CPU work (auto/on: est_seconds x callgrind's slowdown x 6 "
        "runs per counted scenario; off: wall-time pairs only)",
    )
    budget_gpu_s: float = option(
        "--budget-gpu-s",
        type=common.nonneg_float,
        default=0.0,
        help="GPU-seconds for the whole plan (default 0)",
    )
    pairs: int = option(
        "--pairs",
        type=common.positive_int,
        default=20,
        help="planned pairs per scenario, for costs (default 20)",
    )
    explore: float = option(
        "--explore",
        type=common.fraction,
        default=0.1,
        metavar="P",
        help="chance of also running one unaffected scenario, to measure recall (default 0.1)",
    )
    explore_gpu: bool = option(
        "--explore-gpu",
        default=False,
        action="store_true",
        help="let that exploration pick a GPU scenario (never by default)",
    )
    seed: int | None = option(
        "--seed", type=int, help="exploration seed (default: from the head commit)"
    )
    tag: str | None = option("--tag", help="only scenarios with this tag (e.g. pr)")
    seed_glob: list[str] | None = option(
        "--seed-glob",
        action="append",
        metavar="GLOB",
        help="another file pattern that can change everything (repeatable)",
    )
    ignore_glob: list[str] | None = option(
        "--ignore-glob",
        action="append",
        metavar="GLOB",
        help="another pattern that never affects TTFB, e.g. docs (repeatable)",
    )
    matrix: bool = option(
        "--matrix",
        default=False,
        action="store_true",
        help="print only the GitHub Actions matrix",
    )


def build_plan(o: Options) -> Plan:
    """The one place ``ttfb select``'s options become the selection pipeline's."""
    root = common.root(o)
    head = git.resolve(o.head or "HEAD", cwd=root, what="--head")
    if o.base:
        base = git.resolve(o.base, cwd=root, what="--base")
    else:
        base, note = default_base(head, root=root, same_ok=True)
        print(f"select: {note}", file=sys.stderr)
    scenarios = load_all(common.scenarios_dir(o, root))
    return select(
        SelectOptions(
            root=root,
            base=base,
            head=head,
            scenarios=tuple(s for s in scenarios if not o.tag or o.tag in s.tags),
            depmap=common.path_or_none(o.depmap),
            budget_cpu_s=o.budget_cpu_s,
            budget_gpu_s=o.budget_gpu_s,
            counting=o.instructions,
            pairs=o.pairs,
            explore=o.explore,
            explore_gpu=o.explore_gpu,
            seed=o.seed,
            seed_globs=tuple(o.seed_glob or ()),
            ignore_globs=tuple(o.ignore_glob or ()),
        )
    )


def run(args: Options) -> int:
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
    register(p, Options, run)
