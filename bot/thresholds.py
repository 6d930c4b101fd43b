"""Which threshold a comparison uses, and the sentence that says where it came from."""

from __future__ import annotations

import os
import platform
from typing import Any

DEFAULT_COMPARES_PER_WEEK = 50.0


def runner_label(explicit: str | None = None) -> str:
    """The runner a calibration belongs to: --runner, $TTFB_LAB_RUNNER, else local:<host>."""
    return explicit or os.environ.get("TTFB_LAB_RUNNER") or f"local:{platform.node() or 'host'}"


def describe(cal: dict[str, Any], *, floor: float) -> tuple[float, str]:
    """(threshold, note) from a stored calibration; the floor stays a lower bound."""
    threshold = max(float(cal["threshold_pct"]), floor)
    per_week = cal.get("fp_per_week")
    tuned = f", tuned for ≤{per_week:g} false positive/week" if per_week else ""
    note = f"threshold {threshold:g}% from {cal['pairs']} A/A pairs on `{cal['runner']}`{tuned}"
    if threshold > float(cal["threshold_pct"]):
        note += f" (raised to the {floor:g}% floor)"
    return threshold, note


def for_scenario(history: Any, scenario: str, runner: str, *, floor: float) -> tuple[float, str]:
    """The calibrated threshold of ``scenario`` on ``runner``, or the floor, with a note."""
    if history is None:
        return floor, f"floor {floor:g}% (history not consulted)"
    cal = history.calibration(scenario, runner)
    if cal is None:
        return floor, f"floor {floor:g}%, no calibration for this scenario on `{runner}`"
    return describe(cal, floor=floor)
