"""CPU work to first batch: the range rules on instruction counts, and how they join the verdict."""

from __future__ import annotations

import pytest

from bot.model import Verdict
from bot.stats.instructions import Work, spread_pct

BASE = 2_000_000_000


def work(base_pct=(0.0, 0.002), head_pct=(0.0, 0.002), **kw) -> Work:
    base = tuple(int(BASE * (1 + p / 100)) for p in base_pct)
    head = tuple(int(BASE * (1 + p / 100)) for p in head_pct)
    return Work(base, head, **kw)


def test_spread_is_range_over_mean():
    assert spread_pct([100, 100]) == 0.0
    assert spread_pct([99, 101]) == pytest.approx(2.0)
    assert spread_pct([5]) == 0.0


def test_a_spread_3pct_change_is_a_finding_and_an_aa_is_unchanged():
    moved = work(head_pct=(3.0, 3.002))
    assert moved.stable and moved.direction == 1 and not moved.unchanged
    assert moved.summary().startswith("CPU work to first batch: +3.00% instructions")
    same = work()
    assert same.stable and same.unchanged and same.direction == 0
    assert "unchanged (±0.002%" in same.summary()


def test_below_threshold_or_overlapping_ranges_are_not_findings():
    assert work(head_pct=(0.5, 0.5)).direction == 0  # below the 1% threshold
    assert work(head_pct=(0.5, 0.5), threshold_pct=0.2).direction == 1
    # an unstable arm (its own repeats 0.5% apart) takes no part
    unstable = work(base_pct=(0.0, 0.5), head_pct=(3.0, 3.0))
    assert not unstable.stable and unstable.direction == 0 and not unstable.unchanged
    assert "unstable (±0.499%" in unstable.summary()


def test_confirmation_needs_the_same_sign_and_half_the_threshold():
    moved = work(head_pct=(3.0, 3.0))
    assert moved.confirmed is None
    ok = Work(moved.base, moved.head, confirm_base=BASE, confirm_head=int(BASE * 1.029))
    assert ok.confirmed is True
    no = Work(moved.base, moved.head, confirm_base=BASE, confirm_head=int(BASE * 1.002))
    assert no.confirmed is False


def test_decide_with_work(tmp_path):
    """Through the real decision: CPU work decides where wall time has no finding."""
    from bot.model import Pair, Sample
    from bot.stats.verdict import Policy, analyze, decide

    def pair(i: int) -> Pair:
        b = 2.0 + 0.3 * ((i * 7919) % 13 - 6) / 6  # noisy wall time, no finding
        h = b * (1 + 0.08 * ((i * 31) % 7 - 3) / 3)
        phases = {"interpreter_ready": 0.03, "first_batch": b}
        hp = {"interpreter_ready": 0.03, "first_batch": h}
        return Pair(Sample("ok", ttfb_s=b, phases=phases), Sample("ok", ttfb_s=h, phases=hp))

    policy = Policy(looks=(10,))
    analysis = analyze([pair(i) for i in range(10)], policy, look=0, family_factor=1)
    assert analysis.finding is None
    regress = Work(
        (BASE, BASE), (int(BASE * 1.03),) * 2, confirm_base=BASE, confirm_head=int(BASE * 1.03)
    )
    d = decide(analysis, policy=policy, work=regress)
    assert d.verdict is Verdict.REGRESSION and d.finding is not None
    assert d.finding.kind == "instructions" and d.confirmed
    d = decide(analysis, policy=policy, work=work())
    assert d.verdict is Verdict.NO_CHANGE and d.reason.startswith(
        "CPU work to first batch unchanged"
    )
    assert "wall time within" in d.reason
    d = decide(analysis, policy=policy)  # without it: the wide wall CI is inconclusive
    assert d.verdict is Verdict.INCONCLUSIVE
