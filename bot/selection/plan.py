"""Predictive scenario selection: changed paths → ranked scenarios → a plan within budget. Pure.

The caller supplies the changes (from git), the scenarios, the dependency map and what past
compares taught (``Learned``).

**Candidates** (``bot.selection.candidates``). A changed path touches a scenario if the
scenario *imported* it at its first batch, *opened* it, matches one of its ``paths`` globs, or
is a *seed* file (dependency manifests, lock files, Dockerfiles, ``.github/**``, the scenario's
own YAML and config files). Seed and own-file hits make a scenario a **must-run**.

**Value.** Each touch has a strength (import 1.0 > open 0.6 > glob 0.35 > seed 0.25); with a
rate ``r`` at which changes to that file moved the scenario's TTFB (Beta(1, 9) prior:
(moved + 1) / (compares + 10)), the chance that the change moves the scenario is
``1 - Π(1 - strength · r)`` over its touches, raised by up to ×2 for a scenario not run for 30
days. **Cost** is ``est_seconds × (2 · pairs + 2)``, plus ``est_seconds × slowdown × 6`` for a
scenario whose CPU work is counted (``Settings.count_slowdown``).

**Coverage.** A regression lives in the changed code; scenarios are detectors of it. Once a
chosen scenario imports a changed path, a second importer of the same path adds little: each
path keeps a residual ``Π(1 - strength)`` over the scenarios already chosen, and a candidate's
*gain* is its value computed with ``strength · residual`` in place of ``strength``. Each budget
(CPU-seconds, GPU-seconds) is filled after the must-runs by the greedy rule for budgeted
coverage: the largest gain per second next, ties to the larger standalone value per second,
then to the scenario whose name or own files share a word with a changed file's name
(``datasets/ranker.py`` → ``ranker-cpu``: before a run has mapped imports, a glob reaches
many scenarios alike), then the name.

**Exploration.** So that misses of the map show up and recall can be measured without bias,
with probability ``explore`` (seeded per head commit) *one* scenario nothing selected is drawn
at random and run, if it fits what is left of its budget. It never takes a GPU scenario unless
``explore_gpu`` is set, and never runs for a change whose every path is ignored (docs).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from ..model import COUNT_CAP_S
from .candidates import (
    DEFAULT_IGNORE,
    DEFAULT_SEEDS,
    ORDER,
    Change,
    ScenarioInfo,
    Touch,
    affinity,
    is_ignored,
    is_self_hosted,
    touches,
)
from .depmap_model import DepMap

PLAN_VERSION = 1
EPSILON_S = 1e-6  # a budget that equals the cost exactly must fit, whatever the rounding
STRENGTH = {"import": 1.0, "open": 0.6, "glob": 0.35, "seed": 0.25}
FileMap = Mapping[str, tuple[frozenset[str], frozenset[str]]]
"""scenario → (files it imported, files it opened)."""


@dataclass(frozen=True)
class Learned:
    """What past compares say, per scenario: for each changed file, (compares whose change
    touched it, of which moved the scenario's TTFB) in ``paths``; days since the last run.

    There is deliberately no per-scenario rate. Verdicts exist only for the scenarios a plan
    ran, and a scenario picked for many shared-module changes (which move everything) would
    gather a high rate and then outrank, through a mere glob, the scenario that imports the
    changed file: replaying the selection benchmark with such a rate cut recall at a third
    of the suite from 23/24 to 18–19/24.
    """

    days_since: Mapping[str, float] = field(default_factory=dict)
    paths: Mapping[str, Mapping[str, tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def from_depmap(cls, dm: DepMap, *, now: datetime | None = None) -> Learned:
        now = now or datetime.now(timezone.utc)
        days: dict[str, float] = {}
        for name, e in dm.entries.items():
            if e.last_run:
                then = datetime.strptime(e.last_run, "%Y-%m-%dT%H:%M:%SZ")
                days[name] = (now - then.replace(tzinfo=timezone.utc)).total_seconds() / 86400
        return cls(days, {name: dict(e.paths) for name, e in dm.entries.items()})

    def path_rate(self, name: str, path: str) -> float:
        """How often changes to ``path`` moved ``name``: Beta(1, 9) prior, so a file with no
        history counts 0.1, and ten compares weigh as much as the prior."""
        compares, moved = self.paths.get(name, {}).get(path, (0, 0))
        return (moved + 1) / (compares + 10)

    def staleness(self, name: str) -> float:
        days = self.days_since.get(name)
        return 2.0 if days is None else 1.0 + min(days, 30.0) / 30.0


def files_of(dm: DepMap) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """The file map selection reads from a dependency map."""
    return {n: (e.imported, e.opened) for n, e in dm.entries.items()}


@dataclass(frozen=True)
class Settings:
    seeds: tuple[str, ...] = DEFAULT_SEEDS
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    pairs: int = 20  # planned pairs per scenario (first look + confirmation)
    explore: float = 0.1  # chance of running one scenario nothing selected
    explore_gpu: bool = False  # may exploration spend the GPU budget?
    seed: int = 0
    # Counting CPU work (instructions) costs est_seconds × slowdown per counting run; 0: no
    # counting (no backend, or --instructions off).
    count_slowdown: float = 0.0
    count_runs: int = 4  # 1+1 counts, and 1+1 more to confirm a finding


def cost_of(s: ScenarioInfo, settings: Settings) -> float:
    """Seconds a scenario is expected to take: its pairs, and its counting runs if counted.
    Counting is capped by the time of the timed samples, and 5 minutes (``bot.ab.counting``):
    a count that would not fit is not started, so it never costs more than that."""
    timed = s.est_seconds * (2 * settings.pairs + 2)
    runs = s.est_seconds * settings.count_slowdown * settings.count_runs if s.counted else 0.0
    return timed + min(runs, timed, COUNT_CAP_S)


PickWhy = Literal["must-run", "ranked", "exploration", "requested"]
"""Why a scenario is in the plan."""


@dataclass(frozen=True)
class Pick:
    scenario: str
    reason: str
    score: float
    cost_s: float
    runner: tuple[str, ...]
    gpu: bool
    why: PickWhy

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "reason": self.reason,
            "score": round(self.score, 4),
            "cost_s": round(self.cost_s, 1),
            "runner": list(self.runner),
            "why": self.why,
            "gpu": self.gpu,
        }


@dataclass(frozen=True)
class Plan:
    selected: tuple[Pick, ...]
    skipped: tuple[tuple[str, str], ...]
    unmapped: tuple[str, ...]
    ignored: tuple[str, ...]
    budget: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    def matrix(self) -> dict[str, Any]:
        """GitHub Actions matrix: one entry per selected scenario, on its runner labels."""
        family = len(self.selected)
        return {
            "include": [
                {"scenario": p.scenario, "runs-on": list(p.runner), "gpu": p.gpu, "family": family}
                for p in self.selected
            ]
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "kind": "ttfb-plan",
            "selected": [p.to_json() for p in self.selected],
            "skipped": [{"scenario": s, "reason": r} for s, r in self.skipped],
            "unmapped": list(self.unmapped),
            "ignored": list(self.ignored),
            "budget": dict(self.budget),
            "warnings": list(self.warnings),
            "matrix": self.matrix(),
        }


def _reason(ts: Sequence[Touch]) -> str:
    best = sorted(ts, key=lambda t: ORDER.index(t.how))
    shown = ", ".join(f"{t.path} ({t.how})" for t in best[:3])
    return shown + (f" and {len(best) - 3} more" if len(best) > 3 else "")


class _Selection:
    """The plan being built: budgets left, coverage of the changed paths, picks and skips."""

    def __init__(
        self,
        scenarios: Sequence[ScenarioInfo],
        per: Mapping[str, list[Touch]],
        budgets: Mapping[str, float],
        settings: Settings,
        learned: Learned,
    ) -> None:
        self.info = {s.name: s for s in scenarios}
        self.per = per
        self.budgets = dict(budgets)
        self.left = dict(budgets)
        self.learned = learned
        self.cost = {s.name: cost_of(s, settings) for s in scenarios}
        # per changed path: the share a regression in it would stay unseen by the chosen ones
        self.residual: dict[str, float] = {}
        self.first_cover: dict[str, str] = {}
        self.selected: list[Pick] = []
        self.skipped: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def pool(self, name: str) -> str:
        return "gpu" if self.info[name].gpu else "cpu"

    def fits(self, name: str) -> bool:
        return self.cost[name] <= self.left[self.pool(name)] + EPSILON_S

    def value(self, name: str, *, covered: bool = False) -> float:
        """The chance the change moves ``name`` (× staleness); with ``covered``, only the part
        of each changed path that the scenarios already chosen leave unseen counts."""
        miss = 1.0
        for t in self.per[name]:
            left = self.residual.get(t.path, 1.0) if covered else 1.0
            miss *= 1.0 - STRENGTH.get(t.how, 1.0) * left * self.learned.path_rate(name, t.path)
        return (1.0 - miss) * self.learned.staleness(name)

    def take(self, name: str, why: PickWhy, gain: float, reason: str) -> None:
        self.left[self.pool(name)] -= self.cost[name]
        s = self.info[name]
        if name in self.per:
            covered = sorted(
                {self.first_cover[t.path] for t in self.per[name] if t.path in self.first_cover}
            )
            if gain <= 0.0 and covered:
                reason += f"; its paths are covered by {', '.join(covered)} already"
            for t in self.per[name]:
                self.residual[t.path] = self.residual.get(t.path, 1.0) * (
                    1.0 - STRENGTH.get(t.how, 1.0)
                )
                self.first_cover.setdefault(t.path, name)
        score = gain / self.cost[name] if self.cost[name] else 0.0
        self.selected.append(Pick(name, reason, score, self.cost[name], s.runner, bool(s.gpu), why))

    def order(self, name: str, gain: float, standalone: float) -> tuple[float, float, int, str]:
        """Sort key: gain per second, standalone value per second, name affinity, name."""
        cost, near = self.cost[name], affinity(self.info[name], self.per[name])
        return (-gain / cost, -standalone / cost, -near, name)

    def over_budget(self, name: str) -> str:
        b = self.pool(name)
        if b == "gpu" and self.budgets["gpu"] <= 0:
            return "no GPU budget"
        return f"over the {b.upper()} budget ({self.cost[name]:.0f} s > {self.left[b]:.0f} s left)"

    def must_runs(self, names: Sequence[str]) -> None:
        for name in names:
            if self.fits(name):
                self.take(name, "must-run", self.value(name), _reason(self.per[name]))
                continue
            b = self.pool(name)
            self.skipped.append((name, f"must-run, but {self.over_budget(name)}"))
            self.warnings.append(
                f"must-run scenario {name} dropped: the {b.upper()} budget "
                f"({self.budgets[b]:.0f} s) is too small for the must-run set"
            )

    def ranked(self, names: Sequence[str], standalone: Mapping[str, float]) -> None:
        """Budgeted-coverage greedy: recompute each candidate's gain after every pick."""
        rest = list(names)
        while rest:
            gains = {n: self.value(n, covered=True) for n in rest}
            name = min(rest, key=lambda n: self.order(n, gains[n], standalone[n]))
            rest.remove(name)
            if self.fits(name):
                self.take(name, "ranked", gains[name], _reason(self.per[name]))
            else:
                self.skipped.append((name, self.over_budget(name)))

    def explore(self, names: Sequence[str], settings: Settings) -> None:
        """At most one scenario nothing selected, with probability ``settings.explore``."""
        rng = random.Random(settings.seed)
        eligible = [
            n for n in names if self.fits(n) and (self.pool(n) == "cpu" or settings.explore_gpu)
        ]
        if eligible and rng.random() < settings.explore:
            pick = rng.choice(eligible)
            self.take(pick, "exploration", 0.0, "exploration (random, to measure recall)")
        for name in names:
            if name not in {p.scenario for p in self.selected}:
                self.skipped.append((name, "not affected by the change"))


def plan(
    changes: Sequence[Change],
    scenarios: Sequence[ScenarioInfo],
    depmap: FileMap,
    *,
    budget_cpu_s: float,
    budget_gpu_s: float,
    learned: Learned | None = None,
    settings: Settings | None = None,
) -> Plan:
    """Choose scenarios for ``changes`` within the budgets (see the module docstring)."""
    settings = settings or Settings()
    relevant = [c for c in changes if not all(is_ignored(p, settings.ignore) for p in c.paths)]
    ignored = tuple(sorted(c.path for c in changes if c not in relevant))
    per = {s.name: ts for s in scenarios if (ts := touches(relevant, s, depmap, settings.seeds))}
    reached = {t.path for ts in per.values() for t in ts}
    unmapped = tuple(sorted(c.path for c in relevant if not set(c.paths) & reached))
    sel = _Selection(
        scenarios, per, {"cpu": budget_cpu_s, "gpu": budget_gpu_s}, settings, learned or Learned()
    )
    standalone = {n: sel.value(n) for n in per}
    ranked = sorted(per, key=lambda n: sel.order(n, standalone[n], standalone[n]))
    must = [n for n in ranked if any(t.how in ("own", "seed") for t in per[n])]
    sel.must_runs(must)
    sel.ranked([n for n in ranked if n not in must], standalone)
    others = [s.name for s in scenarios if s.name not in per]
    if relevant:
        sel.explore(others, settings)
    else:
        sel.skipped.extend((n, "not affected by the change") for n in others)
    return Plan(
        selected=tuple(sel.selected),
        skipped=tuple(sorted(sel.skipped)),
        unmapped=unmapped,
        ignored=ignored,
        budget=_budget_json(sel, settings),
        warnings=tuple(sel.warnings),
    )


def _budget_json(sel: _Selection, settings: Settings) -> dict[str, Any]:
    spent = {b: sum(p.cost_s for p in sel.selected if sel.pool(p.scenario) == b) for b in sel.left}
    return {
        "cpu_s": sel.budgets["cpu"],
        "gpu_s": sel.budgets["gpu"],
        "cpu_spent_s": spent["cpu"],
        "gpu_spent_s": spent["gpu"],
        "explore_probability": settings.explore,
        "explore_gpu": settings.explore_gpu,
        "pairs": settings.pairs,
        "count_slowdown": settings.count_slowdown,
    }


def plan_requested(
    scenarios: Sequence[ScenarioInfo],
    *,
    requested_by: str,
    pairs: int = 20,
    settings: Settings | None = None,
) -> Plan:
    """A plan of exactly the scenarios someone asked for (``/ttfb rerun scenario=…``)."""
    who = f"requested by @{requested_by}" if requested_by else "requested"
    settings = replace(settings or Settings(), pairs=pairs)
    picks = tuple(
        Pick(s.name, who, 0.0, cost_of(s, settings), s.runner, bool(s.gpu), "requested")
        for s in scenarios
    )
    spent = {b: sum(p.cost_s for p in picks if p.gpu == (b == "gpu")) for b in ("cpu", "gpu")}
    budget = {
        "cpu_s": spent["cpu"],
        "gpu_s": spent["gpu"],
        "cpu_spent_s": spent["cpu"],
        "gpu_spent_s": spent["gpu"],
        "explore_probability": 0.0,
        "explore_gpu": False,
        "pairs": pairs,
    }
    return Plan(picks, (), (), (), budget)


def with_runners(plan_: Plan, labels: Mapping[str, Sequence[str]]) -> Plan:
    """The plan with CPU and/or GPU scenarios sent to other runner labels (``cpu``/``gpu``)."""
    picks = tuple(
        replace(p, runner=tuple(labels.get("gpu" if p.gpu else "cpu") or p.runner))
        for p in plan_.selected
    )
    return replace(plan_, selected=picks)


def without_self_hosted(plan_: Plan, reason: str) -> Plan:
    """The plan minus scenarios bound for self-hosted runners (fork PRs must not reach them)."""
    keep = tuple(p for p in plan_.selected if not is_self_hosted(p.runner))
    dropped = tuple((p.scenario, reason) for p in plan_.selected if is_self_hosted(p.runner))
    if not dropped:
        return plan_
    return replace(
        plan_,
        selected=keep,
        skipped=tuple(sorted(plan_.skipped + dropped)),
        warnings=plan_.warnings + tuple(f"{s}: {r}" for s, r in dropped),
    )
