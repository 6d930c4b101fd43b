"""Planned looks and the alpha each one may spend. Pure.

An A/B run looks at its pairs at planned, doubling counts (10, 20, 40, 80) and stops early when
a look is decisive. Each look spends only its increment of a Lan–DeMets Pocock-type spending
function, so by the union bound the chance of a false finding at *any* look is at most alpha,
whatever the stopping decisions and the correlation between looks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def plan_looks(start: int, max_pairs: int) -> tuple[int, ...]:
    """Doubling look sizes from ``start`` (rounded up to even) up to and including max_pairs."""
    start = max(2, start + start % 2)
    max_pairs = max(start, max_pairs - max_pairs % 2)
    looks = []
    n = start
    while n < max_pairs:
        looks.append(n)
        n *= 2
    looks.append(max_pairs)
    return tuple(looks)


def pocock_spending(t: float, alpha: float) -> float:
    """Lan–DeMets Pocock-type alpha spending: ``alpha * ln(1 + (e - 1) t)``, t in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    return alpha * math.log(1.0 + (math.e - 1.0) * t)


def look_levels(looks: Sequence[int], alpha: float) -> list[float]:
    """Nominal level of each planned look: the increments of Pocock-type spending.

    ``looks`` are the planned cumulative pair counts. Spending only the increment at each look
    keeps the overall type-I error at most ``alpha`` by the union bound, whatever the
    correlation between looks, so the adaptive schedule never inflates false positives.
    """
    if not looks:
        return []
    total = looks[-1]
    levels, spent = [], 0.0
    for n in looks:
        cumulative = pocock_spending(n / total, alpha)
        levels.append(cumulative - spent)
        spent = cumulative
    return levels
