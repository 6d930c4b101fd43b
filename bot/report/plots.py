"""One PNG per scenario: the TTFB distributions of both arms and the per-pair ratios.

matplotlib is optional (the ``plot`` extra); without it no plot is written and a note says so.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..model import Verdict
from ..results import Results
from ..store.history_db import History
from .fmt import word


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "scenario"


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no plots written", file=sys.stderr)
        return None
    return plt


def write_trends(history: History, out_dir: Path, *, scenario: str | None = None) -> list[Path]:
    """A PNG per scenario: median TTFB per run (95% CI and IQR bands), verdicts marked."""
    plt = _pyplot()
    if plt is None:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    colors = {
        Verdict.REGRESSION: "tab:red",
        Verdict.IMPROVEMENT: "tab:green",
        Verdict.NO_CHANGE: "grey",
        Verdict.INCONCLUSIVE: "gold",
        Verdict.BROKEN: "black",
    }
    for name in [scenario] if scenario else history.scenarios():
        rows = history.trend(name)
        if not rows:
            continue
        x = list(range(len(rows)))
        med = [r["median_s"] for r in rows]
        fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.5), 4), constrained_layout=True)
        ax.fill_between(
            x, [r["q1_s"] for r in rows], [r["q3_s"] for r in rows], alpha=0.12, label="IQR"
        )
        ax.fill_between(
            x,
            [r["ci_low_s"] for r in rows],
            [r["ci_high_s"] for r in rows],
            alpha=0.3,
            label="95% CI of the median",
        )
        ax.plot(x, med, marker="o", lw=1, label="median TTFB")
        for i, r in enumerate(rows):
            if r["verdict"]:
                ax.scatter(
                    [i],
                    [med[i]],
                    s=90,
                    facecolors="none",
                    edgecolors=colors.get(Verdict(r["verdict"]), "grey"),
                    linewidths=2,
                )
                ax.annotate(
                    word(r["verdict"]),
                    (i, med[i]),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(0, 8),
                    ha="center",
                )
        ax.set_xticks(x, [(r["head_rev"] or r["kind"])[:7] for r in rows], rotation=45, fontsize=7)
        ax.set_ylabel("TTFB (s)")
        ax.set_title(f"{name}: TTFB over runs (circles: compare verdicts)")
        ax.legend(fontsize=8)
        path = out_dir / f"trend-{_slug(name)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write_plots(doc: Results, out_dir: Path) -> list[Path]:
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for s in doc.scenarios:
        samples = [x for x in s.samples or () if x.base_s and x.head_s]
        if not samples:
            continue
        base = [x.base_s for x in samples if x.base_s]
        head = [x.head_s for x in samples if x.head_s]
        ratios = [(h / b - 1) * 100 for b, h in zip(base, head, strict=True)]
        series = s.finding.values_s if s.finding else None
        panels = 3 if series else 2
        fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4), constrained_layout=True)
        left, right = axes[0], axes[1]
        parts = left.violinplot([base, head], showmedians=True)
        for body in parts["bodies"]:
            body.set_alpha(0.35)
        for i, values in enumerate((base, head), start=1):
            left.scatter([i] * len(values), values, s=9, alpha=0.6)
        left.set_xticks([1, 2], ["base", "head"])
        left.set_ylabel("wall TTFB (s)")
        left.set_title(f"{s.name}: {word(s.verdict)}")
        colors = ["tab:blue" if x.stage == "primary" else "tab:orange" for x in samples]
        right.scatter(range(1, len(ratios) + 1), ratios, c=colors, s=12)
        right.axhline(0, color="grey", lw=0.8)
        if s.delta_pct is not None:
            right.axhline(s.delta_pct, color="tab:red", lw=1, label="median Δ")
            if s.ci_low_pct is not None:
                right.axhspan(
                    s.ci_low_pct, s.ci_high_pct, color="tab:red", alpha=0.12, label="95% CI"
                )
        for threshold in (s.threshold_pct, -s.threshold_pct):
            right.axhline(threshold, color="grey", lw=0.8, ls="--")
        right.set_xlabel("pair (blue: primary ABBA, orange: confirmation BAAB)")
        right.set_ylabel("head / base − 1 (%)")
        right.legend(loc="best", fontsize=8)
        if series and s.finding:
            _where(axes[2], series, s.finding.endpoint)
        path = out_dir / f"{_slug(s.name)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _where(ax: Any, series: Mapping[str, Sequence[float]], endpoint: str) -> None:
    """The third panel: the finding's segment, head − base per pair, both stages."""
    primary = [v * 1000 for v in series.get("primary", ())]
    confirm = [v * 1000 for v in series.get("confirm", ())]
    ax.scatter(range(1, len(primary) + 1), primary, s=12, c="tab:blue")
    ax.scatter(
        range(len(primary) + 1, len(primary) + len(confirm) + 1), confirm, s=12, c="tab:orange"
    )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title(f"where: segment ending at {endpoint.split(':', 1)[1]}")
    ax.set_xlabel("pair")
    ax.set_ylabel("head − base (ms)")
