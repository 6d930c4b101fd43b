"""The one serializer of a comparison: typed outcomes → the versioned results document.

Every report, comment and later job (the report job reads it from an artifact, as data) works
from this document; nothing else writes it. ``bot/schemas/results.schema.json`` describes it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from .. import __version__
from ..exec import host
from ..model import Pair, Verdict
from ..stats import paired
from ..stats.endpoints import Endpoint, confirmation_values
from ..stats.summary import evaluation_values
from ..stats.verdict import Analysis, Policy
from .arms import Arm
from .engine import Comparison, ScenarioOutcome
from .envs import package_changes
from .prepare import Prepared

COMPARE_VERSION = 1
CORRECTION = (
    "paired t-test on log ratios (segments: on differences); alpha spent across planned looks "
    "by Lan-DeMets Pocock-type spending; Holm across a scenario's endpoints; Holm across "
    "scenarios; confirmation by a one-sided t-test on fresh pairs"
)


def effective_alpha(analysis: Analysis, alpha: float) -> float:
    """The per-endpoint level this look actually tests at (Bonferroni view of the corrections)."""
    usable = sum(1 for e in analysis.endpoints if e.p_adjusted is not None) or 1
    return alpha * analysis.look_weight / (usable * analysis.family_factor)


def endpoint_json(e: Endpoint) -> dict[str, Any]:
    r = e.result
    return {
        "key": e.key,
        "label": e.label,
        "kind": e.kind,
        "base_median_s": e.base_median_s,
        "head_median_s": e.head_median_s,
        "delta_pct": r.delta_pct,
        "ci_low_pct": r.ci_low_pct,
        "ci_high_pct": r.ci_high_pct,
        "delta_s": r.delta_s if r.delta_s is not None else e.head_median_s - e.base_median_s,
        "p_ttest": r.p_ttest,
        "p_wilcoxon": r.p_wilcoxon,
        "p_adjusted": e.p_adjusted,
        "significant": e.significant,
        "mde_pct": r.mde_pct,
        "sd": r.sd,
    }


def _skeleton(o: ScenarioOutcome) -> dict[str, Any]:
    """The fields every scenario has, filled in for one that was never measured."""
    t, d = o.target, o.decision
    return {
        "name": t.name,
        "description": t.description,
        "verdict": d.verdict.value,
        "reason": d.reason,
        "notes": list(d.notes),
        "threshold_pct": t.threshold_pct,
        "threshold_note": t.threshold_note,
        "skipped": t.skipped,
        "error": d.reason if d.verdict is Verdict.BROKEN else None,
        "delta_pct": None,
        "ci_low_pct": None,
        "ci_high_pct": None,
        "p_ttest": None,
        "p_wilcoxon": None,
        "p_adjusted": None,
        "pairs": 0,
        "confirmed": None,
        "mde_pct": None,
        "mde_phase_pct": None,
        "mde_phase_max_pct": None,
        "base": {"median_s": None},
        "head": {"median_s": None},
        "phases": [],
        "cpu": None,
        "finding": None,
        "confirmation": None,
        "stop_reason": o.primary.stop_reason if o.primary else None,
        "looks": list(o.primary.looks_done) if o.primary else [],
        "samples": _samples_json(o),
        "shrink": {
            "base": t.base.shrink if t.base else None,
            "head": t.head.shrink if t.head else None,
        },
        "prepare": {arm: p.to_json() for arm, p in t.prepared.items()} or None,
        "dependencies": dependencies_json(t.prepared),
    }


def dependencies_json(prepared: Mapping[str, Prepared]) -> dict[str, Any] | None:
    """Which dependency files and package versions differ between the arms' environments."""
    base, head = prepared.get("base"), prepared.get("head")
    if base is None or head is None or base.environment is None or head.environment is None:
        return None
    b, h = base.environment, head.environment
    return {
        "shared": b.key == h.key,
        "files_changed": sorted(
            f for f in set(b.files) | set(h.files) if b.files.get(f) != h.files.get(f)
        ),
        "packages": [
            {"name": n, "base": bv, "head": hv}
            for n, bv, hv in package_changes(b.packages, h.packages)
        ],
    }


def _stages(o: ScenarioOutcome) -> tuple[tuple[str, Sequence[Pair]], ...]:
    if o.primary is None:
        return ()
    return (("primary", o.primary.pairs), ("confirm", o.confirmation_pairs))


def _samples_json(o: ScenarioOutcome) -> list[dict[str, Any]]:
    return [p.row(stage) for stage, pairs in _stages(o) for p in pairs]


def _measured(a: Analysis, policy: Policy) -> dict[str, Any]:
    """Whole TTFB, phases, CPU and what the run could detect, from the final analysis."""
    total = a.total
    r = total.result
    level = effective_alpha(a, policy.alpha)
    segments = [e for e in a.endpoints if e.kind == "segment"]
    # Phase-level sensitivity, over segments long enough (>= 1% of TTFB) to hold a change.
    seg_mdes = [
        m
        for e in segments
        if e.base_median_s >= 0.01 * total.base_median_s
        and (m := paired.mde(e.result.sd, e.result.n, alpha=level))
    ]
    total_mde = paired.mde(r.sd, r.n, alpha=level)
    doc: dict[str, Any] = {
        "delta_pct": r.delta_pct,
        "ci_low_pct": r.ci_low_pct,
        "ci_high_pct": r.ci_high_pct,
        "p_ttest": r.p_ttest,
        "p_wilcoxon": r.p_wilcoxon,
        "p_adjusted": total.p_adjusted,
        "pairs": a.n,
        "mde_pct": math.expm1(total_mde) * 100 if total_mde else None,
        "mde_phase_pct": (min(seg_mdes) * 100 / total.base_median_s) if seg_mdes else None,
        "mde_phase_max_pct": (max(seg_mdes) * 100 / total.base_median_s) if seg_mdes else None,
        "effective_alpha": level,
        "base": {"median_s": total.base_median_s},
        "head": {"median_s": total.head_median_s},
        "phases": [endpoint_json(e) for e in segments],
    }
    cpu = a.endpoint("cpu")
    if cpu is not None:
        doc["cpu"] = endpoint_json(cpu)
        doc["base"]["cpu_median_s"] = cpu.base_median_s
        doc["head"]["cpu_median_s"] = cpu.head_median_s
    return doc


def _evidence(o: ScenarioOutcome) -> dict[str, Any]:
    """The finding and its confirmation run, if there was one."""
    d = o.decision
    doc: dict[str, Any] = {}
    if d.finding is not None:
        f = d.finding
        doc["finding"] = asdict(f)
        if f.endpoint.startswith("segment:"):
            doc["finding"]["values_s"] = {
                stage: confirmation_values(pairs, f.endpoint) for stage, pairs in _stages(o)
            }
        doc["confirmed"] = d.confirmed
    if d.confirmation is not None:
        doc["confirmation"] = {**asdict(d.confirmation), "note": o.confirmation_note}
    return doc


def scenario_json(o: ScenarioOutcome, policy: Policy) -> dict[str, Any]:
    """One scenario of the results document."""
    doc = _skeleton(o)
    if o.analysis is not None:
        doc.update(_measured(o.analysis, policy))
        doc.update(_evidence(o))
    doc["instructions"] = o.work.work.to_json() if o.work and o.work.work else None
    doc["attribution"] = dict(o.attribution) if o.attribution is not None else None
    if o.work and o.work.note:
        doc["instructions_note"] = o.work.note
    if o.primary is not None:
        for arm in ("base", "head"):
            ok = [getattr(p, arm) for p in o.primary.pairs if getattr(p, arm).ok]
            values = evaluation_values(ok)
            if values:
                doc[arm]["eval_median_s"] = statistics.median(values)
                doc[arm]["eval_forwards"] = int(statistics.median(s.eval_forwards for s in ok))
    return doc


def policy_json(policy: Policy) -> dict[str, Any]:
    return {
        "alpha": policy.alpha,
        "confirm_alpha": policy.confirm_alpha,
        "looks": list(policy.looks),
        "decision_test": "ttest",
        "correction": CORRECTION,
    }


def stored_document(o: ScenarioOutcome, policy: Policy) -> dict[str, Any]:
    """What the history keeps of one outcome beside its samples and comparison row: the
    results document of that one scenario without its per-sample list (the samples table
    holds those), so a report rebuilt from the history says what the comment said."""
    entry = {k: v for k, v in scenario_json(o, policy).items() if k != "samples"}
    return {
        "version": COMPARE_VERSION,
        "kind": "ttfb-compare",
        "tool": f"ttfb-lab {__version__}",
        "policy": policy_json(policy),
        "scenarios": [entry],
    }


def results_document(
    comparison: Comparison,
    *,
    base: Arm,
    head: Arm,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The versioned JSON every report, comment and later job reads."""
    policy = comparison.policy
    return {
        "version": COMPARE_VERSION,
        "kind": "ttfb-compare",
        "tool": f"ttfb-lab {__version__}",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "base": base.to_json(),
        "head": head.to_json(),
        "policy": policy_json(policy),
        "machine": host.machine_facts(),
        "elapsed_s": comparison.elapsed_s,
        **(extra or {}),
        "scenarios": [scenario_json(o, policy) for o in comparison.outcomes],
    }
