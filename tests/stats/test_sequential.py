"""Planned looks and the alpha each may spend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.stats import paired
from bot.stats.sequential import look_levels, plan_looks


@pytest.mark.parametrize(
    ("start", "most", "looks"),
    [
        (10, 80, (10, 20, 40, 80)),
        (10, 10, (10,)),
        (6, 6, (6,)),
        (10, 50, (10, 20, 40, 50)),
        (3, 9, (4, 8)),  # rounded to whole ABBA blocks (two pairs each)
        (1, 1, (2,)),
        (10, 4, (10,)),  # a last look below the first is the first
    ],
)
def test_looks_double_up_to_the_last(start, most, looks):
    assert plan_looks(start, most) == looks


def test_look_levels_spend_exactly_alpha():
    levels = look_levels([10, 20, 40, 80], 0.01)
    assert sum(levels) == pytest.approx(0.01)
    assert all(x > 0 for x in levels)
    assert levels[0] == pytest.approx(0.01 * math.log(1 + (math.e - 1) / 8))
    assert look_levels([50], 0.05) == pytest.approx([0.05])


def test_repeated_looks_hold_the_false_positive_rate():
    """Simulated A/A with four looks: rejecting at any look stays at or under alpha."""
    rng = np.random.default_rng(2024)
    looks = [10, 20, 40, 80]
    levels = look_levels(looks, 0.05)
    naive = spent = 0
    trials = 2000
    for _ in range(trials):
        x = rng.normal(0, 1, 80)
        ps = [paired.ttest_p(x[:n]) or 1.0 for n in looks]
        naive += any(p < 0.05 for p in ps)
        spent += any(p < level for p, level in zip(ps, levels, strict=True))
    assert spent / trials <= 0.05 + 0.012  # within Monte Carlo error of alpha
    assert naive / trials > 0.08  # peeking at the full alpha each look would not be
