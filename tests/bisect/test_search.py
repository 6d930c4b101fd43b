"""The pure bisect search on synthetic step functions (no git, no processes)."""

from __future__ import annotations

import random

import pytest

from bot.bisect.search import BisectError, StepResult, bisect, budget, drawing
from bot.model import Verdict


def commits(n: int) -> list[str]:
    """The good commit plus n more: ``c00`` is good, ``c<n>`` is the bad end."""
    return [f"c{i:02d}" + "0" * 38 for i in range(n + 1)]


def stepper(cs, regressions, *, threshold=2.0, broken=(), noise=None, inconclusive=None):
    """compare() over a TTFB level that steps up by ``regressions[pos]`` percent at pos."""
    index = {c: i for i, c in enumerate(cs)}
    calls = []

    def level(i: int) -> float:
        return sum(v for p, v in regressions.items() if p <= i)

    def compare(a: str, b: str, attempt: int) -> StepResult:
        calls.append((index[a], index[b], attempt))
        if index[b] in broken:
            return StepResult(Verdict.BROKEN, error="ImportError")
        delta = level(index[b]) - level(index[a])
        if inconclusive and inconclusive(index[b], attempt):
            return StepResult(Verdict.INCONCLUSIVE, delta_pct=delta, pairs=20 * (attempt + 1))
        if noise is not None:
            delta += noise()
        verdict = (
            Verdict.REGRESSION
            if delta >= threshold
            else Verdict.IMPROVEMENT
            if delta <= -threshold
            else Verdict.NO_CHANGE
        )
        return StepResult(
            verdict, delta_pct=delta, ci_low_pct=delta - 1, ci_high_pct=delta + 1, p=0.001, pairs=20
        )

    return compare, calls


@pytest.mark.parametrize("n", [1, 2, 3, 32])
def test_culprit_found_at_every_position_within_budget(n):
    cs = commits(n)
    for culprit in range(1, n + 1):
        compare, calls = stepper(cs, {culprit: 8.0})
        r = bisect(cs, compare, bad_result=compare(cs[0], cs[-1], 0))
        calls.pop(0)  # the end-to-end result came from the release suite
        assert r.culprit is not None and r.culprit.commit == cs[culprit], (n, culprit)
        assert r.culprit.effect_pct == pytest.approx(8.0)
        assert len(calls) <= budget(n), (n, culprit, calls)
        assert r.unexplained_pct == pytest.approx(0.0)


def test_without_a_known_end_the_bad_end_is_compared_first():
    cs = commits(16)
    compare, calls = stepper(cs, {5: 6.0})
    r = bisect(cs, compare)
    assert r.culprit.commit == cs[5]
    assert calls[0] == (0, 16, 0)
    assert len(calls) <= budget(16) + 1


def test_all_good_range_reports_no_culprit():
    cs = commits(8)
    compare, _ = stepper(cs, {})
    r = bisect(cs, compare)
    assert r.culprits == () and "no regression between the ends" in r.notes[0]


def test_all_bad_range_blames_the_first_commit():
    cs = commits(8)
    compare, _ = stepper(cs, {1: 10.0})
    assert bisect(cs, compare).culprit.commit == cs[1]


def test_broken_commits_are_skipped():
    cs = commits(16)
    compare, _ = stepper(cs, {11: 7.0}, broken={8, 12})
    r = bisect(cs, compare)
    assert r.culprit.commit == cs[11]
    assert set(r.skipped) <= {cs[8], cs[12]} and r.skipped
    assert any(step.judged == "skipped" for step in r.steps)


def test_skipped_neighbours_make_the_culprit_ambiguous():
    cs = commits(8)
    compare, _ = stepper(cs, {5: 7.0}, broken={4, 5})
    r = bisect(cs, compare)
    assert r.culprit.commit == cs[6] or set(r.ambiguous) >= {cs[4], cs[5]}
    assert r.ambiguous  # the range the culprit hides in is reported, not guessed


def test_too_many_broken_commits_is_a_clear_error():
    cs = commits(16)
    compare, _ = stepper(cs, {15: 7.0}, broken=set(range(1, 15)))
    with pytest.raises(BisectError, match=r"failed to build or run .*more than the 3 allowed"):
        bisect(cs, compare, max_skips=3)


def test_inconclusive_steps_get_more_pairs_before_moving_on():
    cs = commits(8)
    compare, calls = stepper(cs, {6: 8.0}, inconclusive=lambda pos, attempt: attempt == 0)
    r = bisect(cs, compare, bad_result=StepResult(Verdict.REGRESSION, delta_pct=8.0))
    assert r.culprit.commit == cs[6]
    attempts = [a for _, _, a in calls]
    assert 0 in attempts and 1 in attempts  # every step retried once with more pairs
    assert all(s.attempt == 1 for s in r.steps if s.judged != Verdict.INCONCLUSIVE)


def test_always_inconclusive_steps_are_judged_by_effect():
    cs = commits(8)
    compare, _ = stepper(cs, {3: 8.0}, inconclusive=lambda pos, attempt: True)
    r = bisect(cs, compare, bad_result=StepResult(Verdict.REGRESSION, delta_pct=8.0))
    assert r.culprit.commit == cs[3]


def noisy_engine(cs, culprit, effect, sd, rng):
    """compare() shaped like the real engine: an estimate with noise ``sd`` (shrinking with
    more pairs on retries), significance at ~2.6 sd, and a 2% threshold."""
    index = {c: i for i, c in enumerate(cs)}

    def compare(a: str, b: str, attempt: int) -> StepResult:
        true = effect * ((index[b] >= culprit) - (index[a] >= culprit))
        s = sd / (2 ** (attempt / 2))
        est = true + rng.gauss(0, s)
        if abs(est) >= 2.0 and abs(est) / s >= 2.6:
            verdict = Verdict.REGRESSION if est > 0 else Verdict.IMPROVEMENT
        elif abs(est) + 1.96 * s < 2.0:
            verdict = Verdict.NO_CHANGE
        else:
            verdict = Verdict.INCONCLUSIVE
        return StepResult(verdict, delta_pct=est, pairs=20 * 2**attempt)

    return compare


def test_noisy_compare_answers_still_find_it():
    rng = random.Random(7)
    cs = commits(32)
    found = 0
    for _ in range(200):
        culprit = rng.randint(1, 32)
        r = bisect(cs, noisy_engine(cs, culprit, 10.0, 2.5, rng))
        found += r.culprit is not None and r.culprit.commit == cs[culprit]
    assert found >= 190


def test_two_regressions_largest_first_and_rest_explained():
    cs = commits(16)
    compare, _ = stepper(cs, {4: 3.0, 12: 9.0})
    r = bisect(cs, compare)
    assert [c.commit for c in r.culprits] == [cs[12], cs[4]]
    assert r.culprits[0].effect_pct == pytest.approx(9.0)
    assert r.unexplained_pct == pytest.approx(0.0)


def test_more_regressions_than_found_are_called_unexplained():
    cs = commits(16)
    compare, _ = stepper(cs, {2: 4.0, 6: 4.0, 12: 4.0})
    r = bisect(cs, compare, max_culprits=2)
    assert len(r.culprits) == 2
    assert r.unexplained_pct == pytest.approx(4.0)
    assert "unexplained" in r.notes[0]


def test_drawing_marks_the_search():
    cs = commits(8)
    compare, _ = stepper(cs, {5: 7.0}, broken={4})
    r = bisect(cs, compare)
    text = drawing(cs, r)
    lines = text.splitlines()
    assert len(lines) == 9
    assert lines[0].startswith("✓ c00") and "good (baseline)" in lines[0]
    assert lines[5].startswith("◆ c05") and "culprit" in lines[5]
    assert "⊘" in lines[4]
    assert lines[-1].endswith("bad (head)")


def test_a_culprit_inside_the_end_to_end_ci_explains_it_all():
    """A +250% step measured as +243% while the ends read +296% (CI +212…+375%) is one
    regression: no second search of the rest of the range."""
    cs = commits(11)
    calls = []

    def compare(a: str, b: str, attempt: int) -> StepResult:
        ia, ib = cs.index(a), cs.index(b)
        calls.append((ia, ib))
        if (ia, ib) == (0, 11):
            return StepResult(Verdict.REGRESSION, 296.0, 212.0, 375.0, 0.001, 16)
        moved = ia < 5 <= ib
        if moved:
            return StepResult(Verdict.REGRESSION, 243.0, 200.0, 280.0, 0.001, 16)
        return StepResult(Verdict.NO_CHANGE, 0.5, -1.0, 1.5, 0.5, 16)

    r = bisect(cs, compare)
    assert [c.commit for c in r.culprits] == [cs[5]]
    assert (5, 11) not in calls
    assert len(calls) <= budget(11)
    assert not r.notes


def test_a_gap_the_rest_of_the_range_does_not_confirm_is_called_noise():
    """Own step +207% (CI +165…+250%) under ends of +357% (CI +258…+379%): one more check of
    culprit → bad finds nothing, so the note says the gap is noise, not a second culprit."""
    cs = commits(11)

    def compare(a: str, b: str, attempt: int) -> StepResult:
        ia, ib = cs.index(a), cs.index(b)
        if (ia, ib) == (0, 11):
            return StepResult(Verdict.REGRESSION, 356.9, 258.3, 378.5, 0.001, 16)
        if ia < 5 <= ib:
            return StepResult(Verdict.REGRESSION, 206.7, 165.3, 249.7, 0.001, 16)
        return StepResult(Verdict.NO_CHANGE, -1.7, -5.6, 1.9, 0.9, 16)

    r = bisect(cs, compare)
    assert [c.commit for c in r.culprits] == [cs[5]]
    assert r.comparisons == budget(11) + 1
    assert "no further regression" in r.notes[0] and "noise" in r.notes[0]
