"""CPU work to first batch: instruction counts of each arm, judged deterministically. Pure.

Instruction counts (under cachegrind, or ``perf stat`` where the host has counters) repeat to
a few thousandths of a percent when the run is made deterministic, against 5–18% for wall
time on a shared host. So the rules are not statistical tests but checks on ranges:

- an arm whose own repeats differ by more than ``stable_pct`` (0.1%) is *unstable*: the
  endpoint is reported, with its spread, and takes no part in the verdict;
- a **finding** needs the change to reach the threshold (1% by default: the noise is ~1000×
  smaller than wall time's, so the threshold is separate and lower) with the arms' ranges
  apart: every head count above every base count (or below, for an improvement);
- it is **confirmed** by one fresh count per arm, in the opposite order, whose change has the
  same sign and at least half the threshold;
- **unchanged** means the change lies within the arms' own spread (at least 0.05%): the CPU
  work did not move, which lets a run end ``no_change`` early when no phase segment moved
  either (instructions do not see blocking time, so the segments guard that side).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_THRESHOLD_PCT = 1.0
STABLE_PCT = 0.1
UNCHANGED_FLOOR_PCT = 0.05


def spread_pct(values: Sequence[int]) -> float:
    """(max − min) / mean, in percent; 0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    return (max(values) - min(values)) / mean * 100 if mean else 0.0


@dataclass(frozen=True)
class Work:
    """The instruction counts of both arms and what they say."""

    base: tuple[int, ...]
    head: tuple[int, ...]
    threshold_pct: float = DEFAULT_THRESHOLD_PCT
    backend: str = ""
    settings: tuple[str, ...] = ()
    confirm_base: int | None = None
    confirm_head: int | None = None
    covers: str = "CPU work to first batch"  # what a count covered, for people

    @property
    def delta_pct(self) -> float:
        return (statistics.median(self.head) / statistics.median(self.base) - 1) * 100

    @property
    def spread(self) -> float:
        """The larger of the two arms' own spreads, in percent."""
        return max(spread_pct(self.base), spread_pct(self.head))

    @property
    def stable(self) -> bool:
        return bool(self.base and self.head) and self.spread <= STABLE_PCT

    @property
    def unchanged(self) -> bool:
        return self.stable and abs(self.delta_pct) <= max(self.spread, UNCHANGED_FLOOR_PCT)

    @property
    def direction(self) -> int:
        """+1: a regression finding, −1: an improvement finding, 0: none."""
        if not self.stable or abs(self.delta_pct) < self.threshold_pct:
            return 0
        if min(self.head) > max(self.base):
            return 1
        if max(self.head) < min(self.base):
            return -1
        return 0

    @property
    def confirmed(self) -> bool | None:
        """None without a confirmation count; else whether it reproduced the finding."""
        if self.confirm_base is None or self.confirm_head is None or not self.direction:
            return None
        change = (self.confirm_head / self.confirm_base - 1) * 100
        return change * self.direction >= self.threshold_pct / 2

    @property
    def runs(self) -> str:
        extra = " + 1+1 confirming" if self.confirm_base is not None else ""
        return f"{len(self.base)}+{len(self.head)} runs{extra}"

    def summary(self) -> str:
        """One line, e.g. ``CPU work from start to the first forward: +3.1% instructions
        (1+1 runs, spread 0.004%)``."""
        if not self.stable:
            return (
                f"{self.covers}: unstable (±{self.spread:.3f}% between an arm's own "
                f"runs, above {STABLE_PCT:g}%): not used for the verdict ({self.runs})"
            )
        if self.unchanged:
            shown = max(self.spread, 0.001)
            return f"{self.covers} unchanged (±{shown:.3f}%, {self.runs})"
        return (
            f"{self.covers}: {self.delta_pct:+.2f}% instructions "
            f"({self.runs}, spread {self.spread:.3f}%)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "settings": list(self.settings),
            "base": list(self.base),
            "head": list(self.head),
            "delta_pct": self.delta_pct,
            "spread_pct": self.spread,
            "stable": self.stable,
            "unchanged": self.unchanged,
            "threshold_pct": self.threshold_pct,
            "direction": self.direction,
            "confirm": (
                {"base": self.confirm_base, "head": self.confirm_head, "reproduced": self.confirmed}
                if self.confirm_base is not None
                else None
            ),
            "summary": self.summary(),
            "covers": self.covers,
        }
