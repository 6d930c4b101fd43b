"""The bisect document: a search's result as versioned JSON, with a drawing of the search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from .search import BisectResult, Step, drawing

BISECT_VERSION = 1


def _step_json(s: Step) -> dict[str, Any]:
    """One step: which commit against which good one, the attempt, how it was judged, and the
    compare's answer (verdict, Δ, CI, p, pairs, error)."""
    where = {"step": s.number, "good": s.good, "commit": s.candidate, "attempt": s.attempt}
    return {**where, "judged": s.judged, **asdict(s.result), "verdict": s.result.verdict.value}


def error_json(scenario: str, error: str) -> dict[str, Any]:
    """The document of a bisect that could not finish (too many commits failed to build)."""
    return {
        "version": BISECT_VERSION,
        "kind": "ttfb-bisect",
        "scenario": scenario,
        "error": error,
        "culprits": [],
        "steps": [],
        "notes": [error],
        "drawing": "",
        "comparisons": 0,
        "ambiguous": [],
    }


def bisect_json(
    commits: Sequence[str],
    result: BisectResult,
    *,
    scenario: str,
    subjects: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The versioned document of one bisect (what ``ttfb bisect --json`` writes)."""
    subjects = subjects or {}
    return {
        "version": BISECT_VERSION,
        "kind": "ttfb-bisect",
        "scenario": scenario,
        "good": commits[0],
        "bad": commits[-1],
        "commits": len(commits) - 1,
        "culprits": [
            {
                "commit": c.commit,
                "subject": subjects.get(c.commit, ""),
                "position": c.position,
                "effect_pct": c.effect_pct,
                "delta_pct": c.evidence.delta_pct if c.evidence else None,
            }
            for c in result.culprits
        ],
        "ambiguous": list(result.ambiguous),
        "skipped": list(result.skipped),
        "comparisons": result.comparisons,
        "total_pct": result.total_pct,
        "unexplained_pct": result.unexplained_pct,
        "notes": list(result.notes),
        "steps": [_step_json(s) for s in result.steps],
        "drawing": drawing(commits, result),
    }
