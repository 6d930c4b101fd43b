"""From estimated endpoints to a verdict. Pure: no I/O, frozen dataclasses out.

A look is **significant** for an endpoint when its paired t-test p, corrected for (1) the look
(Pocock-type alpha spending, ``sequential.look_levels``), (2) the endpoints of the scenario
(Holm) and (3) the scenarios in the run (``family_factor``: Bonferroni while sampling, Holm
across scenarios for the final call), is below ``alpha``, *and* the bootstrap CI of its median
excludes zero on the same side (a guard against a few outliers driving the t-test).

A **finding** needs significance and an effect of at least the threshold:

1. the whole TTFB itself; else
2. the significant segments, whose *net* effect (sum, so a cost merely moved from one phase to
   another cancels) reaches the threshold, provided the whole-TTFB CI does not rule out an
   effect of that size in that direction; else
3. CPU time, under the same proviso.

A finding becomes a regression or improvement only if a confirmation run reproduces it
(``confirm``). Without a finding, the run is **no change** once the whole-TTFB CI lies inside
±threshold, and **inconclusive** if it never does.

The estimates (bootstraps included) are computed once per look (``endpoints.estimate``); the
corrections are applied by ``assess``, and ``with_family`` re-applies them for another family
factor (Holm across scenarios) from the same estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..model import Pair, Verdict
from . import paired, sequential
from .endpoints import Endpoint, confirmation_values, estimate
from .instructions import Work

DECISION_TEST = "ttest"


FindingKind = Literal["total", "segments", "cpu", "instructions"]
"""Which endpoint a finding rests on: whole TTFB, phase segments net, CPU time, or the
instruction count."""
Decisive = Literal["significant", "no_change"]
"""Why a look may stop sampling: a finding, or an interval inside ±threshold."""


@dataclass(frozen=True)
class Policy:
    """How strict a comparison is. ``looks`` are planned cumulative pair counts."""

    alpha: float = 0.01
    confirm_alpha: float = 0.05
    threshold_pct: float = 2.0
    threshold_note: str = "floor"
    looks: tuple[int, ...] = (10, 20, 40, 80)
    seed: int = 0
    resamples: int = paired.BOOTSTRAP_RESAMPLES  # fewer in calibration simulations
    wilcoxon: bool = True  # reported, never decisive: simulations skip it


@dataclass(frozen=True)
class Finding:
    """A significant effect above threshold, pending confirmation."""

    direction: int  # +1 slower (regression), -1 faster (improvement)
    kind: FindingKind
    endpoint: str  # key of the endpoint the confirmation re-tests
    effect_pct: float  # total delta, net of significant segments, or CPU delta
    summary: str


@dataclass(frozen=True)
class Analysis:
    """One look at the primary pairs: the estimates, and the corrections applied to them."""

    n: int
    look: int  # 0-based index into policy.looks
    look_weight: float  # share of alpha spent at this look
    family_factor: float
    endpoints: tuple[Endpoint, ...]  # corrected (p_adjusted, significant)
    finding: Finding | None
    decisive: Decisive | None  # None: keep sampling
    notes: tuple[str, ...] = ()
    min_p: float | None = None  # smallest look- and Holm-adjusted p, before the family factor

    @property
    def total(self) -> Endpoint:
        return self.endpoints[0]

    def endpoint(self, key: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.key == key), None)


@dataclass(frozen=True)
class Confirmation:
    """The confirmation run's re-test of a finding's endpoint on fresh pairs."""

    endpoint: str
    pairs: int
    delta_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_one_sided: float | None
    reproduced: bool


@dataclass(frozen=True)
class Decision:
    """The verdict of one scenario, with the reason and the evidence behind it."""

    verdict: Verdict
    reason: str
    finding: Finding | None = None
    confirmation: Confirmation | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def confirmed(self) -> bool | None:
        """None without a finding; else whether the confirmation run reproduced it."""
        if self.finding is None:
            return None
        return bool(self.confirmation and self.confirmation.reproduced)


# --- corrections -------------------------------------------------------------------------


def _within(eps: Sequence[Endpoint], look_weight: float) -> list[float | None]:
    """Each endpoint's decision p corrected for the look and Holm across the endpoints."""
    raw = [e.result.p(DECISION_TEST) for e in eps]
    usable = [i for i, p in enumerate(raw) if p is not None]
    looked = [min(1.0, (raw[i] or 0.0) / look_weight) for i in usable]
    held: list[float | None] = [None] * len(eps)
    for i, p in zip(usable, paired.holm(looked), strict=True):
        held[i] = p
    return held


def _adjust(
    eps: Sequence[Endpoint], within: Sequence[float | None], *, family_factor: float, alpha: float
) -> tuple[Endpoint, ...]:
    out = []
    for e, p in zip(eps, within, strict=True):
        p_adj = None if p is None else min(1.0, p * family_factor)
        r = e.result
        significant = (
            p_adj is not None and p_adj < alpha and (r.ci_low_pct > 0 or r.ci_high_pct < 0)
        )
        out.append(replace(e, p_adjusted=p_adj, significant=significant))
    return tuple(out)


# --- findings ------------------------------------------------------------------------------


def _total_allows(total: Endpoint, direction: int, threshold: float) -> bool:
    """Whether the whole-TTFB CI leaves room for an effect of ``threshold`` that way."""
    r = total.result
    if not r.usable:
        return True
    return r.ci_high_pct >= threshold if direction > 0 else r.ci_low_pct <= -threshold


def _total_finding(total: Endpoint, threshold: float, notes: list[str]) -> Finding | None:
    if not total.significant:
        return None
    delta = total.result.delta_pct
    if abs(delta) >= threshold:
        return Finding(1 if delta > 0 else -1, "total", "ttfb", delta, f"whole TTFB {delta:+.1f}%")
    notes.append(
        f"whole TTFB moved {delta:+.2f}%: significant but under the {threshold:g}% threshold"
    )
    return None


def _segment_finding(eps: Sequence[Endpoint], threshold: float, notes: list[str]) -> Finding | None:
    segments = [e for e in eps if e.kind == "segment" and e.significant]
    if not segments:
        return None
    net = sum(e.result.delta_pct for e in segments)
    if abs(net) < threshold:
        notes.append(f"significant phase shifts net {net:+.2f}% of TTFB, under the threshold")
        return None
    d = 1 if net > 0 else -1
    if not _total_allows(eps[0], d, threshold):
        notes.append(f"phase shifts net {net:+.1f}% contradicted by the whole-TTFB interval")
        return None
    lead = max(
        (e for e in segments if e.result.delta_pct * d > 0), key=lambda e: abs(e.result.delta_pct)
    )
    parts = ", ".join(f"{e.label} {e.result.delta_s or 0.0:+.3f} s" for e in segments)
    return Finding(d, "segments", lead.key, net, f"phases {net:+.1f}% of TTFB net ({parts})")


def _cpu_finding(eps: Sequence[Endpoint], threshold: float, notes: list[str]) -> Finding | None:
    cpu = next((e for e in eps if e.kind == "cpu"), None)
    if cpu is None or not cpu.significant or abs(cpu.result.delta_pct) < threshold:
        return None
    d = 1 if cpu.result.delta_pct > 0 else -1
    if not _total_allows(eps[0], d, threshold):
        notes.append("CPU time moved but the whole-TTFB interval rules out that much")
        return None
    return Finding(d, "cpu", "cpu", cpu.result.delta_pct, f"CPU time {cpu.result.delta_pct:+.1f}%")


def _finding(eps: Sequence[Endpoint], threshold: float) -> tuple[Finding | None, list[str]]:
    """The first of: whole TTFB, net significant segments, CPU time (see the module doc)."""
    notes: list[str] = []
    finding = (
        _total_finding(eps[0], threshold, notes)
        or _segment_finding(eps, threshold, notes)
        or _cpu_finding(eps, threshold, notes)
    )
    return finding, notes


# --- looks -----------------------------------------------------------------------------------


def assess(
    estimates: Sequence[Endpoint],
    policy: Policy,
    *,
    n: int,
    look: int,
    family_factor: float = 1.0,
) -> Analysis:
    """Apply the corrections of planned look ``look`` (0-based) to ``estimates``."""
    weights = sequential.look_levels(policy.looks, 1.0)
    weight = weights[min(look, len(weights) - 1)]
    within = _within(estimates, weight)
    eps = _adjust(estimates, within, family_factor=family_factor, alpha=policy.alpha)
    finding, notes = _finding(eps, policy.threshold_pct)
    total = eps[0].result
    t = policy.threshold_pct
    decisive: Decisive | None = None
    if finding is not None:
        decisive = "significant"
    elif total.usable and -t < total.ci_low_pct and total.ci_high_pct < t:
        decisive = "no_change"
    ps = [p for p in within if p is not None]
    return Analysis(
        n, look, weight, family_factor, eps, finding, decisive, tuple(notes), min(ps, default=None)
    )


def analyze(
    pairs: Sequence[Pair], policy: Policy, *, look: int, family_factor: float = 1.0
) -> Analysis:
    """Estimate the primary pairs' endpoints and assess them at planned look ``look``."""
    estimates = estimate(
        pairs,
        alpha=policy.alpha,
        seed=policy.seed,
        resamples=policy.resamples,
        wilcoxon=policy.wilcoxon,
    )
    return assess(estimates, policy, n=len(pairs), look=look, family_factor=family_factor)


def with_family(analysis: Analysis, policy: Policy, family_factor: float) -> Analysis:
    """The same look judged with another family factor: corrections only, no re-estimation."""
    raw = tuple(replace(e, p_adjusted=None, significant=False) for e in analysis.endpoints)
    return assess(raw, policy, n=analysis.n, look=analysis.look, family_factor=family_factor)


# --- confirmation and the verdict ------------------------------------------------------------


def confirm(finding: Finding, pairs: Sequence[Pair], policy: Policy) -> Confirmation:
    """Re-test the finding's endpoint on fresh pairs: one-sided t-test in its direction."""
    eps = {
        e.key: e
        for e in estimate(
            pairs, alpha=policy.confirm_alpha, seed=policy.seed + 97, resamples=policy.resamples
        )
    }
    ep = eps.get(finding.endpoint)
    values = confirmation_values(pairs, finding.endpoint)
    p = paired.one_sided_ttest_p(values, finding.direction) if values else None
    if ep is None or p is None:
        return Confirmation(finding.endpoint, len(pairs), 0.0, 0.0, 0.0, None, False)
    r = ep.result
    same_way = r.delta_pct * finding.direction > 0
    return Confirmation(
        finding.endpoint,
        len(pairs),
        r.delta_pct,
        r.ci_low_pct,
        r.ci_high_pct,
        p,
        reproduced=same_way and p < policy.confirm_alpha,
    )


def decide(
    analysis: Analysis | None,
    *,
    policy: Policy,
    confirmation: Confirmation | None = None,
    broken: str | None = None,
    skipped: str | None = None,
    work: Work | None = None,
) -> Decision:
    """The final verdict of one scenario.

    A confirmed wall-time finding decides. Otherwise a confirmed finding on CPU work
    (instruction counts, ``work``) does: a spread regression wall time cannot resolve. With
    neither, CPU work that did not move and no moved phase segment is ``no_change``, whatever
    the width of the wall-time CI.
    """
    if skipped:
        return Decision(Verdict.SKIPPED, skipped)
    if broken:
        return Decision(Verdict.BROKEN, broken)
    if analysis is None:
        return Decision(Verdict.INCONCLUSIVE, "no pairs measured")
    notes = analysis.notes
    total = analysis.total.result
    wall = analysis.finding
    if wall is not None and confirmation is not None and confirmation.reproduced:
        kind = Verdict.REGRESSION if wall.direction > 0 else Verdict.IMPROVEMENT
        return Decision(kind, f"{wall.summary}; confirmed", wall, confirmation, notes)
    if work is not None and work.direction:
        return _work_decision(work, notes)
    if wall is not None:
        why = "not reproduced" if confirmation is not None else "no confirmation run"
        return Decision(Verdict.INCONCLUSIVE, f"{wall.summary}; {why}", wall, confirmation, notes)
    if not total.usable:
        return Decision(Verdict.INCONCLUSIVE, f"cannot test: {total.degenerate}", notes=notes)
    t = policy.threshold_pct
    unchanged = unchanged_work(
        work, total.ci_low_pct, total.ci_high_pct, moved=bool(moved_segments(analysis))
    )
    if unchanged is not None:
        return replace(unchanged, notes=notes)
    if -t < total.ci_low_pct and total.ci_high_pct < t:
        return Decision(Verdict.NO_CHANGE, f"95% CI inside ±{t:g}%", notes=notes)
    return Decision(
        Verdict.INCONCLUSIVE,
        f"no significant effect, but the 95% CI "
        f"({total.ci_low_pct:+.1f}% to {total.ci_high_pct:+.1f}%) is wider than ±{t:g}%",
        notes=notes,
    )


def unchanged_work(
    work: Work | None, ci_low_pct: float | None, ci_high_pct: float | None, *, moved: bool
) -> Decision | None:
    """``no_change`` on CPU work that did not move with no phase segment moved either
    (instructions do not see blocking time; the segments guard that side); else None."""
    if work is None or not work.unchanged or moved:
        return None
    if ci_low_pct is None or ci_high_pct is None:
        return Decision(Verdict.NO_CHANGE, work.summary())
    within = f"wall time within {ci_low_pct:+.1f}% … {ci_high_pct:+.1f}%"
    return Decision(Verdict.NO_CHANGE, f"{work.summary()}; {within}")


def with_counts(
    verdict: Verdict,
    *,
    wall_finding: bool,
    confirmed: bool,
    ci_low_pct: float | None,
    ci_high_pct: float | None,
    moved: bool,
    work: Work,
) -> Decision | None:
    """A wall-time-only decision revised by counts made apart (the PR workflow's counting job),
    by ``decide``'s rules (a confirmed wall-time finding stands); None: it stands."""
    if not verdict.judged or (wall_finding and confirmed):
        return None
    if work.direction:
        return _work_decision(work, ())
    if wall_finding or verdict is not Verdict.INCONCLUSIVE:
        return None
    return unchanged_work(work, ci_low_pct, ci_high_pct, moved=moved)


def moved_segments(analysis: Analysis) -> list[Endpoint]:
    """The phase segments this look found significant (either direction)."""
    return [e for e in analysis.endpoints if e.kind == "segment" and e.significant]


def _work_decision(work: Work, notes: tuple[str, ...]) -> Decision:
    """A finding on CPU work alone, confirmed or not by its fresh count per arm."""
    finding = Finding(
        work.direction, "instructions", "instructions", work.delta_pct, work.summary()
    )
    if work.confirmed is None:
        return Decision(Verdict.INCONCLUSIVE, f"{work.summary()}; no confirmation count", finding)
    assert work.confirm_base is not None and work.confirm_head is not None
    change = (work.confirm_head / work.confirm_base - 1) * 100
    conf = Confirmation("instructions", 1, change, change, change, None, work.confirmed)
    if not work.confirmed:
        reason = f"{work.summary()}; not reproduced ({change:+.2f}% in the confirming count)"
        return Decision(Verdict.INCONCLUSIVE, reason, finding, conf, notes)
    kind = Verdict.REGRESSION if work.direction > 0 else Verdict.IMPROVEMENT
    return Decision(kind, f"{work.summary()}; confirmed", finding, conf, notes)
