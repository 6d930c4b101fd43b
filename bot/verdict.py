"""From paired samples to a verdict. Pure: no I/O, frozen dataclasses out.

Endpoints of one scenario (all paired, see ``stats``):

- ``ttfb``: whole wall-clock TTFB, ratio scale — the headline;
- ``cpu``: user+sys CPU to the first batch, ratio scale — far less sensitive to a noisy
  neighbour, blind to blocking waits;
- ``segment:<phase>``: wall time from the previous common phase to ``<phase>``, difference
  scale in percent of the base median TTFB — a delay localised in one phase is tested without
  the noise of the others (``import torch`` dominates whole-TTFB noise).

A look is **significant** for an endpoint when its paired t-test p, corrected for (1) the look
(Pocock-type alpha spending, ``stats.look_levels``), (2) the endpoints of the scenario (Holm)
and (3) the scenarios in the run (``family_factor``: Bonferroni while sampling, Holm across
scenarios for the final call), is below ``alpha``, *and* the bootstrap CI of its median excludes
zero on the same side (a guard against a few outliers driving the t-test).

A **finding** needs significance and an effect of at least the threshold:

1. the whole TTFB itself; else
2. the significant segments, whose *net* effect (sum, so a cost merely moved from one phase to
   another cancels) reaches the threshold, provided the whole-TTFB CI does not rule out an
   effect of that size in that direction; else
3. CPU time, under the same proviso.

A finding becomes a regression or improvement only if a confirmation run reproduces it
(``confirm``). Without a finding, the run is **no change** once the whole-TTFB CI lies inside
±threshold, and **inconclusive** if it never does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import stats
from .sample import Sample

VERDICTS = ("regression", "improvement", "no_change", "inconclusive", "broken", "skipped")
DECISION_TEST = "ttest"


@dataclass(frozen=True)
class Pair:
    """Base and head samples from the same position of one ABBA (or BAAB) block."""

    base: Sample
    head: Sample
    block: int = 0


@dataclass(frozen=True)
class Policy:
    """How strict a comparison is. ``looks`` are planned cumulative pair counts."""

    alpha: float = 0.01
    confirm_alpha: float = 0.05
    threshold_pct: float = 2.0
    threshold_note: str = "floor"
    looks: tuple[int, ...] = (10, 20, 40, 80)
    seed: int = 0
    resamples: int = stats.BOOTSTRAP_RESAMPLES  # fewer in calibration simulations
    wilcoxon: bool = True  # reported, never decisive: simulations skip it


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    kind: str  # total | cpu | segment
    result: stats.PairedResult
    base_median_s: float
    head_median_s: float
    p_adjusted: float | None = None  # look + Holm within scenario + family factor
    significant: bool = False  # p_adjusted < alpha and the CI excludes zero on that side


@dataclass(frozen=True)
class Finding:
    """A significant effect above threshold, pending confirmation."""

    direction: int  # +1 slower (regression), -1 faster (improvement)
    kind: str  # total | segments | cpu
    endpoint: str  # key of the endpoint the confirmation re-tests
    effect_pct: float  # total delta, net of significant segments, or CPU delta
    summary: str


@dataclass(frozen=True)
class Analysis:
    """One look at the primary pairs."""

    n: int
    look: int  # 0-based index into policy.looks
    look_weight: float  # share of alpha spent at this look
    family_factor: float
    endpoints: tuple[Endpoint, ...]
    finding: Finding | None
    decisive: str | None  # significant | no_change | None (keep sampling)
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> Endpoint:
        return self.endpoints[0]

    def endpoint(self, key: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.key == key), None)

    @property
    def min_p(self) -> float | None:
        """Smallest look- and Holm-adjusted p before the family factor (for Holm across runs)."""
        ps = [e.p_adjusted / self.family_factor for e in self.endpoints if e.p_adjusted]
        return min(ps) if ps else None


@dataclass(frozen=True)
class Confirmation:
    endpoint: str
    n: int
    delta_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_one_sided: float | None
    reproduced: bool


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    finding: Finding | None = None
    confirmation: Confirmation | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- endpoints ---------------------------------------------------------------------------


def common_phases(pairs: Sequence[Pair]) -> list[str]:
    """Phases every sample of both arms recorded, up to the first batch, in base-median order."""
    if not pairs:
        return []
    names = set(pairs[0].base.phases)
    for p in pairs:
        names &= set(p.base.phases) & set(p.head.phases)
    medians = {n: float(np.median([p.base.phases[n] for p in pairs])) for n in names}
    first_batch = medians.get("first_batch", math.inf)
    # Ties (first_forward and first_batch are often the same instant): first_batch goes last.
    return sorted(
        (n for n in names if medians[n] <= first_batch),
        key=lambda n: (medians[n], n == "first_batch", n),
    )


def _segment_values(pairs: Sequence[Pair], phases: list[str], i: int, arm: str) -> list[float]:
    out = []
    for p in pairs:
        s = p.base if arm == "base" else p.head
        start = s.phases[phases[i - 1]] if i else 0.0
        out.append(s.phases[phases[i]] - start)
    return out


def endpoints(
    pairs: Sequence[Pair],
    *,
    alpha: float,
    seed: int = 0,
    resamples: int = stats.BOOTSTRAP_RESAMPLES,
    wilcoxon: bool = True,
) -> list[Endpoint]:
    """Every endpoint of one scenario, the whole TTFB first; unusable segments dropped."""
    base_t = [p.base.ttfb_s or 0.0 for p in pairs]
    head_t = [p.head.ttfb_s or 0.0 for p in pairs]
    out = [
        Endpoint(
            "ttfb",
            "TTFB (wall)",
            "total",
            stats.compare_ratio(
                base_t, head_t, alpha=alpha, seed=seed, resamples=resamples, wilcoxon=wilcoxon
            ),
            float(np.median(base_t)) if pairs else 0.0,
            float(np.median(head_t)) if pairs else 0.0,
        )
    ]
    if not pairs:
        return out
    base_c = [p.base.cpu_s for p in pairs]
    head_c = [p.head.cpu_s for p in pairs]
    if all(c is not None and c > 0 for c in base_c + head_c):
        bc = [float(c) for c in base_c if c is not None]
        hc = [float(c) for c in head_c if c is not None]
        out.append(
            Endpoint(
                "cpu",
                "CPU to first batch",
                "cpu",
                stats.compare_ratio(
                    bc, hc, alpha=alpha, seed=seed + 1, resamples=resamples, wilcoxon=wilcoxon
                ),
                float(np.median(bc)),
                float(np.median(hc)),
            )
        )
    scale = out[0].base_median_s
    phases = common_phases(pairs)
    for i, phase in enumerate(phases):
        b = _segment_values(pairs, phases, i, "base")
        h = _segment_values(pairs, phases, i, "head")
        if scale <= 0 or (not any(b) and not any(h)):
            continue
        result = stats.compare_difference(
            b,
            h,
            scale_s=scale,
            alpha=alpha,
            seed=seed + 2 + i,
            resamples=resamples,
            wilcoxon=wilcoxon,
        )
        if not result.usable:
            continue
        label = f"{phases[i - 1] if i else 'submit'} → {phase}"
        out.append(
            Endpoint(
                f"segment:{phase}",
                label,
                "segment",
                result,
                float(np.median(b)),
                float(np.median(h)),
            )
        )
    return out


def _adjust(
    eps: list[Endpoint], *, look_weight: float, family_factor: float, alpha: float
) -> list[Endpoint]:
    """Correct each endpoint's decision p for the look, Holm within, and the family factor."""
    raw = [e.result.p(DECISION_TEST) for e in eps]
    usable = [i for i, p in enumerate(raw) if p is not None]
    looked = [min(1.0, (raw[i] or 0.0) / look_weight) for i in usable]
    held = stats.holm(looked)
    adjusted: list[float | None] = [None] * len(eps)
    for i, p in zip(usable, held, strict=True):
        adjusted[i] = min(1.0, p * family_factor)
    out = []
    for e, p_adj in zip(eps, adjusted, strict=True):
        r = e.result
        significant = (
            p_adj is not None and p_adj < alpha and (r.ci_low_pct > 0 or r.ci_high_pct < 0)
        )
        out.append(replace(e, p_adjusted=p_adj, significant=significant))
    return out


def _finding(eps: Sequence[Endpoint], threshold: float) -> tuple[Finding | None, list[str]]:
    notes: list[str] = []
    total = eps[0]
    if total.significant:
        if abs(total.result.delta_pct) >= threshold:
            d = 1 if total.result.delta_pct > 0 else -1
            return Finding(
                d,
                "total",
                "ttfb",
                total.result.delta_pct,
                f"whole TTFB {total.result.delta_pct:+.1f}%",
            ), notes
        notes.append(
            f"whole TTFB moved {total.result.delta_pct:+.2f}%: significant but under the "
            f"{threshold:g}% threshold"
        )
    segments = [e for e in eps if e.kind == "segment" and e.significant]
    net = sum(e.result.delta_pct for e in segments)
    if segments and abs(net) >= threshold:
        d = 1 if net > 0 else -1
        if _total_allows(total, d, threshold):
            lead = max(
                (e for e in segments if e.result.delta_pct * d > 0),
                key=lambda e: abs(e.result.delta_pct),
            )
            parts = ", ".join(f"{e.label} {e.result.delta_s or 0.0:+.3f} s" for e in segments)
            return Finding(
                d, "segments", lead.key, net, f"phases {net:+.1f}% of TTFB net ({parts})"
            ), notes
        notes.append(f"phase shifts net {net:+.1f}% contradicted by the whole-TTFB interval")
    elif segments:
        notes.append(f"significant phase shifts net {net:+.2f}% of TTFB, under the threshold")
    cpu = next((e for e in eps if e.kind == "cpu"), None)
    if cpu is not None and cpu.significant and abs(cpu.result.delta_pct) >= threshold:
        d = 1 if cpu.result.delta_pct > 0 else -1
        if _total_allows(total, d, threshold):
            return Finding(
                d, "cpu", "cpu", cpu.result.delta_pct, f"CPU time {cpu.result.delta_pct:+.1f}%"
            ), notes
        notes.append("CPU time moved but the whole-TTFB interval rules out that much")
    return None, notes


def _total_allows(total: Endpoint, direction: int, threshold: float) -> bool:
    """Whether the whole-TTFB CI leaves room for an effect of ``threshold`` that way."""
    r = total.result
    if not r.usable:
        return True
    return r.ci_high_pct >= threshold if direction > 0 else r.ci_low_pct <= -threshold


def analyze(
    pairs: Sequence[Pair], policy: Policy, *, look: int, family_factor: float = 1.0
) -> Analysis:
    """Assess the primary pairs at planned look ``look`` (0-based)."""
    weights = stats.look_levels(policy.looks, 1.0)
    weight = weights[min(look, len(weights) - 1)]
    raw = endpoints(
        pairs,
        alpha=policy.alpha,
        seed=policy.seed,
        resamples=policy.resamples,
        wilcoxon=policy.wilcoxon,
    )
    eps = _adjust(raw, look_weight=weight, family_factor=family_factor, alpha=policy.alpha)
    finding, notes = _finding(eps, policy.threshold_pct)
    total = eps[0].result
    decisive: str | None = None
    if finding is not None:
        decisive = "significant"
    elif (
        total.usable
        and -policy.threshold_pct < total.ci_low_pct
        and (total.ci_high_pct < policy.threshold_pct)
    ):
        decisive = "no_change"
    return Analysis(
        len(pairs), look, weight, family_factor, tuple(eps), finding, decisive, tuple(notes)
    )


def confirmation_values(pairs: Sequence[Pair], endpoint: str) -> list[float]:
    """The per-pair values the confirmation tests: log ratios, or segment differences."""
    if endpoint in ("ttfb", "cpu"):
        attr = "ttfb_s" if endpoint == "ttfb" else "cpu_s"
        return [math.log(getattr(p.head, attr) / getattr(p.base, attr)) for p in pairs]
    phase = endpoint.split(":", 1)[1]
    phases = common_phases(pairs)
    if phase not in phases:
        return []
    i = phases.index(phase)
    base = _segment_values(pairs, phases, i, "base")
    head = _segment_values(pairs, phases, i, "head")
    return [h - b for b, h in zip(base, head, strict=True)]


def confirm(finding: Finding, pairs: Sequence[Pair], policy: Policy) -> Confirmation:
    """Re-test the finding's endpoint on fresh pairs: one-sided t-test in its direction."""
    eps = {
        e.key: e
        for e in endpoints(
            pairs, alpha=policy.confirm_alpha, seed=policy.seed + 97, resamples=policy.resamples
        )
    }
    ep = eps.get(finding.endpoint)
    values = confirmation_values(pairs, finding.endpoint)
    p = stats.one_sided_ttest_p(values, finding.direction) if values else None
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
) -> Verdict:
    """The final verdict of one scenario."""
    if skipped:
        return Verdict("skipped", skipped)
    if broken:
        return Verdict("broken", broken)
    assert analysis is not None
    notes = analysis.notes
    total = analysis.total.result
    if analysis.finding is not None:
        f = analysis.finding
        if confirmation is not None and confirmation.reproduced:
            kind = "regression" if f.direction > 0 else "improvement"
            return Verdict(kind, f"{f.summary}; confirmed", f, confirmation, notes)
        why = "not reproduced" if confirmation is not None else "no confirmation run"
        return Verdict("inconclusive", f"{f.summary}; {why}", f, confirmation, notes)
    if not total.usable:
        return Verdict("inconclusive", f"cannot test: {total.degenerate}", notes=notes)
    t = policy.threshold_pct
    if -t < total.ci_low_pct and total.ci_high_pct < t:
        return Verdict("no_change", f"95% CI inside ±{t:g}%", notes=notes)
    return Verdict(
        "inconclusive",
        f"no significant effect, but the 95% CI "
        f"({total.ci_low_pct:+.1f}% to {total.ci_high_pct:+.1f}%) is wider than ±{t:g}%",
        notes=notes,
    )
