"""Statistics: cross-checked against scipy, properties, and the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from bot.stats import paired as stats


def lognormal_pairs(n: int, shift: float, sd: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = 3.0 * np.exp(rng.normal(0, sd, n))
    head = base * np.exp(shift + rng.normal(0, sd, n))
    return base, head


def test_ratio_matches_scipy():
    base, head = lognormal_pairs(40, 0.05, 0.08, seed=1)
    r = stats.Estimator(0.01).ratio(base, head, seed=3)
    logs = np.log(head / base)
    assert r.p_ttest == pytest.approx(sps.ttest_rel(np.log(head), np.log(base)).pvalue)
    assert r.p_wilcoxon == pytest.approx(sps.wilcoxon(logs).pvalue)
    assert r.delta_pct == pytest.approx((math.exp(np.median(logs)) - 1) * 100)
    assert r.ci_low_pct < r.delta_pct < r.ci_high_pct
    assert r.sd == pytest.approx(np.std(logs, ddof=1))
    assert r.n == 40 and r.scale == "ratio" and r.usable


def test_t_tests_are_scipys_ttest_1samp_from_tiny_samples_to_far_tails():
    rng = np.random.default_rng(7)
    checked = 0
    for n in (3, 4, 5, 8, 13, 40, 160):
        for shift in (0.0, 0.01, 0.1, 1.0, 5.0):
            x = rng.normal(shift, 0.05, n)
            expected = sps.ttest_1samp(x, 0.0).pvalue
            assert stats.ttest_p(x) == pytest.approx(expected, rel=1e-9, abs=1e-300), (n, shift)
            assert stats.ttest_p(-x) == pytest.approx(expected, rel=1e-9, abs=1e-300)
            for direction, alternative in ((1, "greater"), (-1, "less")):
                one_sided = sps.ttest_1samp(x, 0.0, alternative=alternative).pvalue
                assert stats.one_sided_ttest_p(x, direction) == pytest.approx(
                    one_sided, rel=1e-9, abs=1e-300
                ), (n, shift, alternative)
            checked += 1
    assert checked == 35
    assert stats.ttest_p([0.1, 0.1, 0.1]) is None  # zero variance
    assert stats.ttest_p([0.1, 0.2]) is None  # too few pairs
    assert stats.one_sided_ttest_p([0.1, 0.1, 0.1], 1) is None


def test_difference_scale_in_percent_of_ttfb():
    base = np.array([0.010, 0.012, 0.011, 0.009, 0.010, 0.011])
    head = base + 0.25
    r = stats.Estimator(0.01).difference(base, head, scale_s=2.5)
    assert r.delta_s == pytest.approx(0.25)
    assert r.delta_pct == pytest.approx(10.0)
    assert r.degenerate is not None  # every pair moved by exactly the same amount


def test_bootstrap_is_seeded_and_covers_the_median():
    x = np.random.default_rng(0).normal(0.1, 0.05, 30)
    a = stats.bootstrap_median_ci(x, seed=5)
    b = stats.bootstrap_median_ci(x, seed=5)
    assert a == b
    assert a[0] < np.median(x) < a[1]
    assert stats.bootstrap_median_ci(x + 1.0, seed=5) == pytest.approx((a[0] + 1.0, a[1] + 1.0))


def test_mde_formula_and_power_by_simulation():
    sd, n, alpha = 0.1, 40, 0.01
    m = stats.mde(sd, n, alpha=alpha)
    expected = (sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(0.8)) * sd / math.sqrt(n)
    assert m == pytest.approx(expected)
    rng = np.random.default_rng(11)
    hits = sum(
        stats.ttest_p(rng.normal(m, sd, n)) < alpha
        for _ in range(2000)  # type: ignore[operator]
    )
    assert 0.74 < hits / 2000 < 0.86  # ~80% power (the t-test is a little below the z bound)


@pytest.mark.parametrize(
    ("base", "head", "why"),
    [
        ([1.0, 1.1], [1.2, 1.3], "only 2 pair"),
        ([], [], "only 0 pair"),
        ([1.0, 1.0, 1.0, 1.0], [1.1, 1.1, 1.1, 1.1], "zero variance"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "zero variance"),
    ],
)
def test_degenerate_inputs_give_no_p_values(base, head, why):
    r = stats.Estimator(0.01).ratio(base, head)
    assert r.degenerate is not None and why in r.degenerate
    assert r.p_ttest is None and r.p_wilcoxon is None and r.mde_pct is None
    assert not r.usable


def test_all_ties_but_one_do_not_raise():
    r = stats.Estimator(0.01).ratio([1.0] * 6, [1.0] * 5 + [1.1])
    assert r.p_wilcoxon is None  # fewer than 3 non-zero differences
    assert r.p_ttest is not None


def test_unpaired_input_is_rejected():
    with pytest.raises(ValueError, match="paired"):
        stats.Estimator(0.01).ratio([1.0, 2.0], [1.0])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(0.5, 5.0), min_size=4, max_size=30),
    st.lists(st.floats(-0.3, 0.3), min_size=30, max_size=30),
)
def test_swapping_arms_flips_the_sign(base, shifts):
    b = np.array(base)
    h = b * np.exp(np.array(shifts[: len(base)]))
    forward = stats.Estimator(0.01).ratio(b, h, seed=1)
    backward = stats.Estimator(0.01).ratio(h, b, seed=1)
    assert forward.usable == backward.usable
    assume(forward.usable)  # all-equal shifts have no test to flip; hypothesis draws again
    # median ratio r becomes 1/r: log-symmetric
    assert math.log1p(forward.delta_pct / 100) == pytest.approx(
        -math.log1p(backward.delta_pct / 100), abs=1e-9
    )
    assert forward.p_ttest == pytest.approx(backward.p_ttest)
    assert forward.p_wilcoxon == pytest.approx(backward.p_wilcoxon)


def test_tied_or_zero_pairs_get_scipys_exact_permutation_p():
    """With ties or zeros in at most 13 pairs scipy's wilcoxon runs an exact permutation test;
    wilcoxon_p counts sign flips instead, and must give the same p-value. Seeded draws of
    whole hundredths have ties; some get a zero too. 13 pairs is the largest such case."""
    rng = np.random.default_rng(7)
    kinds = {"ties": 0, "zeros": 0}
    for n in [*rng.integers(3, 10, size=60), stats.PERMUTATION_PAIRS]:
        x = rng.integers(1, 6, int(n)) * rng.choice([-1.0, 1.0], int(n)) / 100
        if rng.random() < 0.4:
            x[0] = 0.0
        nonzero = x[x != 0]
        if nonzero.size < stats.MIN_PAIRS or np.ptp(x) == 0:
            continue
        zeros, tied = nonzero.size < x.size, np.unique(np.abs(nonzero)).size < nonzero.size
        if not (zeros or tied):
            continue
        kinds["zeros" if zeros else "ties"] += 1
        expected = sps.wilcoxon(x, zero_method="wilcox").pvalue
        assert stats.wilcoxon_p(x) == pytest.approx(expected, rel=1e-12, abs=0), x
    assert min(kinds.values()) >= 10, kinds  # both paths into the permutation test were tried


def test_aa_is_centred_on_zero():
    deltas = [
        stats.Estimator(0.01).ratio(*lognormal_pairs(30, 0.0, 0.1, seed=s)).delta_pct
        for s in range(300)
    ]
    assert abs(np.mean(deltas)) < 0.5
    rejections = sum(
        (stats.Estimator(0.01).ratio(*lognormal_pairs(30, 0.0, 0.1, seed=s)).p_ttest or 1) < 0.05
        for s in range(300)
    )
    assert rejections / 300 < 0.09  # nominal 5%


def test_holm_matches_hand_computation():
    p = [0.01, 0.04, 0.03, 0.2]
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> max(0.09, 0.08)=0.09, 0.2*1 -> 0.2
    assert stats.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert stats.holm([]) == []
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0]
