"""The terminal report of ``ttfb calibrate``: noise, the ROC table and the choice. Pure."""

from __future__ import annotations

import math

from ..stats.calibration import Calibration, power_key
from .fmt import text_table


def calibration_text(cal: Calibration, note: str) -> str:
    """Three parts: the noise line, the table of candidate thresholds, the chosen one."""
    noise, roc = cal.noise, cal.roc
    keys = sorted(roc[0].power, key=power_key) if roc else []
    table = [["threshold", "A/A false positives", "95% upper", *[f"power {k}%" for k in keys]]]
    for r in roc:
        table.append(
            [
                f"{r.threshold_pct:g}%",
                f"{r.false_positives}/{r.trials}",
                f"{r.fp_upper:.1%}",
                *[f"{r.power[k]:.0%}" for k in keys],
            ]
        )
    head = (
        f"{cal.scenario} on {cal.runner}: {noise.pairs} A/A pairs, paired sd "
        f"{noise.sd_total_pct:.1f}% (TTFB)"
        + (f", {math.expm1(noise.sd_cpu) * 100:.1f}% (CPU)" if noise.sd_cpu else "")
    )
    body = text_table(table, indent=2) if roc else ""
    return f"{head}\n{body}\nchosen: {note}; {cal.choice.reason}\n"
