"""Predictive scenario selection: changed paths → ranked scenarios → a plan within budget.

Pure: the caller supplies the changes (from git), the scenarios, the dependency map and the
history. (Named ``selection`` rather than ``select`` so it can never shadow the stdlib module.)

**Candidates.** A changed path touches a scenario if the scenario *imported* it at its first
batch (learned map), *opened* it, matches one of its declared ``paths`` globs, or is a *seed* file
(dependency manifests, lock files, Dockerfiles, ``.github/**``, the scenario's own YAML and its
config files) — seed files make every scenario a candidate, and a hit on the scenario's own
files makes it a must-run. A renamed file counts under both names; a deleted one still counts.

**Value.** Each touch has a strength (import 1.0 > open 0.6 > glob 0.35 > seed 0.25); with a
rate ``r`` at which changes to that file moved the scenario's TTFB (stored verdicts of revision
compares, Beta(1, 9) prior: (moved + 1) / (compares + 10)), the chance that the change moves
the scenario is
``1 - Π(1 - strength · r)`` over its touches, raised by up to ×2 for a scenario not run for 30
days. **Cost** is ``est_seconds × (2 · pairs + 2)``.

**Coverage.** A regression lives in the changed code; scenarios are detectors of it. Once a
chosen scenario imports a changed path, a second importer of the same path adds little: each
path keeps a residual ``Π(1 - strength)`` over the scenarios already chosen, and a candidate's
*gain* is its value computed with ``strength · residual`` in place of ``strength``. Each budget
(CPU-seconds, GPU-seconds) is filled after the must-runs by the greedy rule for budgeted
coverage: the largest gain per second next, ties to the larger standalone value per second,
then the name. So a tight budget first spreads over the changed paths (the cheapest scenario
that reaches each), and a loose one still runs every candidate. A seeded random exploration
slice (10% by default) of each budget then runs scenarios nothing selected, so misses of the
map can be measured without bias.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .candidates import (
    DEFAULT_IGNORE,
    DEFAULT_SEEDS,
    ORDER,
    Change,
    ScenarioInfo,
    Touch,
    is_ignored,
    touches,
)

PLAN_VERSION = 1
EPSILON_S = 1e-6  # a budget that equals the cost exactly must fit, whatever the rounding
STRENGTH = {"import": 1.0, "open": 0.6, "glob": 0.35, "seed": 0.25}


@dataclass(frozen=True)
class History:
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

    def path_rate(self, name: str, path: str) -> float:
        """How often changes to ``path`` moved ``name``: Beta(1, 9) prior, so a file with no
        history counts 0.1, and ten compares weigh as much as the prior."""
        compares, moved = self.paths.get(name, {}).get(path, (0, 0))
        return (moved + 1) / (compares + 10)

    def staleness(self, name: str) -> float:
        days = self.days_since.get(name)
        return 2.0 if days is None else 1.0 + min(days, 30.0) / 30.0


@dataclass(frozen=True)
class Settings:
    seeds: tuple[str, ...] = DEFAULT_SEEDS
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    pairs: int = 20  # planned pairs per scenario (first look + confirmation)
    explore_fraction: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class Pick:
    scenario: str
    reason: str
    score: float
    cost_s: float
    runner: tuple[str, ...]
    gpu: bool
    why: str  # must-run | ranked | exploration

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
    budget: Mapping[str, float]
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


def _value(
    ts: Sequence[Touch],
    name: str,
    history: History,
    residual: Mapping[str, float] | None = None,
) -> float:
    """The chance that the change moves ``name`` (× staleness); with ``residual``, only the
    part of each changed path that the scenarios already chosen leave uncovered counts."""
    miss = 1.0
    for t in ts:
        left = 1.0 if residual is None else residual.get(t.path, 1.0)
        miss *= 1.0 - STRENGTH.get(t.how, 1.0) * left * history.path_rate(name, t.path)
    return (1.0 - miss) * history.staleness(name)


def _reason(ts: Sequence[Touch]) -> str:
    best = sorted(ts, key=lambda t: ORDER.index(t.how))
    shown = ", ".join(f"{t.path} ({t.how})" for t in best[:3])
    return shown + (f" and {len(best) - 3} more" if len(best) > 3 else "")


def plan(
    changes: Sequence[Change],
    scenarios: Sequence[ScenarioInfo],
    depmap: Mapping[str, tuple[frozenset[str], frozenset[str]]],
    *,
    budget_cpu_s: float,
    budget_gpu_s: float,
    history: History | None = None,
    settings: Settings | None = None,
) -> Plan:
    """Choose scenarios for ``changes`` within the budgets (see the module docstring)."""
    history = history or History()
    settings = settings or Settings()
    relevant = [c for c in changes if not all(is_ignored(p, settings.ignore) for p in c.paths)]
    ignored = tuple(sorted(c.path for c in changes if c not in relevant))
    per: dict[str, list[Touch]] = {}
    for s in scenarios:
        ts = touches(relevant, s, depmap, settings.seeds)
        if ts:
            per[s.name] = ts
    reached = {t.path for ts in per.values() for t in ts}
    unmapped = tuple(sorted(c.path for c in relevant if not set(c.paths) & reached))

    budgets = {"cpu": budget_cpu_s, "gpu": budget_gpu_s}
    explore = {k: v * settings.explore_fraction for k, v in budgets.items()}
    left = {k: v - explore[k] for k, v in budgets.items()}
    cost = {s.name: s.est_seconds * (2 * settings.pairs + 2) for s in scenarios}
    info = {s.name: s for s in scenarios}
    selected: list[Pick] = []
    skipped: list[tuple[str, str]] = []
    warnings: list[str] = []

    def pool(s: ScenarioInfo) -> str:
        return "gpu" if s.gpu else "cpu"

    # per changed path: the share a regression in it would stay unseen by the chosen scenarios
    residual: dict[str, float] = {}
    first_cover: dict[str, str] = {}

    def take(name: str, why: str, gain: float, reason: str) -> bool:
        # a candidate outranks a random draw: it may spend the exploration reserve too
        s = info[name]
        b = pool(s)
        if cost[name] > left[b] + explore[b] + EPSILON_S:
            return False
        spill = max(0.0, cost[name] - left[b])
        left[b] -= cost[name] - spill
        explore[b] -= spill
        covered = sorted({first_cover[t.path] for t in per[name] if t.path in first_cover})
        if gain <= 0.0 and covered:
            reason += f"; its paths are covered by {', '.join(covered)} already"
        selected.append(
            Pick(name, reason, gain / cost[name], cost[name], s.runner, bool(s.gpu), why)
        )
        for t in per[name]:
            residual[t.path] = residual.get(t.path, 1.0) * (1.0 - STRENGTH.get(t.how, 1.0))
            first_cover.setdefault(t.path, name)
        return True

    standalone = {n: _value(per[n], n, history) for n in per}
    ranked = sorted(per, key=lambda n: (-standalone[n] / cost[n], n))
    must = [
        n
        for n in ranked
        if any(t.how == "own" for t in per[n]) or any(t.how == "seed" for t in per[n])
    ]
    for name in must:
        if not take(name, "must-run", standalone[name], _reason(per[name])):
            b = pool(info[name])
            skipped.append(
                (
                    name,
                    f"must-run, but over the {b.upper()} budget "
                    f"({cost[name]:.0f} s > {left[b] + explore[b]:.0f} s left)",
                )
            )
            warnings.append(
                f"must-run scenario {name} dropped: the {b.upper()} budget "
                f"({budgets[b]:.0f} s) is too small for the must-run set"
            )
    rest_ = [n for n in ranked if n not in must]
    while rest_:  # budgeted-coverage greedy: recompute each candidate's gain after every pick
        gains = {n: _value(per[n], n, history, residual) for n in rest_}
        name = min(rest_, key=lambda n: (-gains[n] / cost[n], -standalone[n] / cost[n], n))
        rest_.remove(name)
        if not take(name, "ranked", gains[name], _reason(per[name])):
            b = pool(info[name])
            why = (
                "no GPU budget"
                if b == "gpu" and budgets["gpu"] <= 0
                else f"over the {b.upper()} budget ({cost[name]:.0f} s > "
                f"{left[b] + explore[b]:.0f} s left)"
            )
            skipped.append((name, why))
    # Exploration: a seeded draw among scenarios nothing selected, within the held-back slice.
    chosen = {p.scenario for p in selected} | {n for n, _ in skipped}
    rng = random.Random(settings.seed)
    rest = [s.name for s in scenarios if s.name not in chosen]
    rng.shuffle(rest)
    for name in rest:  # none of these is a candidate: every candidate was taken or skipped
        b = pool(info[name])
        if cost[name] <= explore[b] + EPSILON_S:
            explore[b] -= cost[name]
            selected.append(
                Pick(
                    name,
                    "exploration (random, to measure recall)",
                    0.0,
                    cost[name],
                    info[name].runner,
                    bool(info[name].gpu),
                    "exploration",
                )
            )
        else:
            skipped.append((name, "not affected by the change"))
    spent = {b: sum(p.cost_s for p in selected if pool(info[p.scenario]) == b) for b in budgets}
    return Plan(
        selected=tuple(selected),
        skipped=tuple(sorted(skipped)),
        unmapped=unmapped,
        ignored=ignored,
        budget={
            "cpu_s": budget_cpu_s,
            "gpu_s": budget_gpu_s,
            "cpu_spent_s": spent["cpu"],
            "gpu_spent_s": spent["gpu"],
            "explore_fraction": settings.explore_fraction,
            "pairs": settings.pairs,
        },
        warnings=tuple(warnings),
    )


def plan_requested(
    scenarios: Sequence[ScenarioInfo], *, requested_by: str, pairs: int = 20
) -> Plan:
    """A plan of exactly the scenarios someone asked for (``/ttfb rerun scenario=…``)."""
    who = f"requested by @{requested_by}" if requested_by else "requested"
    picks = tuple(
        Pick(s.name, who, 0.0, s.est_seconds * (2 * pairs + 2), s.runner, bool(s.gpu), "requested")
        for s in scenarios
    )
    spent = sum(p.cost_s for p in picks)
    return Plan(
        picks,
        (),
        (),
        (),
        {
            "cpu_s": spent,
            "gpu_s": 0.0,
            "cpu_spent_s": spent,
            "gpu_spent_s": 0.0,
            "explore_fraction": 0.0,
            "pairs": pairs,
        },
    )


def with_runners(plan_: Plan, labels: Mapping[str, Sequence[str]]) -> Plan:
    """The plan with CPU and/or GPU scenarios sent to other runner labels (``cpu``/``gpu``)."""
    picks = tuple(
        replace(p, runner=tuple(labels.get("gpu" if p.gpu else "cpu") or p.runner))
        for p in plan_.selected
    )
    return replace(plan_, selected=picks)


def without_self_hosted(plan_: Plan, reason: str) -> Plan:
    """The plan minus scenarios bound for self-hosted runners (fork PRs must not reach them)."""
    keep = tuple(p for p in plan_.selected if "self-hosted" not in p.runner)
    dropped = tuple((p.scenario, reason) for p in plan_.selected if "self-hosted" in p.runner)
    if not dropped:
        return plan_
    return replace(
        plan_,
        selected=keep,
        skipped=tuple(sorted(plan_.skipped + dropped)),
        warnings=plan_.warnings + tuple(f"{s}: {r}" for s, r in dropped),
    )
