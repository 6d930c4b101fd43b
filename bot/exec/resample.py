"""Compares on real noise without running processes: resampled A/A blocks, planted shifts.

A *block* is four samples of the same revision recorded back to back (what one ABBA block
sees), so resampling whole blocks with replacement keeps the within-block correlation that
pairing exploits. ``BlockResampler`` is an executor: the real schedule, statistics, confirmation
and corrections run on it unchanged, which is how sensitivity and calibration are estimated.

A planted shift adds ``delay_s`` to every phase recorded after ``after_phase`` (a blocking
delay right after that phase) in head samples only; ``cpu=True`` adds it to CPU time too (a
CPU-bound cost rather than a wait). ``scale_pct`` instead stretches every phase and the CPU
time by that percentage: a regression spread evenly over start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..model import Job, Sample, TimedOnly


def scaled(sample: Sample, factor: float) -> Sample:
    """``sample`` with every phase, its TTFB and CPU time stretched by ``factor``."""
    if factor == 1.0 or sample.ttfb_s is None:
        return sample
    return replace(
        sample,
        ttfb_s=sample.ttfb_s * factor,
        cpu_s=sample.cpu_s * factor if sample.cpu_s is not None else None,
        phases={k: v * factor for k, v in sample.phases.items()},
        wall_s=sample.wall_s * factor,
    )


def shifted(sample: Sample, delay_s: float, *, after_phase: str, cpu: bool) -> Sample:
    """``sample`` as if it had waited ``delay_s`` right after ``after_phase``."""
    if delay_s == 0 or sample.ttfb_s is None:
        return sample
    start = sample.phases.get(after_phase, 0.0)
    phases = {k: (v + delay_s if v > start else v) for k, v in sample.phases.items()}
    return replace(
        sample,
        ttfb_s=sample.ttfb_s + delay_s,
        cpu_s=(sample.cpu_s + delay_s) if cpu and sample.cpu_s is not None else sample.cpu_s,
        phases=phases,
        wall_s=sample.wall_s + delay_s,
    )


@dataclass(frozen=True)
class Plant:
    """A shift planted in head samples (see the module docstring)."""

    delay_s: float = 0.0
    after_phase: str = "interpreter_ready"
    cpu: bool = False
    scale_pct: float = 0.0  # a regression spread evenly over start-up: every phase slower


class BlockResampler(TimedOnly):
    """An executor that returns samples of randomly drawn real A/A blocks."""

    def __init__(
        self, blocks: Sequence[Sequence[Sample]], *, plant: Plant = Plant(), seed: int = 0
    ) -> None:
        usable = [list(b) for b in blocks if len(b) == 4 and all(s.ok for s in b)]
        if not usable:
            raise ValueError("need at least one complete block of 4 ok samples")
        self.blocks = usable
        self.plant = plant
        self.rng = np.random.default_rng(seed)
        self.current: list[Sample] = []
        self.pos = 0

    def new_block(self) -> None:
        self.current = self.blocks[int(self.rng.integers(len(self.blocks)))]
        self.pos = 0

    def run(self, job: Job) -> Sample:
        if not self.current or self.pos >= 4:
            self.new_block()
        sample = self.current[self.pos]
        self.pos += 1
        if job.label == "head":
            p = self.plant
            sample = shifted(sample, p.delay_s, after_phase=p.after_phase, cpu=p.cpu)
            sample = scaled(sample, 1.0 + p.scale_pct / 100)
        return sample


def blocks_from_log(samples: Sequence[Sample], block_ids: Sequence[int]) -> list[list[Sample]]:
    """Group logged samples into blocks by their recorded block number (order kept)."""
    grouped: dict[int, list[Sample]] = {}
    for sample, block in zip(samples, block_ids, strict=True):
        if block >= 0:
            grouped.setdefault(block, []).append(sample)
    return [grouped[k] for k in sorted(grouped)]
