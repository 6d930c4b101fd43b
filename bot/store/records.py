"""The typed records the history stores: a run, its samples and its comparison."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Pair, Sample, Verdict


@dataclass(frozen=True)
class SampleRow:
    """One sample of a run: which arm, which stage (warmup, primary, confirm, aa, sample)."""

    arm: str
    stage: str
    block: int
    sample: Sample


@dataclass(frozen=True)
class ComparisonRecord:
    """The comparison of one scenario in a run: its verdict and the whole-TTFB numbers."""

    scenario: str
    verdict: Verdict
    delta_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p_ttest: float | None = None
    p_wilcoxon: float | None = None
    pairs: int = 0
    confirmed: bool | None = None
    threshold_pct: float | None = None
    threshold_note: str | None = None
    base_median_s: float | None = None
    head_median_s: float | None = None


@dataclass(frozen=True)
class RunRecord:
    """One run of any kind: measure, compare, calibrate, bisect, bisect-step, release."""

    kind: str
    scenario: str | None
    base_rev: str | None = None
    head_rev: str | None = None
    samples: tuple[SampleRow, ...] = ()
    comparison: ComparisonRecord | None = None
    doc: Mapping[str, Any] | None = None
    # what the dependency map learns: the changed paths a judged compare counts against
    changed: tuple[str, ...] = ()
    learn: bool = True  # merge the ok samples' files into the dependency map
    uid: str | None = None  # set when imported from an export
    created: str | None = None
    runner: str | None = None  # set when imported; otherwise the recorder's
    machine: Mapping[str, Any] | None = None
    torch: str | None = None


def pair_rows(pairs: Iterable[Pair], *, stage: str) -> tuple[SampleRow, ...]:
    """Rows of paired samples, base then head of each pair."""
    rows: list[SampleRow] = []
    for p in pairs:
        rows.append(SampleRow("base", stage, p.block, p.base))
        rows.append(SampleRow("head", stage, p.block, p.head))
    return tuple(rows)
