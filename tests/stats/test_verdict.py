"""Verdict logic on synthetic pairs: findings, localisation, compensation, edge cases."""

from __future__ import annotations

import numpy as np

from bot.model import Pair, Sample, Verdict
from bot.stats.endpoints import common_phases
from bot.stats.verdict import (
    Confirmation,
    Finding,
    Policy,
    analyze,
    confirm,
    decide,
)

PHASES = ("interpreter_ready", "import_torch", "model_built", "optimizer_created", "first_forward")
BASE = (0.03, 1.3, 0.05, 1.0, 0.02)


def sample(durations, rng, sd, load) -> Sample:
    t, phases = 0.0, {}
    for name, d in zip(PHASES, durations, strict=True):
        t += d * float(np.exp(rng.normal(0, sd))) * load
        phases[name] = t
    phases["first_batch"] = t
    return Sample(status="ok", ttfb_s=t, cpu_s=0.9 * t, phases=phases)


def pairs(n, head=BASE, *, sd=0.03, seed=0, load_sd=0.05, base=BASE) -> list[Pair]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        load = float(np.exp(rng.normal(0, load_sd)))
        out.append(Pair(sample(base, rng, sd, load), sample(head, rng, sd, load), i // 2))
    return out


POLICY = Policy(looks=(10, 20, 40, 80))


def test_whole_ttfb_regression_is_a_finding():
    head = tuple(d * 1.10 for d in BASE)
    a = analyze(pairs(20, head, sd=0.01, load_sd=0.0), POLICY, look=1)
    assert a.decisive == "significant"
    assert a.finding is not None and a.finding.kind == "total" and a.finding.direction == 1
    assert 8 < a.finding.effect_pct < 12


def test_localised_delay_is_found_through_its_phase():
    """+250 ms in a quiet phase, while import_torch is very noisy."""
    head = (0.03, 1.3, 0.30, 1.0, 0.02)
    ps = pairs(20, head, sd=0.01, load_sd=0.0)
    noisy = []
    rng = np.random.default_rng(5)
    for p in ps:  # add large independent noise to import_torch in each arm
        samples = []
        for s in (p.base, p.head):
            extra = float(rng.normal(0, 0.35))
            phases = {
                k: (v + extra if k != "interpreter_ready" else v) for k, v in s.phases.items()
            }
            samples.append(
                Sample(status="ok", ttfb_s=phases["first_batch"], cpu_s=s.cpu_s, phases=phases)
            )
        noisy.append(Pair(samples[0], samples[1], p.block))
    a = analyze(noisy, POLICY, look=1)
    assert a.total.significant is False  # the whole-TTFB test alone misses it
    assert a.finding is not None and a.finding.kind == "segments"
    assert a.finding.endpoint == "segment:model_built"
    seg = a.endpoint("segment:model_built")
    assert seg is not None and abs(seg.result.delta_s - 0.25) < 0.01


def test_cost_moved_between_phases_is_not_a_regression():
    """A lazy import: 300 ms leaves import_torch and lands in optimizer_created."""
    head = (0.03, 1.0, 0.05, 1.3, 0.02)
    a = analyze(pairs(40, head, sd=0.01, load_sd=0.0), POLICY, look=2)
    moved = [e for e in a.endpoints if e.kind == "segment" and e.significant]
    assert {e.key for e in moved} == {"segment:import_torch", "segment:optimizer_created"}
    assert a.finding is None
    assert a.decisive == "no_change"


def test_identical_arms_reach_no_change():
    a = analyze(pairs(80, sd=0.01, load_sd=0.02, seed=3), POLICY, look=3)
    assert a.finding is None
    assert a.decisive == "no_change"
    v = decide(a, policy=POLICY)
    assert v.verdict == Verdict.NO_CHANGE


def test_small_significant_effect_under_threshold_is_not_a_finding():
    head = tuple(d * 1.01 for d in BASE)
    a = analyze(pairs(80, head, sd=0.002, load_sd=0.0, seed=4), POLICY, look=3)
    assert a.total.significant
    assert a.finding is None
    assert any("under the 2% threshold" in n for n in a.notes)


def test_too_few_pairs_is_inconclusive_not_an_error():
    a = analyze(pairs(2), POLICY, look=0)
    assert a.finding is None and a.decisive is None
    v = decide(a, policy=POLICY)
    assert v.verdict == Verdict.INCONCLUSIVE and "need at least 3" in v.reason


def test_zero_variance_is_inconclusive():
    p = Pair(
        Sample("ok", ttfb_s=2.0, cpu_s=1.0, phases={"first_batch": 2.0}),
        Sample("ok", ttfb_s=2.0, cpu_s=1.0, phases={"first_batch": 2.0}),
    )
    a = analyze([p] * 12, POLICY, look=0)
    v = decide(a, policy=POLICY)
    assert v.verdict == Verdict.INCONCLUSIVE and "zero variance" in v.reason


def test_confirmation_reproduces_or_not():
    head = tuple(d * 1.10 for d in BASE)
    finding = Finding(1, "total", "ttfb", 10.0, "whole TTFB +10.0%")
    yes = confirm(finding, pairs(10, head, sd=0.01, seed=9), POLICY)
    assert yes.reproduced and yes.p_one_sided is not None and yes.p_one_sided < 0.05
    no = confirm(finding, pairs(10, sd=0.01, seed=9), POLICY)
    assert not no.reproduced
    backwards = confirm(finding, pairs(10, tuple(d * 0.9 for d in BASE), sd=0.01), POLICY)
    assert not backwards.reproduced


def test_decide_needs_confirmation():
    head = tuple(d * 1.10 for d in BASE)
    a = analyze(pairs(20, head, sd=0.01, load_sd=0.0), POLICY, look=1)
    assert decide(a, policy=POLICY).verdict == Verdict.INCONCLUSIVE  # no confirmation run
    good = Confirmation("ttfb", 10, 9.0, 7.0, 11.0, 0.0001, True)
    bad = Confirmation("ttfb", 10, 0.5, -2.0, 3.0, 0.4, False)
    assert decide(a, policy=POLICY, confirmation=good).verdict == Verdict.REGRESSION
    v = decide(a, policy=POLICY, confirmation=bad)
    assert v.verdict == Verdict.INCONCLUSIVE and "not reproduced" in v.reason


def test_improvement_direction():
    head = tuple(d * 0.85 for d in BASE)
    a = analyze(pairs(20, head, sd=0.01, load_sd=0.0), POLICY, look=1)
    assert a.finding is not None and a.finding.direction == -1
    c = confirm(a.finding, pairs(10, head, sd=0.01, seed=2), POLICY)
    assert decide(a, policy=POLICY, confirmation=c).verdict == Verdict.IMPROVEMENT


def test_broken_and_skipped_win():
    assert decide(None, policy=POLICY, broken="head sample crashed").verdict == Verdict.BROKEN
    assert decide(None, policy=POLICY, skipped="needs a GPU").verdict == Verdict.SKIPPED


def test_family_factor_makes_it_stricter():
    head = tuple(d * 1.03 for d in BASE)
    ps = pairs(20, head, sd=0.02, load_sd=0.0, seed=1)
    alone = analyze(ps, POLICY, look=1, family_factor=1)
    crowded = analyze(ps, POLICY, look=1, family_factor=50)
    assert crowded.total.p_adjusted >= alone.total.p_adjusted
    assert crowded.total.p_adjusted == min(1.0, alone.total.p_adjusted * 50)


def test_common_phases_ignore_marks_only_one_arm_has():
    ps = pairs(4)
    extra = Sample(
        "ok", ttfb_s=ps[0].head.ttfb_s, cpu_s=1.0, phases={**ps[0].head.phases, "new_mark": 0.5}
    )
    ps[0] = Pair(ps[0].base, extra)
    assert "new_mark" not in common_phases(ps)
    assert common_phases(ps)[-1] == "first_batch"
