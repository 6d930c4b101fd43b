"""``ttfb select``: changed paths + budgets → the scenarios to run, as a plan or a matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import candidates, depmap, git, report, results, selection
from ..errors import UsageError
from ..render import render
from ..scenarios import load_all
from . import common


def build_plan(args: argparse.Namespace) -> selection.Plan:
    root = common.root(args)
    head = git.resolve(args.head or "HEAD", cwd=root, what="--head")
    if args.base:
        base = git.resolve(args.base, cwd=root, what="--base")
    else:
        branch = git.default_branch(cwd=root)
        if branch is None:
            raise UsageError("--base: no default branch found; pass --base REV")
        base = git.merge_base(branch, head, cwd=root)
    changes = [
        candidates.Change(path, status, old)
        for status, path, old in git.changed_paths(base, head, cwd=root)
    ]
    scenarios_dir = Path(args.scenarios_dir)
    if not scenarios_dir.is_absolute():
        scenarios_dir = root / scenarios_dir
    scenarios = [s for s in load_all(scenarios_dir) if not args.tag or args.tag in s.tags]
    infos = [candidates.scenario_info(s, root=root) for s in scenarios]
    dm = depmap.load(Path(args.depmap) if args.depmap else depmap.default_path(root))
    files = {name: (e.imported, e.opened) for name, e in dm.entries.items()}
    hist = depmap.history(dm)
    history = selection.History(
        days_since={n: h["days_since"] for n, h in hist.items() if "days_since" in h},
        paths={n: h["paths"] for n, h in hist.items()},
    )
    settings = selection.Settings(
        seeds=candidates.DEFAULT_SEEDS + tuple(args.seed_glob or ()),
        ignore=candidates.DEFAULT_IGNORE + tuple(args.ignore_glob or ()),
        pairs=args.pairs,
        explore_fraction=args.explore,
        seed=int(head[:8], 16) if args.seed is None else args.seed,
    )
    return selection.plan(
        changes,
        infos,
        files,
        budget_cpu_s=args.budget_cpu_s,
        budget_gpu_s=args.budget_gpu_s,
        history=history,
        settings=settings,
    )


def plan_text(p: selection.Plan) -> str:
    rows = [["scenario", "why", "score", "cost", "runner", "reason"]]
    for pick in p.selected:
        rows.append(
            [
                pick.scenario,
                pick.why,
                f"{pick.score * 1000:.2f}",
                report.fmt_s(pick.cost_s),
                " ".join(pick.runner),
                pick.reason,
            ]
        )
    return render("plan.txt.j2", plan=p, rows=rows if len(rows) > 1 else [])


def run(args: argparse.Namespace) -> int:
    p = build_plan(args)
    doc = p.to_json()
    if args.json:
        results.write_json(args.json, doc)
    if args.matrix:
        print(json.dumps(doc["matrix"], separators=(",", ":")))
    else:
        print(plan_text(p), end="")
    return 0


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "select",
        parents=parents,
        help="pick the scenarios a change can affect, within CPU/GPU budgets",
        description=selection.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--base", metavar="REV", help="default: merge-base with the default branch")
    s.add_argument("--head", metavar="REV", help="default: HEAD")
    s.add_argument(
        "--budget-cpu-s",
        type=common.nonneg_float,
        default=900.0,
        help="CPU-seconds for the whole plan (default 900)",
    )
    s.add_argument(
        "--budget-gpu-s",
        type=common.nonneg_float,
        default=0.0,
        help="GPU-seconds for the whole plan (default 0)",
    )
    s.add_argument(
        "--pairs",
        type=common.positive_int,
        default=20,
        help="planned pairs per scenario, for costs (default 20)",
    )
    s.add_argument(
        "--explore",
        type=common.fraction,
        default=0.1,
        help="share of each budget for random exploration (default 0.1)",
    )
    s.add_argument("--seed", type=int, help="exploration seed (default: from the head commit)")
    s.add_argument("--tag", help="only scenarios with this tag (e.g. pr)")
    s.add_argument(
        "--depmap",
        metavar="PATH",
        help="dependency map: a history database or a .json file (default: the history)",
    )
    s.add_argument(
        "--seed-glob",
        action="append",
        metavar="GLOB",
        help="another file pattern that can change everything (repeatable)",
    )
    s.add_argument(
        "--ignore-glob",
        action="append",
        metavar="GLOB",
        help="another pattern that never affects TTFB, e.g. docs (repeatable)",
    )
    s.add_argument("--matrix", action="store_true", help="print only the GitHub Actions matrix")
    s.set_defaults(func=run)
