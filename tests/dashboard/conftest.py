"""Histories for the dashboard tests: small synthetic ones written through the recorder's own
``History.record_run``, and where a real browser is (headless Chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.model import Sample, Verdict
from bot.stats.instructions import Work
from bot.store.history_db import History
from bot.store.records import ComparisonRecord, RunRecord, SampleRow

HOSTILE = '<img src=x onerror="alert(1)">&</script><script>alert(2)</script>'
PHASES = {"interpreter_ready": 0.03, "config_loaded": 0.5, "model_built": 0.8}


def sample(t: float, *, status: str = "ok") -> Sample:
    phases = {k: v * t for k, v in PHASES.items()}
    phases["first_batch"] = t
    return Sample(status=status, ttfb_s=t, cpu_s=0.9 * t, phases=phases)


def pairs(base: float, head: float, n: int = 6, stage: str = "primary") -> tuple[SampleRow, ...]:
    rows: list[SampleRow] = []
    for k in range(n):
        wobble = 1 + (k % 3 - 1) * 0.01
        rows.append(SampleRow("base", stage, k // 2, sample(base * wobble)))
        rows.append(SampleRow("head", stage, k // 2, sample(head * wobble)))
    return tuple(rows)


def compare_run(
    kind: str,
    scenario: str,
    base_rev: str,
    head_rev: str,
    verdict: Verdict,
    *,
    base_s: float = 2.0,
    head_s: float = 2.0,
    runner: str = "ubuntu-latest",
    created: str = "2026-03-01T10:00:00Z",
) -> RunRecord:
    delta = (head_s / base_s - 1) * 100
    comparison = ComparisonRecord(
        scenario=scenario,
        verdict=verdict,
        delta_pct=delta,
        ci_low_pct=delta - 1,
        ci_high_pct=delta + 1,
        p_ttest=0.001,
        p_wilcoxon=0.002,
        pairs=6,
        confirmed=verdict.moved or None,
        threshold_pct=2.0,
        threshold_note="floor 2%",
        base_median_s=base_s,
        head_median_s=head_s,
    )
    return RunRecord(
        kind,
        scenario,
        base_rev,
        head_rev,
        samples=pairs(base_s, head_s),
        comparison=comparison,
        runner=runner,
        created=created,
    )


def with_work(run: RunRecord, head: tuple[int, ...], base: int = 2_900_000_000) -> RunRecord:
    """``run`` with instruction counts on its comparison: ``head`` for the head arm."""
    assert run.comparison is not None
    work = Work((base, base), head, backend="cachegrind")
    return replace(run, comparison=replace(run.comparison, work=work))


def bisect_doc(scenario: str, good: str, bad: str, culprit: str) -> dict:
    return {
        "version": 1,
        "kind": "ttfb-bisect",
        "scenario": scenario,
        "good": good,
        "bad": bad,
        "commits": 3,
        "culprits": [
            {
                "commit": culprit,
                "subject": HOSTILE,
                "position": 2,
                "effect_pct": 10.0,
                "delta_pct": 10.0,
            }
        ],
        "ambiguous": [],
        "skipped": [],
        "comparisons": 2,
        "total_pct": 10.0,
        "unexplained_pct": 0.0,
        "notes": [],
        "drawing": f"✓ {good[:10]}  good (baseline)\n◆ {culprit[:10]}  culprit",
        "steps": [
            {
                "step": 1,
                "good": good,
                "commit": culprit,
                "attempt": 0,
                "judged": "regressed",
                "verdict": "regression",
                "delta_pct": 10.0,
                "ci_low_pct": 8.0,
                "ci_high_pct": 12.0,
                "p": 0.001,
                "pairs": 6,
                "error": None,
            }
        ],
    }


C = {i: f"{i:x}" * 40 for i in range(1, 6)}  # commit ids: 1111…, 2222…


def synthetic_history(path: Path) -> Path:
    """Two scenarios on two runners: calibrations, a measure, PR compares (one of them of two
    scenarios at once), a release suite with a regression and its bisect; hostile names."""
    with History(path) as h:
        h.record_run(
            RunRecord(
                "calibrate",
                "lm-cpu",
                C[1],
                C[1],
                samples=pairs(2.0, 2.0),
                runner="ubuntu-latest",
                created="2026-03-01T09:00:00Z",
            )
        )
        h.save_calibration(
            scenario="lm-cpu",
            runner="ubuntu-latest",
            run_id=1,
            values={"pairs": 40, "sd_total": 0.15, "threshold_pct": 5.0, "fp_per_week": 1.0},
        )
        h.record_run(
            compare_run(
                "compare", "lm-cpu", C[1], C[2], Verdict.NO_CHANGE, created="2026-03-02T10:00:00Z"
            )
        )
        h.record_run(
            compare_run(
                "compare", HOSTILE, C[1], C[2], Verdict.INCONCLUSIVE, created="2026-03-02T10:01:00Z"
            )
        )
        h.record_run(
            RunRecord(
                "measure",
                "lm-cpu",
                head_rev=C[3],
                samples=tuple(SampleRow("", "sample", i, sample(2.1)) for i in range(5)),
                runner="ubuntu-latest",
                created="2026-03-03T10:00:00Z",
            )
        )
        h.record_run(
            compare_run(
                "compare",
                "lm-cpu",
                C[2],
                C[3],
                Verdict.REGRESSION,
                head_s=2.4,
                created="2026-03-04T10:00:00Z",
            )
        )
        h.record_run(
            compare_run(
                "compare",
                "lm-cpu",
                C[1],
                C[3],
                Verdict.BROKEN,
                runner="gpu-a100",
                created="2026-03-04T11:00:00Z",
            )
        )
        h.record_run(
            compare_run(
                "release",
                "lm-cpu",
                C[1],
                C[4],
                Verdict.REGRESSION,
                head_s=2.4,
                created="2026-03-05T10:00:00Z",
            )
        )
        h.record_run(
            compare_run(
                "release", HOSTILE, C[1], C[4], Verdict.NO_CHANGE, created="2026-03-05T10:01:00Z"
            )
        )
        h.record_run(
            RunRecord(
                "bisect",
                "lm-cpu",
                C[1],
                C[4],
                doc=bisect_doc("lm-cpu", C[1], C[4], C[3]),
                learn=False,
                runner="ubuntu-latest",
                created="2026-03-05T11:00:00Z",
            )
        )
    return path


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return synthetic_history(tmp_path / "history.sqlite")


def chromium_path() -> str | None:
    """Headless Chromium for the browser tests: $TTFB_LAB_CHROMIUM, else one on PATH."""
    explicit = os.environ.get("TTFB_LAB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None
