"""The typed records the history stores: a run, its samples and its comparison."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Pair, Sample, Verdict
from ..stats.instructions import Work


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
    work: Work | None = None  # the instruction counts of both arms, when counted


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


CONFIRM_KEYS = ("confirm_base", "confirm_head")


def work_json(w: Work) -> dict[str, Any]:
    """The counts as the history stores them (the ``work`` column, and its export)."""
    try:
        delta: float | None = w.delta_pct
    except (ZeroDivisionError, statistics.StatisticsError):  # an arm without counts
        delta = None
    return {
        "base": list(w.base),
        "head": list(w.head),
        "confirm_base": w.confirm_base,
        "confirm_head": w.confirm_head,
        "backend": w.backend,
        "delta_pct": delta,
        "threshold_pct": w.threshold_pct,
    }


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"work: {what}: expected an instruction count, got {value!r}")
    return value


def work_from_json(doc: Any) -> Work | None:
    """The counts of ``work_json`` again (None for None); ValueError where they are not that
    shape. ``delta_pct`` is not read back: the counts give it."""
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise ValueError(f"work: expected an object, got {type(doc).__name__}")
    arms = {}
    for arm in ("base", "head"):
        counts = doc.get(arm)
        if not isinstance(counts, list):
            raise ValueError(f"work: {arm}: expected a list of instruction counts")
        arms[arm] = tuple(_count(c, arm) for c in counts)
    confirm = [None if doc.get(k) is None else _count(doc[k], k) for k in CONFIRM_KEYS]
    threshold = doc.get("threshold_pct")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"work: threshold_pct: expected a number, got {threshold!r}")
    backend = doc.get("backend")
    return Work(
        arms["base"],
        arms["head"],
        threshold_pct=float(threshold),
        backend=backend if isinstance(backend, str) else "",
        confirm_base=confirm[0],
        confirm_head=confirm[1],
    )
