"""Selection's one pipeline: the change between two commits, the scenarios, the learned map and
the budgets → the plan. ``ttfb select`` and the PR workflow's select job both call ``select``,
so a plan costs the same wherever it is made (counting included)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import git
from ..exec import counters
from ..model import CountingMode
from ..scenarios import Scenario
from ..selection import candidates
from ..selection.plan import Plan, Settings, plan, plan_requested
from ..store import depmap_db


@dataclass(frozen=True)
class SelectOptions:
    """What to plan for. ``requested``: exactly these scenarios (``/ttfb rerun scenario=…``)."""

    root: Path
    base: str  # a full commit id
    head: str
    scenarios: tuple[Scenario, ...]
    depmap: Path | None = None  # default: the history's map under the root
    budget_cpu_s: float = 3600.0
    budget_gpu_s: float = 0.0
    counting: CountingMode = "auto"
    pairs: int = 20
    explore: float = 0.1
    explore_gpu: bool = False
    seed: int | None = None  # exploration; default: from the head commit
    seed_globs: tuple[str, ...] = ()
    ignore_globs: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    requested_by: str = ""


def count_slowdown(mode: CountingMode) -> float:
    """What counting CPU work multiplies a scenario's sample time by, for the budget: the
    counting jobs use cachegrind on runners without hardware counters, unless it is off."""
    return 0.0 if mode == "off" else counters.BACKENDS["cachegrind"].slowdown


def settings(opts: SelectOptions) -> Settings:
    """The one place a plan's settings are built."""
    return Settings(
        seeds=candidates.DEFAULT_SEEDS + opts.seed_globs,
        ignore=candidates.DEFAULT_IGNORE + opts.ignore_globs,
        pairs=opts.pairs,
        explore=opts.explore,
        explore_gpu=opts.explore_gpu,
        seed=int(opts.head[:8], 16) if opts.seed is None else opts.seed,
        count_slowdown=count_slowdown(opts.counting),
    )


def select(opts: SelectOptions) -> Plan:
    """The plan for ``opts`` (see the module docstring)."""
    chosen = settings(opts)
    if opts.requested:
        known = {s.name: s for s in opts.scenarios}
        infos = [
            candidates.scenario_info(known[n], root=opts.root) for n in opts.requested if n in known
        ]
        return plan_requested(
            infos, requested_by=opts.requested_by, pairs=opts.pairs, settings=chosen
        )
    infos = [candidates.scenario_info(s, root=opts.root) for s in opts.scenarios]
    changes = candidates.changes_from(git.changed_paths(opts.base, opts.head, cwd=opts.root))
    files, learned = depmap_db.selection_inputs(opts.depmap or depmap_db.default_path(opts.root))
    return plan(
        changes,
        infos,
        files,
        budget_cpu_s=opts.budget_cpu_s,
        budget_gpu_s=opts.budget_gpu_s,
        learned=learned,
        settings=chosen,
    )
