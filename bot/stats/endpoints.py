"""The endpoints of one scenario's paired samples, estimated once. Pure.

- ``ttfb``: whole wall-clock TTFB, ratio scale — the headline;
- ``cpu``: user+sys CPU to the first batch, ratio scale — far less sensitive to a noisy
  neighbour, blind to blocking waits;
- ``segment:<phase>``: wall time from the previous common phase to ``<phase>``, difference
  scale in percent of the base median TTFB — a delay localised in one phase is tested without
  the noise of the others (``import torch`` dominates whole-TTFB noise).

``estimate`` computes every endpoint's statistics, the seeded bootstraps included, once; the
corrections for looks and families are applied afterwards (``bot.stats.verdict``) without
estimating again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..model import Pair
from . import paired

EndpointKind = Literal["total", "cpu", "segment"]
"""Whole TTFB, CPU time to first batch, or one phase segment."""


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    kind: EndpointKind
    result: paired.PairedResult
    base_median_s: float
    head_median_s: float
    p_adjusted: float | None = None  # look + Holm within scenario + family factor
    significant: bool = False  # p_adjusted < alpha and the CI excludes zero on that side


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


def segment_values(pairs: Sequence[Pair], phases: Sequence[str], i: int, arm: str) -> list[float]:
    """Per pair, the duration of segment ``i`` (previous common phase → ``phases[i]``)."""
    out = []
    for p in pairs:
        s = p.base if arm == "base" else p.head
        start = s.phases[phases[i - 1]] if i else 0.0
        out.append(s.phases[phases[i]] - start)
    return out


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else 0.0


def estimate(
    pairs: Sequence[Pair],
    *,
    alpha: float,
    seed: int = 0,
    resamples: int = paired.BOOTSTRAP_RESAMPLES,
    wilcoxon: bool = True,
) -> tuple[Endpoint, ...]:
    """Every endpoint of one scenario, the whole TTFB first; unusable segments dropped."""

    est = paired.Estimator(alpha, resamples, wilcoxon)

    def ratio(
        key: str, label: str, kind: EndpointKind, b: list[float], h: list[float], s: int
    ) -> Endpoint:
        return Endpoint(key, label, kind, est.ratio(b, h, seed=s), _median(b), _median(h))

    base_t = [p.base.ttfb_s or 0.0 for p in pairs]
    head_t = [p.head.ttfb_s or 0.0 for p in pairs]
    out = [ratio("ttfb", "TTFB (wall)", "total", base_t, head_t, seed)]
    if not pairs:
        return tuple(out)
    base_c = [p.base.cpu_s for p in pairs]
    head_c = [p.head.cpu_s for p in pairs]
    if all(c is not None and c > 0 for c in base_c + head_c):
        bc = [float(c) for c in base_c if c is not None]
        hc = [float(c) for c in head_c if c is not None]
        out.append(ratio("cpu", "CPU to first batch", "cpu", bc, hc, seed + 1))
    scale = out[0].base_median_s
    phases = common_phases(pairs)
    for i, phase in enumerate(phases):
        b = segment_values(pairs, phases, i, "base")
        h = segment_values(pairs, phases, i, "head")
        if scale <= 0 or (not any(b) and not any(h)):
            continue
        result = est.difference(b, h, scale_s=scale, seed=seed + 2 + i)
        if result.usable:
            label = f"{phases[i - 1] if i else 'submit'} → {phase}"
            out.append(
                Endpoint(f"segment:{phase}", label, "segment", result, _median(b), _median(h))
            )
    return tuple(out)


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
    base = segment_values(pairs, phases, i, "base")
    head = segment_values(pairs, phases, i, "head")
    return [h - b for b, h in zip(base, head, strict=True)]
