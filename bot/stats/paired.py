"""Paired statistics for A/B timing, checked against scipy in tests. Pure: no I/O.

Two effect scales:

- **ratio** (whole TTFB, CPU time): per pair ``log(head / base)``. The point estimate is the
  median ratio ``exp(median(log r)) - 1`` as a percent; its 95% CI is a seeded percentile
  bootstrap of that median (``scipy.stats.bootstrap``).
- **difference** (phase segments, whose durations can be near zero so ratios are unstable):
  per pair ``head - base`` in seconds, reported as a percent of the base median TTFB so every
  endpoint of a scenario is on the same scale.

On either scale: Wilcoxon signed-rank (two-sided, zeros dropped, exact when scipy can) and the
one-sample t-test of the paired values against 0 (the paired t-test). The minimum detectable
effect is the normal-approximation ``(z_{1-a/2} + z_{power}) * sd / sqrt(n)``. Degenerate data
(n < 3, zero variance, all pairs tied) give a result with ``degenerate`` set and no p-values,
never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_PAIRS = 3
BOOTSTRAP_RESAMPLES = 2000
# scipy's wilcoxon, given ties or zeros in at most this many pairs, runs an exact permutation
# test (all 2**n sign flips; 2**13 is under its 9,999 resamples); above it, the normal
# approximation.
PERMUTATION_PAIRS = 13


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it takes about a second to import, which every
    ``ttfb`` command would pay at start-up otherwise, a comparison or not."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class PairedResult:
    """One endpoint's paired comparison. Percentages are of base (ratio) or base TTFB (diff)."""

    n: int
    scale: str  # "ratio" | "difference"
    delta_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_ttest: float | None
    p_wilcoxon: float | None
    sd: float  # sd of the paired values (log units, or seconds)
    mde_pct: float | None
    degenerate: str | None = None
    delta_s: float | None = None  # difference scale: median paired difference in seconds
    ci_low_s: float | None = None
    ci_high_s: float | None = None

    @property
    def usable(self) -> bool:
        return self.degenerate is None

    def p(self, test: str = "ttest") -> float | None:
        return self.p_ttest if test == "ttest" else self.p_wilcoxon


def _degenerate(values: np.ndarray) -> str | None:
    if values.size < MIN_PAIRS:
        return f"only {values.size} pair(s); need at least {MIN_PAIRS}"
    if not np.all(np.isfinite(values)):
        return "non-finite values"
    # Spreads below 1e-12 are floating-point error (the clock resolves 1e-9 s), not data.
    if float(np.ptp(values)) <= 1e-12:
        return "zero variance: every pair gave the same value"
    return None


def _t_statistic(values: Sequence[float] | np.ndarray) -> tuple[float, int] | None:
    """The one-sample t statistic of ``values`` against 0 and its degrees of freedom; None
    when the values are degenerate or have no spread."""
    x = np.asarray(values, dtype=float)
    if _degenerate(x):
        return None
    sd = float(np.std(x, ddof=1))
    if sd == 0.0:
        return None
    return float(np.mean(x)) / (sd / math.sqrt(x.size)), x.size - 1


def _t_above(t: float, dof: int) -> float:
    """P(T > t) for Student's t with ``dof`` degrees of freedom (``scipy.special.stdtr``):
    the p-values of scipy's ``ttest_1samp``, whose argument handling costs 0.3 ms a call, 25
    times the test itself; the stopping-rule simulations call the t-test tens of thousands of
    times. The answers are the same (``tests/stats/test_paired.py``)."""
    from scipy import special

    return float(special.stdtr(dof, -t))


def ttest_p(values: Sequence[float] | np.ndarray) -> float | None:
    """Two-sided one-sample t-test of ``values`` against 0 (= paired t-test)."""
    stat = _t_statistic(values)
    if stat is None:
        return None
    t, dof = stat
    return 2 * _t_above(abs(t), dof)


def wilcoxon_p(values: Sequence[float] | np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p of ``values`` against 0; None if all are zero.

    Values are rounded to 1e-12 first, so ties and zeros that differ only by floating-point
    error (``log(b/a)`` vs ``-log(a/b)``) rank the same way whichever arm is called base.
    """
    x = np.round(np.asarray(values, dtype=float), 12)
    nonzero = x[x != 0]
    if _degenerate(x) or nonzero.size < MIN_PAIRS:
        return None
    tied = np.unique(np.abs(nonzero)).size < nonzero.size
    if (tied or nonzero.size < x.size) and x.size <= PERMUTATION_PAIRS:
        return _sign_flip_p(nonzero)
    return float(_scipy_stats().wilcoxon(x, zero_method="wilcox", alternative="two-sided").pvalue)


def _sign_flip_p(nonzero: np.ndarray) -> float:
    """The two-sided p-value of scipy's exact permutation test of the signed-rank sum, by
    counting instead of enumerating: a sign flip moves a value's rank (a midrank when tied, so
    twice it is an integer) in or out of the positive sum, and the number of flips that give
    each doubled sum is a subset-sum count. scipy recomputes the ranks for each of the 2**n
    flips: 0.7 s of CPU at 13 pairs, against well under a millisecond here
    (``benchmarks/signed_rank.py``); the answer is the same (``tests/stats/test_paired.py``)."""
    doubled = np.rint(2 * _scipy_stats().rankdata(np.abs(nonzero))).astype(np.int64)
    ways = np.zeros(int(doubled.sum()) + 1)
    ways[0] = 1.0
    for r in doubled:
        ways[r:] = ways[r:] + ways[:-r]  # the right side is evaluated first: last step's counts
    observed = int(doubled[nonzero > 0].sum())
    total = ways.sum()
    at_most, at_least = ways[: observed + 1].sum() / total, ways[observed:].sum() / total
    return float(min(1.0, 2 * min(at_most, at_least)))


def one_sided_ttest_p(values: Sequence[float] | np.ndarray, direction: int) -> float | None:
    """One-sided t-test p that the mean of ``values`` is > 0 (direction 1) or < 0 (-1)."""
    stat = _t_statistic(values)
    if stat is None:
        return None
    t, dof = stat
    return _t_above(t if direction > 0 else -t, dof)


def bootstrap_median_ci(
    values: Sequence[float] | np.ndarray,
    *,
    seed: int,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median, seeded so reruns print the same interval."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or float(np.ptp(x)) <= 1e-12:
        m = float(np.median(x))
        return m, m
    res = _scipy_stats().bootstrap(
        (x,),
        np.median,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mde(sd: float, n: int, *, alpha: float, power: float = 0.8) -> float | None:
    """Smallest true mean shift a two-sided level-``alpha`` test detects with ``power``."""
    if n < MIN_PAIRS or not sd > 0 or not 0 < alpha < 1:
        return None
    z = _scipy_stats().norm.ppf(1 - alpha / 2) + _scipy_stats().norm.ppf(power)
    return float(z * sd / math.sqrt(n))


def _pct(log_value: float) -> float:
    return (math.exp(log_value) - 1.0) * 100.0


def _paired(base: Sequence[float], head: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(base, dtype=float)
    h = np.asarray(head, dtype=float)
    if b.shape != h.shape:
        raise ValueError("base and head must be paired (same length)")
    return b, h


@dataclass(frozen=True)
class Estimator:
    """How paired values become a ``PairedResult``: the level the MDE is computed at, the
    bootstrap's size, and whether the (reported, never decisive) Wilcoxon test is run."""

    alpha: float
    resamples: int = BOOTSTRAP_RESAMPLES
    wilcoxon: bool = True

    def ratio(self, base: Sequence[float], head: Sequence[float], *, seed: int = 0) -> PairedResult:
        """Paired comparison on ``log(head/base)``; effect as the median ratio in percent."""
        b, h = _paired(base, head)
        if b.size and (np.any(b <= 0) or np.any(h <= 0)):
            raise ValueError("ratio scale needs positive values")
        x = np.log(h / b) if b.size else np.array([])
        return self._summarise(x, "ratio", _pct, seed=seed, seconds=False)

    def difference(
        self, base: Sequence[float], head: Sequence[float], *, scale_s: float, seed: int = 0
    ) -> PairedResult:
        """Paired comparison on ``head - base`` seconds, reported as % of ``scale_s``."""
        b, h = _paired(base, head)
        if not scale_s > 0:
            raise ValueError("scale_s must be positive")
        return self._summarise(
            h - b, "difference", lambda v: v * 100.0 / scale_s, seed=seed, seconds=True
        )

    def _summarise(
        self,
        x: np.ndarray,
        scale: str,
        to_pct: Callable[[float], float],
        *,
        seed: int,
        seconds: bool,
    ) -> PairedResult:
        """The statistics of paired values ``x``, effects mapped to percent by ``to_pct``; with
        ``seconds`` the median and its CI are also kept in seconds (difference scale)."""
        med = float(np.median(x)) if x.size else 0.0
        why = _degenerate(x)
        lo = hi = med
        p_t = p_w = m = None
        sd = 0.0
        if not why:
            lo, hi = bootstrap_median_ci(x, seed=seed, resamples=self.resamples)
            sd = float(np.std(x, ddof=1))
            m = mde(sd, x.size, alpha=self.alpha)
            p_t = ttest_p(x)
            p_w = wilcoxon_p(x) if self.wilcoxon else None
        return PairedResult(
            n=int(x.size),
            scale=scale,
            delta_pct=to_pct(med),
            ci_low_pct=to_pct(lo),
            ci_high_pct=to_pct(hi),
            p_ttest=p_t,
            p_wilcoxon=p_w,
            sd=sd,
            mde_pct=to_pct(m) if m is not None else None,
            degenerate=why,
            delta_s=med if seconds else None,
            ci_low_s=lo if seconds else None,
            ci_high_s=hi if seconds else None,
        )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return [float(v) for v in adjusted]
