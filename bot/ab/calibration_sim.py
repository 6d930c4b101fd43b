"""Calibration: A/A runs, an ROC by simulation, and the threshold a repository's policy allows.

``record_aa`` runs A/A pairs: the same job in both arms, in the real ABBA schedule. The ROC
runs the *real* engine — ``compare`` with the adaptive looks, confirmation and the correction
across ``family_size`` scenarios — on recorded A/A blocks (four samples of the same revision,
back to back) through ``bot.exec.resample.BlockResampler``:

- **false positives**: resampled A/A, no shift; any regression or improvement called is one;
- **power**: the same with a planted regression in the head samples, spread evenly over
  start-up (``scale``, the general case) or as a blocking delay in a quiet phase (``delay``).

For each candidate threshold this gives the false-positive rate per compare and the power at
each shift; ``bot.stats.calibration.choose`` picks the threshold the policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..exec.resample import BlockResampler, Plant
from ..model import Executor, Job, Progress, Sample, Verdict
from ..stats.calibration import (
    CALIBRATION_RESAMPLES,
    Calibration,
    RocPoint,
    choose,
    noise,
)
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store.records import SampleRow, pair_rows
from ..store.versioned import SampleLog
from .engine import compare
from .schedule import Scheduler
from .targets import Target

DEFAULT_THRESHOLDS = (2.0, 3.0, 5.0, 8.0, 12.0)
DEFAULT_SHIFTS = (3.0, 5.0, 10.0)
MIN_BLOCKS = 3


@dataclass(frozen=True)
class Settings:
    """How a calibration simulates and what policy it serves."""

    fp_per_week: float = 1.0
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    shifts: tuple[float, ...] = DEFAULT_SHIFTS
    aa_trials: int = 200
    shift_trials: int = 20
    family_size: int = 1
    quiet_phase: str | None = "interpreter_ready"
    alpha: float = 0.01
    max_pairs: int = 80
    seed: int = 0


def record_aa(
    job: Job,
    *,
    pairs: int,
    executor: Executor,
    progress: Progress | None = None,
    log: SampleLog | None = None,
) -> tuple[SampleRow, ...]:
    """A/A pairs of ``job`` in ABBA blocks (each sample also appended to ``log``); a failed
    sample is a one-line error."""
    sched = Scheduler(job, job, executor=executor, name=job.scenario, log=log)
    _, broken = sched.warm_up()
    if broken:
        raise UsageError(f"calibrate: {job.scenario}: {broken}")
    rows: tuple[SampleRow, ...] = ()
    blocks = (pairs + 1) // 2
    for b in range(blocks):
        got, broken = sched.block(b, reverse=False, stage="aa")
        if broken:
            raise UsageError(f"calibrate: {job.scenario}: {broken}")
        rows += pair_rows(got, stage="aa")
        if progress:
            progress(f"{job.scenario}: A/A block {b + 1}/{blocks}")
    return rows


def _plants(shift: float, ttfb: float, quiet_phase: str | None) -> dict[str, Plant]:
    plants = {f"scale:{shift:g}": Plant(scale_pct=shift)}
    if quiet_phase:
        plants[f"delay:{shift:g}"] = Plant(delay_s=ttfb * shift / 100, after_phase=quiet_phase)
    return plants


def simulate_roc(
    blocks: Sequence[Sequence[Sample]], *, policy: Policy, settings: Settings = Settings()
) -> list[RocPoint]:
    """False positives and power per candidate threshold (see the module docstring)."""
    s = settings
    base = replace(policy, resamples=CALIBRATION_RESAMPLES, wilcoxon=False)
    ttfb = float(np.median([x.ttfb_s or 0.0 for b in blocks for x in b]))
    job = Job(argv=("aa",), cwd=Path("."))  # never run: the resampler answers
    points = []
    for i, t in enumerate(s.thresholds):
        p = replace(base, threshold_pct=t)
        target = Target("aa", job, job, threshold_pct=t)

        def verdicts(
            plant: Plant, trials: int, seed: int, p: Policy = p, target: Target = target
        ) -> list[Verdict]:
            """The verdicts of ``trials`` simulated compares with ``plant`` in the head."""
            out = []
            for k in range(trials):
                executor = BlockResampler(blocks, plant=plant, seed=seed + k)
                out.append(
                    compare([target], p, executor, family_size=s.family_size).outcomes[0].verdict
                )
            return out

        aa = verdicts(Plant(), s.aa_trials, s.seed + 1_000_000 * i)
        power: dict[str, float] = {}
        for shift in s.shifts:
            for key, plant in _plants(shift, ttfb, s.quiet_phase).items():
                got = verdicts(plant, s.shift_trials, s.seed + 7919 * (i + 1))
                power[key] = sum(v is Verdict.REGRESSION for v in got) / s.shift_trials
        points.append(RocPoint(t, s.aa_trials, sum(v.moved for v in aa), power))
    return points


def calibrate(
    blocks: Sequence[Sequence[Sample]],
    *,
    scenario: str,
    runner: str,
    floor_pct: float,
    compares_per_week: float,
    settings: Settings = Settings(),
    progress: Progress | None = None,
) -> Calibration:
    """Noise, ROC and choice from the stored A/A blocks of one scenario on one runner."""
    if len(blocks) < MIN_BLOCKS:
        raise UsageError(
            f"calibrate: {len(blocks)} A/A blocks of {scenario} on {runner!r}; "
            "run with --pairs to record more"
        )
    policy = Policy(alpha=settings.alpha, looks=plan_looks(10, settings.max_pairs))
    if progress:
        progress(f"{scenario}: simulating compares on {len(blocks)} A/A blocks…")
    roc = simulate_roc(blocks, policy=policy, settings=settings)
    choice = choose(
        roc,
        fp_per_week=settings.fp_per_week,
        compares_per_week=compares_per_week,
        floor_pct=floor_pct,
    )
    return Calibration(
        scenario,
        runner,
        noise(blocks),
        tuple(roc),
        choice,
        settings.fp_per_week,
        compares_per_week,
    )
