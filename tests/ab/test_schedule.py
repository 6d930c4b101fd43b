"""The schedule itself: warm-ups, ABBA and BAAB blocks, planned looks, the time budget, and
the one ``compare`` every caller uses (estimates made once, every outcome recorded)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bot.ab import engine as compare_module
from bot.ab import schedule as schedule_module
from bot.ab.engine import compare
from bot.ab.schedule import Scheduler, confirmation_size, run_confirmation, run_primary
from bot.ab.targets import Target
from bot.model import Job, Sample, TimedOnly, Verdict
from bot.stats import paired
from bot.stats.verdict import Policy


class Recording(TimedOnly):
    """An executor that remembers the order of arms and returns noisy samples; ``delay_s`` in
    the head arm, and ``sleep_s`` of real time per sample (for the budget)."""

    def __init__(self, *, delay_s: float = 0.0, sd: float = 0.02, sleep_s: float = 0.0, seed=1):
        self.order: list[str] = []
        self.delay_s = delay_s
        self.sd = sd
        self.sleep_s = sleep_s
        self.rng = np.random.default_rng(seed)

    def run(self, job: Job) -> Sample:
        self.order.append(job.label)
        if self.sleep_s:
            time.sleep(self.sleep_s)
        ready = 0.05 * float(np.exp(self.rng.normal(0, self.sd)))
        work = 1.0 * float(np.exp(self.rng.normal(0, self.sd)))
        if job.label == "head":
            work += self.delay_s
        phases = {"interpreter_ready": ready, "model_built": ready + work}
        phases["first_batch"] = phases["model_built"]
        t = phases["first_batch"]
        return Sample("ok", ttfb_s=t, cpu_s=0.9 * t, phases=phases)


JOB = Job(argv=("python", "t.py"), cwd=Path("."), scenario="s")


def target(name: str = "s") -> Target:
    job = replace(JOB, scenario=name)
    return Target(name, job, job, threshold_pct=2.0)


def test_a_warm_up_per_arm_then_abba_blocks_and_baab_for_confirmation():
    ex = Recording()
    sched = Scheduler(JOB, JOB, executor=ex, name="s")
    sched.warm_up()
    pairs, broken = sched.block(0, reverse=False, stage="primary")
    assert broken is None and len(pairs) == 2
    got, broken, note = run_confirmation(sched, 4)
    assert broken is None and len(got) == 4 and note == "4 pairs"
    assert (
        ex.order
        == ["base", "head"]
        + ["base", "head", "head", "base"]
        + [
            "head",
            "base",
            "base",
            "head",
        ]
        * 2
    )
    assert confirmation_size(pairs) == 10 and confirmation_size([pairs[0]] * 13) == 14


def test_looks_stop_at_the_first_decisive_one():
    policy = Policy(looks=(4, 8, 16))
    run = run_primary(
        Scheduler(JOB, JOB, executor=Recording(delay_s=0.3), name="s"), policy, family_factor=1
    )
    assert run.looks_done == (4,) and run.stop_reason.startswith("decisive (significant)")
    quiet = run_primary(
        Scheduler(JOB, JOB, executor=Recording(sd=0.0001), name="s"), policy, family_factor=1
    )
    assert quiet.stop_reason.startswith("decisive (no_change) at look 1")


def test_a_failed_sample_breaks_the_scenario_at_once():
    class Crashing(Recording):
        def run(self, job: Job) -> Sample:
            sample = super().run(job)
            if len(self.order) == 5 and job.label == "head":
                return Sample("crashed", error="boom")
            return sample

    ex = Crashing()
    run = run_primary(
        Scheduler(JOB, JOB, executor=ex, name="s"), Policy(looks=(10,)), family_factor=1
    )
    assert run.broken == "head sample crashed: boom" and run.analysis is None
    assert len(ex.order) == 5  # nothing ran after the crash


def test_the_time_budget_stops_after_the_first_look():
    """An A/A with wide noise never decides early; a budget shorter than one look still gets
    that look (every scenario does), then ends the run, and says so."""
    ex = Recording(sd=0.2, sleep_s=0.01)
    started = time.monotonic()
    said: list[str] = []
    comparison = compare([target()], Policy(looks=(4, 8, 16, 32)), ex, said.append, budget_s=0.05)
    (o,) = comparison.outcomes
    assert o.primary is not None
    assert o.primary.stop_reason == "time budget spent after 4 pairs"
    assert o.primary.looks_done == (4,)
    # said before it ran, not only in the stop reason
    (warning,) = [line for line in said if "first look" in line]
    assert said.index(warning) < min(i for i, line in enumerate(said) if "4 pairs  Δ" in line)
    assert "(4 pairs, ~0 s from the warm-up) passes this scenario's share" in warning
    assert time.monotonic() - started < 3
    unbounded = compare([target()], Policy(looks=(4, 8, 16, 32)), Recording(sd=0.2))
    assert len(unbounded.outcomes[0].primary.looks_done) > 1


def test_the_budget_is_shared_between_targets():
    """All four looks of one target take about 0.65 s here; with 1 s for two targets, each gets
    its first look and neither gets all four."""
    ex = Recording(sd=0.2, sleep_s=0.01)
    comparison = compare([target("a"), target("b")], Policy(looks=(4, 8, 16, 32)), ex, budget_s=1)
    for o in comparison.outcomes:  # each got its first look, neither all four
        assert o.primary is not None and 1 <= len(o.primary.looks_done) < 4, o.primary


def test_estimates_are_made_once_per_look(monkeypatch):
    """Holm across targets re-judges the last looks from the same estimates: the number of
    bootstraps is the number of (look, endpoint) estimates plus the confirmation's."""
    calls = []
    real = paired.bootstrap_median_ci

    def counting(values, **kw):
        calls.append(1)
        return real(values, **kw)

    monkeypatch.setattr(paired, "bootstrap_median_ci", counting)
    seen = []
    ex = Recording(delay_s=0.3)
    comparison = compare(
        [target("a"), target("b")], Policy(looks=(4,)), ex, record=lambda o, _: seen.append(o)
    )
    # per target and look: ttfb, cpu and two segments; per confirmation the same again
    looks = sum(len(o.primary.looks_done) for o in comparison.outcomes)
    confirmations = sum(1 for o in comparison.outcomes if o.confirmation_pairs)
    assert len(calls) == 4 * (looks + confirmations)
    assert [o.name for o in seen] == ["a", "b"]  # every outcome handed to the recorder
    assert all(o.verdict is Verdict.REGRESSION for o in comparison.outcomes)


def test_skipped_and_broken_targets_are_decided_without_sampling():
    ex = Recording()
    skipped = Target("gpu", None, None, 2.0, skipped="needs 1 GPU")
    broken = Target("bad", None, None, 2.0, broken="head: config fails validation")
    comparison = compare([skipped, broken], Policy(looks=(4,)), ex)
    assert [o.verdict for o in comparison.outcomes] == [Verdict.SKIPPED, Verdict.BROKEN]
    assert comparison.outcomes[1].decision.reason == "head: config fails validation"
    assert ex.order == []


class Clock:
    """A monotonic clock that moves only when told: budgets tested without wall time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def test_the_primary_schedule_leaves_the_rest_of_a_budget_for_the_confirmation(monkeypatch):
    """A target's primary schedule may use 60% of its budget (the engine's docstring), the rest
    being the confirmation's: an A/A with wide noise never decides, so only the budget stops
    it, at the last block that ends within 60% of it. A clock moved 0.1 s per sample makes
    this exact, whatever the machine's load."""
    clock = Clock()
    monkeypatch.setattr(compare_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(schedule_module, "time", SimpleNamespace(monotonic=clock.monotonic))

    class Ticking(Recording):
        def run(self, job: Job) -> Sample:
            clock.now += 0.1
            return super().run(job)

    budget, block = 10.0, 0.4  # an ABBA block is four samples
    comparison = compare(
        [target()], Policy(looks=(4, 8, 16, 32, 64)), Ticking(sd=0.2), budget_s=budget
    )
    (o,) = comparison.outcomes
    assert o.primary is not None and o.verdict is not Verdict.REGRESSION
    assert o.primary.stop_reason.startswith("time budget spent after"), o.primary.stop_reason
    assert 0.6 * budget - block < comparison.elapsed_s <= 0.6 * budget, comparison.elapsed_s


def test_counts_that_moved_and_were_confirmed_end_the_schedule():
    """An A/A-like wall time never decides; once the counts between looks say the CPU work
    moved and fresh counts reproduced it, no more timed pairs are taken. A confirmation that
    is still pending (None) is asked about again after the next look."""
    said: list[int] = []

    def between(pairs, sampled_s):
        said.append(len(pairs))
        return None if len(said) == 1 else "moved"

    ex = Recording(sd=0.2)
    run = run_primary(
        Scheduler(JOB, JOB, executor=ex, name="s"),
        Policy(looks=(4, 8, 16, 32)),
        family_factor=1,
        between_looks=between,
    )
    assert said == [4, 8]
    assert run.looks_done == (4, 8) and len(run.pairs) == 8
    assert run.stop_reason == "decisive (CPU work moved, confirmed by fresh counts) at look 2 of 4"
    other = run_primary(
        Scheduler(JOB, JOB, executor=Recording(sd=0.2), name="s"),
        Policy(looks=(4, 8, 16, 32)),
        family_factor=1,
        between_looks=lambda pairs, s: "other",
    )
    assert len(other.looks_done) > 1 and "CPU work moved" not in other.stop_reason
