"""Calibration on synthetic A/A data with a known sd: noise, the ROC, and the chosen threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.ab import calibration_sim
from bot.ab.calibration_sim import Settings
from bot.model import Sample
from bot.stats import calibration
from bot.stats.calibration import RocPoint, choose, wilson_upper
from bot.stats.sequential import plan_looks
from bot.stats.verdict import Policy
from bot.store import thresholds

SD = 0.03  # per-sample lognormal sd: the paired log-ratio sd is SD·√2


def aa_blocks(n: int, *, sd: float = SD, seed: int = 1) -> list[list[Sample]]:
    """A/A blocks of four samples: a shared per-block load, independent per-sample noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        load = math.exp(rng.normal(0, 0.02))
        block = []
        for _ in range(4):
            imports = 1.5 * load * math.exp(rng.normal(0, sd))
            t = imports + 1.5 * load * math.exp(rng.normal(0, sd))
            phases = {"interpreter_ready": 0.05, "import_torch": imports, "first_batch": t}
            block.append(Sample(status="ok", ttfb_s=t, cpu_s=0.9 * t, phases=phases))
        out.append(block)
    return out


def test_noise_recovers_the_known_sd():
    n = calibration.noise(aa_blocks(60))
    assert n.pairs == 120
    # two segments of sd SD each add to ~SD/√2 per sample → paired sd ≈ SD
    assert 0.75 * SD < n.sd_total < 1.25 * SD
    assert n.sd_cpu == pytest.approx(n.sd_total)
    assert "import_torch" in n.sd_phases and n.sd_phases["import_torch"] > 0


def test_wilson_upper_bound_matches_the_closed_form():
    z = 1.96
    assert wilson_upper(0, 10) == pytest.approx(z * z / 10 / (1 + z * z / 10))
    assert wilson_upper(0, 200) < 0.02 < wilson_upper(0, 150)
    assert wilson_upper(5, 10) > 0.5 > wilson_upper(0, 10)
    assert wilson_upper(3, 0) == 1.0


def point(t: float, fp: int, trials: int = 400, power: float = 0.5) -> RocPoint:
    return RocPoint(t, trials, fp, {"scale:5": power})


def test_choose_takes_the_smallest_threshold_within_the_budget():
    roc = [point(2, 40), point(3, 6), point(5, 0), point(8, 0)]
    c = choose(roc, fp_per_week=1, compares_per_week=50, floor_pct=2)
    assert c.threshold_pct == 5 and c.budget_per_compare == pytest.approx(0.02)
    assert c.point is roc[2] and "≤ 2.00% per compare" in c.reason
    # a looser policy (more false positives a week allowed) buys a lower threshold
    loose = choose(roc, fp_per_week=5, compares_per_week=50, floor_pct=2)
    assert loose.threshold_pct == 3
    # the floor stays a lower bound
    assert choose(roc, fp_per_week=50, compares_per_week=50, floor_pct=2.5).threshold_pct == 2.5


def test_choose_says_when_nothing_met_the_budget():
    c = choose([point(2, 40), point(5, 10)], fp_per_week=1, compares_per_week=500, floor_pct=2)
    assert c.threshold_pct == 5 and "no candidate met" in c.reason
    with pytest.raises(ValueError, match="compares_per_week"):
        choose([point(2, 0)], fp_per_week=1, compares_per_week=0, floor_pct=2)


def test_simulated_roc_and_the_chosen_threshold_keep_false_positives_under_target():
    blocks = aa_blocks(30)
    policy = Policy(alpha=0.01, looks=plan_looks(10, 40))
    settings = Settings(
        thresholds=(2.0, 5.0),
        shifts=(3.0, 10.0),
        aa_trials=30,
        shift_trials=8,
        quiet_phase="interpreter_ready",
        seed=3,
    )
    roc = calibration_sim.simulate_roc(blocks, policy=policy, settings=settings)
    assert [r.threshold_pct for r in roc] == [2.0, 5.0]
    by_t = {r.threshold_pct: r for r in roc}
    # a shift below the threshold is never called; one well above it almost always is
    assert by_t[5.0].power["scale:3"] == 0.0
    assert by_t[2.0].power["scale:10"] >= 0.85 and by_t[5.0].power["scale:10"] >= 0.85
    assert by_t[2.0].power["delay:10"] >= 0.85
    assert by_t[2.0].power["scale:3"] >= by_t[5.0].power["scale:3"]

    choice = choose(roc, fp_per_week=1, compares_per_week=5, floor_pct=2.0)
    assert choice.point is not None and choice.point.fp_upper <= choice.budget_per_compare
    # independent trials (another seed) at the chosen threshold stay within the budget
    again = Settings(thresholds=(choice.threshold_pct,), shifts=(), aa_trials=40, seed=99)
    (check,) = calibration_sim.simulate_roc(blocks, policy=policy, settings=again)
    assert check.fp_rate <= choice.budget_per_compare


def test_threshold_notes_say_where_the_number_came_from():
    cal = {"threshold_pct": 4.1, "pairs": 200, "runner": "ubuntu-latest", "fp_per_week": 1.0}
    t, note = thresholds.describe(cal, floor=2.0)
    assert t == 4.1
    assert note == (
        "threshold 4.1% from 200 A/A pairs on ubuntu-latest, tuned for ≤1 false positive/week"
    )
    t, note = thresholds.describe({**cal, "threshold_pct": 1.5}, floor=2.0)
    assert t == 2.0 and "raised to the 2% floor" in note

    class Empty:
        def calibration(self, scenario, runner):
            return None

    t, note = thresholds.for_scenario(Empty(), "lm-cpu", "gpu-1", floor=2.0)
    assert t == 2.0 and note == "floor 2%, no calibration for this scenario on gpu-1"
    assert thresholds.for_scenario(None, "lm-cpu", "x", floor=3.0)[0] == 3.0
