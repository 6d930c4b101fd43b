"""Calibration's pure half: A/A noise, ROC points, and the threshold a policy allows.

The simulated compares that produce the ROC run the real engine (``bot.ab.calibration_sim``); this
module only measures the noise of recorded A/A blocks and chooses among the candidates:
``choose`` turns the repository's policy (false positives per week, compares per week) into a
per-compare budget and picks the smallest candidate threshold whose false-positive rate — its
95% Wilson upper bound, so a lucky estimate from few trials cannot pass — stays within it. The
smallest such threshold has the most power. The scenario's floor stays a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Pair, Sample
from .endpoints import estimate

CALIBRATION_RESAMPLES = 400  # bootstrap resamples inside simulations (the looks stay exact)


@dataclass(frozen=True)
class Noise:
    """Paired sd of the A/A pairs: log ratios for TTFB and CPU, seconds for phase segments."""

    pairs: int
    sd_total: float
    sd_cpu: float | None
    sd_phases: Mapping[str, float] = field(default_factory=dict)

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
    """Sample standard deviation of each endpoint's paired values over the A/A pairs."""
    pairs = pairs_from_blocks(blocks)
    eps = {e.key: e for e in estimate(pairs, alpha=0.05, resamples=CALIBRATION_RESAMPLES)}
    total = eps["ttfb"].result.sd
    cpu = eps["cpu"].result.sd if "cpu" in eps else None
    phases = {k.split(":", 1)[1]: e.result.sd for k, e in eps.items() if k.startswith("segment:")}
    return Noise(len(pairs), total, cpu, phases)


def power_key(key: str) -> tuple[str, float]:
    """Sort "scale:3" before "scale:10"."""
    kind, _, pct = key.partition(":")
    return kind, float(pct or 0)


def wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson score interval for k successes in n trials."""
    if n == 0:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


@dataclass(frozen=True)
class RocPoint:
    threshold_pct: float
    trials: int
    false_positives: int
    power: Mapping[str, float]  # "scale:3" / "delay:3" → detection rate

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.trials if self.trials else 1.0

    @property
    def fp_upper(self) -> float:
        return wilson_upper(self.false_positives, self.trials)


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


@dataclass(frozen=True)
class Calibration:
    """One scenario's calibration on one runner: its noise, the ROC and the choice."""

    scenario: str
    runner: str
    noise: Noise
    roc: tuple[RocPoint, ...]
    choice: Choice
    fp_per_week: float
    compares_per_week: float

    def values(self) -> dict[str, Any]:
        """What the history stores (``History.save_calibration``)."""
        point = self.choice.point
        return {
            "pairs": self.noise.pairs,
            "sd_total": self.noise.sd_total,
            "sd_cpu": self.noise.sd_cpu,
            "sd_phases": dict(self.noise.sd_phases),
            "threshold_pct": self.choice.threshold_pct,
            "fp_per_week": self.fp_per_week,
            "compares_per_week": self.compares_per_week,
            "fp_rate": point.fp_rate if point else None,
            "power": dict(point.power) if point else {},
            "roc": [
                {
                    "threshold_pct": r.threshold_pct,
                    "fp_rate": r.fp_rate,
                    "fp_upper": r.fp_upper,
                    "trials": r.trials,
                    "power": dict(r.power),
                }
                for r in self.roc
            ],
            "reason": self.choice.reason,
        }
