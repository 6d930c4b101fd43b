"""Which threshold a comparison uses, and the sentence that says where it came from."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .history_db import History

DEFAULT_COMPARES_PER_WEEK = 50.0


def runner_label(explicit: str | None = None) -> str:
    """The runner a calibration belongs to: --runner, $TTFB_LAB_RUNNER, else local:<host>."""
    return explicit or os.environ.get("TTFB_LAB_RUNNER") or f"local:{platform.node() or 'host'}"


def describe(cal: Mapping[str, Any], *, floor: float) -> tuple[float, str]:
    """(threshold, note) from a stored calibration; the floor stays a lower bound."""
    threshold = max(float(cal["threshold_pct"]), floor)
    per_week = cal.get("fp_per_week")
    tuned = f", tuned for ≤{per_week:g} false positive/week" if per_week else ""
    note = f"threshold {threshold:g}% from {cal['pairs']} A/A pairs on {cal['runner']}{tuned}"
    if threshold > float(cal["threshold_pct"]):
        note += f" (raised to the {floor:g}% floor)"
    return threshold, note


def for_scenario(
    history: History | None, scenario: str, runner: str, *, floor: float
) -> tuple[float, str]:
    """The calibrated threshold of ``scenario`` on ``runner``, or the floor, with a note."""
    if history is None:
        return floor, f"floor {floor:g}% (history not consulted)"
    cal = history.calibration(scenario, runner)
    if cal is None:
        return floor, f"floor {floor:g}%, no calibration for this scenario on {runner}"
    return describe(cal, floor=floor)


Threshold = Callable[[str, float], tuple[float, str]]
"""(scenario name, its floor) → (threshold %, where it came from)."""


def resolver(history: Path | None, runner: str, *, override_pct: float | None = None) -> Threshold:
    """``(scenario, floor) → (threshold, note)``: ``--threshold-pct`` if given, else the
    calibration stored in ``history`` for ``runner``, else the floor."""

    def threshold(scenario: str, floor: float) -> tuple[float, str]:
        if override_pct is not None:
            return override_pct, "set with --threshold-pct"
        if history is None:
            return for_scenario(None, scenario, runner, floor=floor)
        with History(history) as h:
            return for_scenario(h, scenario, runner, floor=floor)

    return threshold
