"""The one serializer of a comparison: typed outcomes → the versioned results document.

Every report, comment and later job (the report job reads it from an artifact, as data) works
from this document; nothing else writes it. It is built as the typed model of ``bot.results``
(``compare_results``) and written as that model's ``to_json()``;
``bot/schemas/results.schema.json`` describes it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .. import __version__
from ..exec import host
from ..model import Pair, Verdict
from ..results import (
    RESULTS_VERSION,
    ArmMedians,
    ArmResult,
    ArmSetup,
    AttributionResult,
    ConfirmationResult,
    DependencyChanges,
    EndpointResult,
    FindingResult,
    InstructionsResult,
    PackageChange,
    PolicyResult,
    PrepareResult,
    ProfileResult,
    Results,
    SampleRow,
    ScenarioResult,
    StoredResults,
    WorkConfirm,
)
from ..stats import paired
from ..stats.endpoints import Endpoint, confirmation_values
from ..stats.instructions import Work
from ..stats.summary import evaluation_values
from ..stats.verdict import Analysis, Decision, Policy
from .arms import Arm
from .engine import Comparison, ScenarioOutcome
from .envs import package_changes
from .prepare import Prepared

COMPARE_VERSION = RESULTS_VERSION
CORRECTION = (
    "paired t-test on log ratios (segments: on differences); alpha spent across planned looks "
    "by Lan-DeMets Pocock-type spending; Holm across a scenario's endpoints; Holm across "
    "scenarios; confirmation by a one-sided t-test on fresh pairs"
)


def effective_alpha(analysis: Analysis, alpha: float) -> float:
    """The per-endpoint level this look actually tests at (Bonferroni view of the corrections)."""
    usable = sum(1 for e in analysis.endpoints if e.p_adjusted is not None) or 1
    return alpha * analysis.look_weight / (usable * analysis.family_factor)


def endpoint_result(e: Endpoint) -> EndpointResult:
    r = e.result
    return EndpointResult(
        key=e.key,
        label=e.label,
        kind=e.kind,
        base_median_s=e.base_median_s,
        head_median_s=e.head_median_s,
        delta_pct=r.delta_pct,
        ci_low_pct=r.ci_low_pct,
        ci_high_pct=r.ci_high_pct,
        delta_s=r.delta_s if r.delta_s is not None else e.head_median_s - e.base_median_s,
        p_ttest=r.p_ttest,
        p_wilcoxon=r.p_wilcoxon,
        p_adjusted=e.p_adjusted,
        significant=e.significant,
        mde_pct=r.mde_pct,
        sd=r.sd,
    )


def endpoint_json(e: Endpoint) -> dict[str, Any]:
    return endpoint_result(e).to_json()


def _skeleton(o: ScenarioOutcome) -> ScenarioResult:
    """The fields every scenario has, filled in for one that was never measured."""
    t, d = o.target, o.decision
    return ScenarioResult(
        name=t.name,
        description=t.description,
        verdict=d.verdict,
        reason=d.reason,
        notes=tuple(d.notes),
        threshold_pct=t.threshold_pct,
        threshold_note=t.threshold_note,
        skipped=t.skipped,
        error=d.reason if d.verdict is Verdict.BROKEN else None,
        delta_pct=None,
        ci_low_pct=None,
        ci_high_pct=None,
        p_ttest=None,
        p_wilcoxon=None,
        pairs=0,
        confirmed=None,
        mde_pct=None,
        base=ArmMedians(median_s=None),
        head=ArmMedians(median_s=None),
        phases=(),
        stop_reason=o.primary.stop_reason if o.primary else None,
        looks=tuple(o.primary.looks_done) if o.primary else (),
        samples=_samples(o),
        shrink={
            "base": t.base.shrink if t.base else None,
            "head": t.head.shrink if t.head else None,
        },
        prepare=_prepare(t.prepared),
        dependencies=dependency_changes(t.prepared),
    )


def _prepare(prepared: Mapping[str, Prepared]) -> PrepareResult | None:
    """What preparing each arm took (environment, setup), for the report."""
    if not prepared:
        return None
    setups = {
        arm: ArmSetup(
            environment=p.environment.to_json() if p.environment else None,
            setup=tuple(p.setup) or None,
            setup_s=p.setup_s,
            inputs=p.inputs,
        )
        for arm, p in prepared.items()
    }
    return PrepareResult(base=setups.get("base"), head=setups.get("head"))


def dependency_changes(prepared: Mapping[str, Prepared]) -> DependencyChanges | None:
    """Which dependency files and package versions differ between the arms' environments."""
    base, head = prepared.get("base"), prepared.get("head")
    if base is None or head is None or base.environment is None or head.environment is None:
        return None
    b, h = base.environment, head.environment
    return DependencyChanges(
        shared=b.key == h.key,
        files_changed=tuple(
            sorted(f for f in set(b.files) | set(h.files) if b.files.get(f) != h.files.get(f))
        ),
        packages=tuple(
            PackageChange(name=n, base=bv, head=hv)
            for n, bv, hv in package_changes(b.packages, h.packages)
        ),
    )


def dependencies_json(prepared: Mapping[str, Prepared]) -> dict[str, Any] | None:
    changes = dependency_changes(prepared)
    return changes.to_json() if changes is not None else None


def _stages(o: ScenarioOutcome) -> tuple[tuple[str, Sequence[Pair]], ...]:
    if o.primary is None:
        return ()
    return (("primary", o.primary.pairs), ("confirm", o.confirmation_pairs))


def _samples(o: ScenarioOutcome) -> tuple[SampleRow, ...]:
    return tuple(SampleRow.from_json(p.row(stage)) for stage, pairs in _stages(o) for p in pairs)


def _measured(s: ScenarioResult, a: Analysis, policy: Policy) -> ScenarioResult:
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
    cpu = a.endpoint("cpu")
    return replace(
        s,
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
        base=ArmMedians(
            median_s=total.base_median_s, cpu_median_s=cpu.base_median_s if cpu else None
        ),
        head=ArmMedians(
            median_s=total.head_median_s, cpu_median_s=cpu.head_median_s if cpu else None
        ),
        phases=tuple(endpoint_result(e) for e in segments),
        cpu=endpoint_result(cpu) if cpu is not None else None,
    )


def _evidence(s: ScenarioResult, o: ScenarioOutcome) -> ScenarioResult:
    """The finding and its confirmation run, if there was one."""
    d = o.decision
    values = None
    if d.finding is not None and d.finding.endpoint.startswith("segment:"):
        values = {
            stage: tuple(confirmation_values(pairs, d.finding.endpoint))
            for stage, pairs in _stages(o)
        }
    return with_evidence(s, d, values=values, note=o.confirmation_note)


def with_evidence(
    s: ScenarioResult,
    d: Decision,
    *,
    values: Mapping[str, tuple[float, ...]] | None = None,
    note: str | None = None,
) -> ScenarioResult:
    """``s`` with ``d``'s finding and confirmation (a segment finding's ``values`` per stage)."""
    if d.finding is not None:
        f = d.finding
        finding = FindingResult(
            direction=f.direction,
            kind=f.kind,
            endpoint=f.endpoint,
            effect_pct=f.effect_pct,
            summary=f.summary,
            values_s=values,
        )
        s = replace(s, finding=finding, confirmed=d.confirmed)
    c = d.confirmation
    if c is not None:
        confirmation = ConfirmationResult(
            endpoint=c.endpoint,
            pairs=c.pairs,
            delta_pct=c.delta_pct,
            ci_low_pct=c.ci_low_pct,
            ci_high_pct=c.ci_high_pct,
            p_one_sided=c.p_one_sided,
            reproduced=c.reproduced,
            note=note,
        )
        s = replace(s, confirmation=confirmation)
    return s


def instructions_result(w: Work) -> InstructionsResult:
    """The instruction counts of both arms, and what they say (``bot.stats.instructions``)."""
    confirm = None
    if w.confirm_base is not None:
        confirm = WorkConfirm(base=w.confirm_base, head=w.confirm_head, reproduced=w.confirmed)
    return InstructionsResult(
        backend=w.backend,
        settings=tuple(w.settings),
        base=tuple(w.base),
        head=tuple(w.head),
        delta_pct=w.delta_pct,
        spread_pct=w.spread,
        stable=w.stable,
        unchanged=w.unchanged,
        threshold_pct=w.threshold_pct,
        direction=w.direction,
        confirm=confirm,
        summary=w.summary(),
        covers=w.covers,
    )


def _evaluation(s: ScenarioResult, o: ScenarioOutcome) -> ScenarioResult:
    """Per arm, what an evaluation before the first training batch took, if there was one,
    and what the garbage collector took before it."""
    if o.primary is None:
        return s
    arms = {"base": s.base, "head": s.head}
    for arm in arms:
        ok = [getattr(p, arm) for p in o.primary.pairs if getattr(p, arm).ok]
        values = evaluation_values(ok)
        if values:
            arms[arm] = replace(
                arms[arm],
                eval_median_s=statistics.median(values),
                eval_forwards=int(statistics.median(x.eval_forwards for x in ok)),
            )
        gc = [x.gc_s for x in ok if x.gc_s is not None]
        if gc:
            arms[arm] = replace(arms[arm], gc_median_s=statistics.median(gc))
    return replace(s, base=arms["base"], head=arms["head"])


def scenario_result(o: ScenarioOutcome, policy: Policy) -> ScenarioResult:
    """One scenario of the results document."""
    s = _skeleton(o)
    if o.analysis is not None:
        s = _evidence(_measured(s, o.analysis, policy), o)
    work = o.work.work if o.work else None
    s = replace(
        s,
        instructions=instructions_result(work) if work else None,
        attribution=(
            AttributionResult.from_json(dict(o.attribution), source=f"{o.name}: attribution")
            if o.attribution is not None
            else None
        ),
        instructions_note=o.work.note if o.work and o.work.note else None,
        profile=(
            ProfileResult.from_json(dict(o.profile), source=f"{o.name}: profile")
            if o.profile is not None
            else None
        ),
    )
    return _evaluation(s, o)


def scenario_json(o: ScenarioOutcome, policy: Policy) -> dict[str, Any]:
    return scenario_result(o, policy).to_json()


def policy_result(policy: Policy) -> PolicyResult:
    return PolicyResult(
        alpha=policy.alpha,
        confirm_alpha=policy.confirm_alpha,
        looks=tuple(policy.looks),
        decision_test="ttest",
        correction=CORRECTION,
    )


def policy_json(policy: Policy) -> dict[str, Any]:
    return policy_result(policy).to_json()


def stored_document(o: ScenarioOutcome, policy: Policy) -> dict[str, Any]:
    """What the history keeps of one outcome beside its samples and comparison row: the
    results document of that one scenario without its per-sample list (the samples table
    holds those), so a report rebuilt from the history says what the comment said."""
    return StoredResults(
        tool=f"ttfb-lab {__version__}",
        policy=policy_result(policy),
        scenarios=(replace(scenario_result(o, policy), samples=None),),
    ).to_json()


def compare_results(
    comparison: Comparison,
    *,
    base: Arm,
    head: Arm,
    extra: Mapping[str, Any] | None = None,
) -> Results:
    """The results document of a comparison, as the typed model."""
    policy = comparison.policy
    return Results(
        tool=f"ttfb-lab {__version__}",
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        base=ArmResult.from_json(base.to_json(), source="base"),
        head=ArmResult.from_json(head.to_json(), source="head"),
        policy=policy_result(policy),
        machine=host.machine_facts(),
        elapsed_s=comparison.elapsed_s,
        extra=dict(extra or {}),
        scenarios=tuple(scenario_result(o, policy) for o in comparison.outcomes),
    )


def results_document(
    comparison: Comparison,
    *,
    base: Arm,
    head: Arm,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The versioned JSON every report, comment and later job reads."""
    return compare_results(comparison, base=base, head=head, extra=extra).to_json()
