"""Calibration: A/A noise, an ROC by simulation, and the threshold a repository's policy allows.

Pure: it takes recorded A/A blocks (four samples of the same revision, back to back) and runs
the *real* engine on them — ``compare.run_compare`` with the adaptive looks, confirmation and
the correction across ``family_size`` scenarios — through ``simulate.BlockResampler``:

- **false positives**: resampled A/A, no shift; any regression or improvement called is one;
- **power**: the same with a planted regression in the head samples, spread evenly over
  start-up (``scale_pct``, the general case) or as a blocking delay in a quiet phase.

For each candidate threshold this gives the false-positive rate per compare and the power at
each shift. ``choose`` takes the repository's policy (false positives per week, compares per
week), turns it into a per-compare budget, and picks the smallest candidate whose
false-positive rate — its 95% Wilson upper bound, so a lucky estimate from few trials cannot
pass — stays within budget: the smallest such threshold has the most power. The scenario's
floor stays a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import compare
from .sample import Job, Sample
from .simulate import BlockResampler, Plant
from .verdict import Pair, Policy, endpoints

CALIBRATION_RESAMPLES = 400  # bootstrap resamples inside simulations (the looks stay exact)
DEFAULT_THRESHOLDS = (2.0, 3.0, 5.0, 8.0, 12.0)
DEFAULT_SHIFTS = (3.0, 5.0, 10.0)
CALLED = ("regression", "improvement")


@dataclass(frozen=True)
class Noise:
    """Paired sd of the A/A pairs: log ratios for TTFB and CPU, seconds for phase segments."""

    pairs: int
    sd_total: float
    sd_cpu: float | None
    sd_phases: dict[str, float] = field(default_factory=dict)

    @property
    def sd_total_pct(self) -> float:
        return (math.exp(self.sd_total) - 1) * 100


def pairs_from_blocks(blocks: Sequence[Sequence[Sample]]) -> list[Pair]:
    """The ABBA pairs of A/A blocks: (1st, 2nd) and (4th, 3rd) of each block."""
    out = []
    for i, b in enumerate(blocks):
        if len(b) == 4:
            out += [Pair(b[0], b[1], i), Pair(b[3], b[2], i)]
    return out


def noise(blocks: Sequence[Sequence[Sample]]) -> Noise:
    pairs = pairs_from_blocks(blocks)
    eps = {e.key: e for e in endpoints(pairs, alpha=0.05, resamples=CALIBRATION_RESAMPLES)}
    total = eps["ttfb"].result.sd
    cpu = eps["cpu"].result.sd if "cpu" in eps else None
    phases = {k.split(":", 1)[1]: e.result.sd for k, e in eps.items() if k.startswith("segment:")}
    return Noise(len(pairs), total, cpu, phases)


def power_key(key: str) -> tuple[str, float]:
    """Sort "scale:3" before "scale:10"."""
    kind, _, pct = key.partition(":")
    return kind, float(pct or 0)


@dataclass(frozen=True)
class RocPoint:
    threshold_pct: float
    trials: int
    false_positives: int
    power: dict[str, float]  # "scale:3" / "delay:3" → detection rate

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.trials if self.trials else 1.0

    @property
    def fp_upper(self) -> float:
        return wilson_upper(self.false_positives, self.trials)


def wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson score interval for k successes in n trials."""
    if n == 0:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def _verdicts(
    blocks: Sequence[Sequence[Sample]],
    *,
    policy: Policy,
    plant: Plant,
    trials: int,
    family_size: int,
    seed: int,
) -> list[str]:
    job = Job(argv=("aa",), cwd=Path("."))  # never run: the resampler answers
    target = compare.Target("aa", job, job, threshold_pct=policy.threshold_pct)
    out = []
    for t in range(trials):
        executor = BlockResampler(blocks, plant=plant, seed=seed + t)
        (o,) = compare.run_compare(
            [target], policy=policy, executor=executor, family_size=family_size
        )
        out.append(o.verdict.verdict)
    return out


def simulate_roc(
    blocks: Sequence[Sequence[Sample]],
    *,
    policy: Policy,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    shifts: Sequence[float] = DEFAULT_SHIFTS,
    aa_trials: int = 200,
    shift_trials: int = 20,
    family_size: int = 1,
    quiet_phase: str | None = None,
    seed: int = 0,
) -> list[RocPoint]:
    """False positives and power per candidate threshold (see the module docstring)."""
    base = replace(policy, resamples=CALIBRATION_RESAMPLES, wilcoxon=False)
    ttfb = float(np.median([s.ttfb_s or 0.0 for b in blocks for s in b]))
    points = []
    for i, t in enumerate(thresholds):
        p = replace(base, threshold_pct=t)
        aa = _verdicts(
            blocks,
            policy=p,
            plant=Plant(),
            trials=aa_trials,
            family_size=family_size,
            seed=seed + 1_000_000 * i,
        )
        power: dict[str, float] = {}
        for shift in shifts:
            plants = {f"scale:{shift:g}": Plant(scale_pct=shift)}
            if quiet_phase:
                plants[f"delay:{shift:g}"] = Plant(
                    delay_s=ttfb * shift / 100, after_phase=quiet_phase
                )
            for key, plant in plants.items():
                got = _verdicts(
                    blocks,
                    policy=p,
                    plant=plant,
                    trials=shift_trials,
                    family_size=family_size,
                    seed=seed + 7919 * (i + 1),
                )
                power[key] = sum(v == "regression" for v in got) / shift_trials
        points.append(RocPoint(t, aa_trials, sum(v in CALLED for v in aa), power))
    return points


@dataclass(frozen=True)
class Choice:
    threshold_pct: float
    budget_per_compare: float
    point: RocPoint | None
    reason: str


def choose(
    roc: Sequence[RocPoint], *, fp_per_week: float, compares_per_week: float, floor_pct: float
) -> Choice:
    """The smallest threshold whose false-positive upper bound fits the weekly budget."""
    if compares_per_week <= 0:
        raise ValueError("compares_per_week must be positive")
    budget = fp_per_week / compares_per_week
    for point in sorted(roc, key=lambda r: r.threshold_pct):
        if point.fp_upper <= budget:
            t = max(point.threshold_pct, floor_pct)
            return Choice(
                t,
                budget,
                point,
                f"smallest threshold with false positives ≤ {budget:.2%} per compare "
                f"(95% upper bound {point.fp_upper:.2%}, {point.false_positives}/"
                f"{point.trials} A/A)",
            )
    worst = max(roc, key=lambda r: r.threshold_pct) if roc else None
    t = max(worst.threshold_pct if worst else floor_pct, floor_pct)
    return Choice(
        t,
        budget,
        worst,
        f"no candidate met {budget:.2%} per compare with the trials run; "
        "using the largest (run more A/A pairs or trials)",
    )
