"""``ttfb compare``: base vs head over one or more scenarios, to a versioned results document.

Order of work, so the corrections are exact:

1. every scenario's primary schedule (``runner.run_primary``), sampling with Bonferroni across
   scenarios as its stopping proxy;
2. Holm across scenarios on each scenario's smallest adjusted p (the final correction);
3. a confirmation run (fresh pairs, BAAB order) for each scenario with a finding;
4. verdicts (``verdict.decide``) and the JSON document ``report`` renders.

The time budget is shared: each scenario may use the remaining budget divided by the number of
scenarios still to run, 60% of it for the primary schedule and the rest for confirmation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from . import __version__, hostinfo, stats
from .arms import Arm
from .results import SampleLog
from .runner import ABRun, Scheduler, confirmation_size, run_confirmation, run_primary
from .sample import Executor, Job
from .verdict import (
    Analysis,
    Confirmation,
    Endpoint,
    Pair,
    Policy,
    Verdict,
    analyze,
    confirm,
    confirmation_values,
)
from .verdict import decide as decide_verdict

COMPARE_VERSION = 1
CORRECTION = (
    "paired t-test on log ratios (segments: on differences); alpha spent across planned looks "
    "by Lan-DeMets Pocock-type spending; Holm across a scenario's endpoints; Holm across "
    "scenarios; confirmation by a one-sided t-test on fresh pairs"
)
PRIMARY_SHARE = 0.6


@dataclass(frozen=True)
class Target:
    """One thing to compare: a scenario, or the arms' own commands."""

    name: str
    base: Job | None  # None: skipped
    head: Job | None
    threshold_pct: float
    threshold_note: str = "floor"
    skipped: str | None = None
    description: str = ""
    broken: str | None = None  # the arms could not even be prepared (e.g. shrink validation)


@dataclass(frozen=True)
class ScenarioOutcome:
    target: Target
    verdict: Verdict
    primary: ABRun | None
    analysis: Analysis | None
    confirmation_pairs: tuple[Pair, ...] = ()
    confirmation_note: str = ""


def _policy_for(policy: Policy, target: Target) -> Policy:
    return replace(policy, threshold_pct=target.threshold_pct, threshold_note=target.threshold_note)


def run_compare(
    targets: Sequence[Target],
    *,
    policy: Policy,
    executor: Executor,
    budget_s: float | None = None,
    log: SampleLog | None = None,
    progress: Callable[[str], None] | None = None,
    family_size: int | None = None,
) -> list[ScenarioOutcome]:
    """Run every target's A/B and return the outcomes (see the module docstring).

    ``family_size`` is the number of scenarios compared in the whole run when this process
    does only some of them (one CI job per scenario): the correction across scenarios is then
    Bonferroni over that many, since the other scenarios' p-values live in other jobs.
    """
    started = time.monotonic()
    end = started + budget_s if budget_s else None
    active = [t for t in targets if not t.skipped and not t.broken]
    family = max(1, len(active), family_size or 0)
    primaries: dict[str, ABRun] = {}
    schedulers: dict[str, Scheduler] = {}
    for i, target in enumerate(active):
        assert target.base is not None and target.head is not None
        sched = Scheduler(
            target.base,
            target.head,
            executor=executor,
            log=log,
            progress=progress,
            name=target.name,
        )
        schedulers[target.name] = sched
        deadline = None
        if end is not None:
            share = (end - time.monotonic()) / (len(active) - i)
            deadline = time.monotonic() + PRIMARY_SHARE * share
        primaries[target.name] = run_primary(
            sched, _policy_for(policy, target), family_factor=family, deadline=deadline
        )

    if family > len(active):
        finals = {
            t.name: analyze(
                primaries[t.name].pairs, _policy_for(policy, t), look=a.look, family_factor=family
            )
            for t in active
            if (a := primaries[t.name].analysis) is not None
        }
    else:
        finals = _holm_across(active, primaries, policy)
    outcomes: list[ScenarioOutcome] = []
    with_findings = [t for t in active if finals.get(t.name) and finals[t.name].finding]
    for target in targets:
        if target.skipped:
            outcomes.append(
                ScenarioOutcome(
                    target, decide_verdict(None, policy=policy, skipped=target.skipped), None, None
                )
            )
            continue
        primary = primaries[target.name]
        p = _policy_for(policy, target)
        if primary.broken:
            outcomes.append(
                ScenarioOutcome(
                    target, decide_verdict(None, policy=p, broken=primary.broken), primary, None
                )
            )
            continue
        analysis = finals.get(target.name)
        if analysis is None:
            verdict = Verdict("inconclusive", f"no pairs measured ({primary.stop_reason})")
            outcomes.append(ScenarioOutcome(target, verdict, primary, None))
            continue
        conf: Confirmation | None = None
        conf_pairs: tuple[Pair, ...] = ()
        note = ""
        if analysis.finding is not None:
            deadline = None
            if end is not None:
                left = max(1, len(with_findings) - with_findings.index(target))
                deadline = time.monotonic() + (end - time.monotonic()) / left
            size = confirmation_size(primary.pairs)
            if progress:  # a confirmation can take minutes: say so before it starts
                progress(f"{target.name}: confirming with {size} fresh pairs, BAAB order")
            conf_pairs, broken, note = run_confirmation(
                schedulers[target.name], size, deadline=deadline
            )
            if broken:
                verdict = decide_verdict(None, policy=p, broken=f"{broken} (confirmation run)")
                outcomes.append(
                    ScenarioOutcome(target, verdict, primary, analysis, conf_pairs, note)
                )
                continue
            if len(conf_pairs) >= 4:
                conf = confirm(analysis.finding, conf_pairs, p)
            if progress:
                state = "confirmed" if conf and conf.reproduced else "not reproduced"
                progress(f"{target.name}: confirmation, {note} → {state}")
        verdict = decide_verdict(analysis, policy=p, confirmation=conf)
        outcomes.append(ScenarioOutcome(target, verdict, primary, analysis, conf_pairs, note))
    return outcomes


def _holm_across(
    active: Sequence[Target], primaries: Mapping[str, ABRun], policy: Policy
) -> dict[str, Analysis]:
    """Re-analyse each scenario's last look with Holm across scenarios as its family factor."""
    done = {t.name: primaries[t.name].analysis for t in active}
    names = [n for n, a in done.items() if a is not None and a.min_p is not None]
    raw = [done[n].min_p or 1.0 for n in names]  # type: ignore[union-attr]
    adjusted = stats.holm(raw)
    finals: dict[str, Analysis] = {}
    for target in active:
        a = done[target.name]
        if a is None:
            continue
        factor = 1.0
        if target.name in names:
            i = names.index(target.name)
            factor = adjusted[i] / raw[i] if raw[i] > 0 else float(len(names))
        finals[target.name] = analyze(
            primaries[target.name].pairs,
            _policy_for(policy, target),
            look=a.look,
            family_factor=max(1.0, factor),
        )
    return finals


# --- the results document --------------------------------------------------------------------


def _endpoint_json(e: Endpoint) -> dict[str, Any]:
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


def effective_alpha(analysis: Analysis, alpha: float) -> float:
    """The per-endpoint level this look actually tests at (Bonferroni view of the corrections)."""
    usable = sum(1 for e in analysis.endpoints if e.p_adjusted is not None) or 1
    return alpha * analysis.look_weight / (usable * analysis.family_factor)


def _scenario_json(o: ScenarioOutcome, policy: Policy) -> dict[str, Any]:
    t = o.target
    v = o.verdict
    doc: dict[str, Any] = {
        "name": t.name,
        "description": t.description,
        "verdict": v.verdict,
        "reason": v.reason,
        "notes": list(v.notes),
        "threshold_pct": t.threshold_pct,
        "threshold_note": t.threshold_note,
        "skipped": t.skipped,
        "error": v.reason if v.verdict == "broken" else None,
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
        "samples": [],
        "shrink": {
            "base": t.base.shrink if t.base else None,
            "head": t.head.shrink if t.head else None,
        },
    }
    if o.primary is not None:
        doc["samples"] = [
            {
                "stage": stage,
                "block": p.block,
                "base_s": p.base.ttfb_s,
                "head_s": p.head.ttfb_s,
                "base_cpu_s": p.base.cpu_s,
                "head_cpu_s": p.head.cpu_s,
            }
            for stage, pairs in (("primary", o.primary.pairs), ("confirm", o.confirmation_pairs))
            for p in pairs
        ]
    a = o.analysis
    if a is None:
        return doc
    total = a.total
    r = total.result
    level = effective_alpha(a, policy.alpha)
    segments = [e for e in a.endpoints if e.kind == "segment"]
    # Phase-level sensitivity, over segments long enough (>= 1% of TTFB) to hold a change.
    seg_mdes = [
        m
        for e in segments
        if e.base_median_s >= 0.01 * total.base_median_s
        and (m := stats.mde(e.result.sd, e.result.n, alpha=level))
    ]
    total_mde = stats.mde(r.sd, r.n, alpha=level)
    doc.update(
        delta_pct=r.delta_pct,
        ci_low_pct=r.ci_low_pct,
        ci_high_pct=r.ci_high_pct,
        p_ttest=r.p_ttest,
        p_wilcoxon=r.p_wilcoxon,
        p_adjusted=total.p_adjusted,
        pairs=a.n,
        mde_pct=math.expm1(total_mde) * 100 if total_mde else None,
        mde_phase_pct=(min(seg_mdes) * 100 / total.base_median_s) if seg_mdes else None,
        mde_phase_max_pct=(max(seg_mdes) * 100 / total.base_median_s) if seg_mdes else None,
        effective_alpha=level,
        base={"median_s": total.base_median_s},
        head={"median_s": total.head_median_s},
        phases=[_endpoint_json(e) for e in segments],
    )
    cpu = a.endpoint("cpu")
    if cpu is not None:
        doc["cpu"] = _endpoint_json(cpu)
        doc["base"]["cpu_median_s"] = cpu.base_median_s
        doc["head"]["cpu_median_s"] = cpu.head_median_s
    if v.finding is not None:
        f = v.finding
        doc["finding"] = {
            "direction": f.direction,
            "kind": f.kind,
            "endpoint": f.endpoint,
            "effect_pct": f.effect_pct,
            "summary": f.summary,
        }
        if f.endpoint.startswith("segment:") and o.primary is not None:
            stages = (("primary", o.primary.pairs), ("confirm", o.confirmation_pairs))
            doc["finding"]["values_s"] = {
                stage: confirmation_values(pairs, f.endpoint) for stage, pairs in stages
            }
        doc["confirmed"] = bool(v.confirmation and v.confirmation.reproduced)
    if v.confirmation is not None:
        c = v.confirmation
        doc["confirmation"] = {
            "endpoint": c.endpoint,
            "pairs": c.n,
            "delta_pct": c.delta_pct,
            "ci_low_pct": c.ci_low_pct,
            "ci_high_pct": c.ci_high_pct,
            "p_one_sided": c.p_one_sided,
            "reproduced": c.reproduced,
            "note": o.confirmation_note,
        }
    return doc


def results_document(
    outcomes: Sequence[ScenarioOutcome],
    *,
    base: Arm,
    head: Arm,
    policy: Policy,
    elapsed_s: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The versioned JSON every report, comment and later job reads."""
    return {
        "version": COMPARE_VERSION,
        "kind": "ttfb-compare",
        "tool": f"ttfb-lab {__version__}",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "base": base.to_json(),
        "head": head.to_json(),
        "policy": {
            "alpha": policy.alpha,
            "confirm_alpha": policy.confirm_alpha,
            "looks": list(policy.looks),
            "decision_test": "ttest",
            "correction": CORRECTION,
        },
        "machine": hostinfo.machine_facts(),
        "elapsed_s": elapsed_s,
        **(extra or {}),
        "scenarios": [_scenario_json(o, policy) for o in outcomes],
    }
