"""Bulk reads of the whole history, for views that show all of it at once (the dashboard).

Read-only. Each function is one query (samples are streamed run by run), so a history of
10,000 runs is read in seconds rather than with a query per run. Rows come back as plain
dicts of the stored columns; JSON columns are decoded, and a value that does not decode (the
history is data from other jobs) reads as empty rather than failing the whole read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .history_db import History

RUN_COLUMNS = (
    "r.id, r.uid, r.kind, r.created, r.scenario, r.base_rev, r.head_rev, r.runner, r.machine, "
    "r.doc, c.verdict, c.delta_pct, c.ci_low_pct, c.ci_high_pct, c.p_ttest, c.p_wilcoxon, c.pairs, "
    "c.confirmed, c.threshold_pct, c.threshold_note, c.base_median_s, c.head_median_s, c.work"
)


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def runs(h: History) -> list[dict[str, Any]]:
    """Every run in id order, with its comparison's columns (None where it has none), its
    stored document decoded (``doc``: a bisect's result, say; None for most kinds), its
    machine facts (``machine``) and its instruction counts decoded (``work``: the object of
    ``records.work_json``; None where not counted)."""
    rows = h.db.execute(
        f"SELECT {RUN_COLUMNS} FROM runs r LEFT JOIN comparisons c ON c.run_id = r.id ORDER BY r.id"
    )
    out = []
    for r in rows:
        row = dict(r)
        row["doc"] = _json(row["doc"], None)
        machine = _json(row["machine"], {})
        row["machine"] = machine if isinstance(machine, dict) else {}
        work = _json(row["work"], None)
        row["work"] = work if isinstance(work, dict) else None
        out.append(row)
    return out


def samples(h: History, run_ids: set[int] | None = None) -> Iterator[tuple[int, list[dict]]]:
    """``(run id, its samples in recorded order)`` for every run with samples, in id order;
    ``run_ids`` limits it to those runs. Each sample: arm, stage, block, status, ttfb_s,
    cpu_s and its phases (seconds since submit)."""
    rows = h.db.execute(
        "SELECT run_id, arm, stage, block, status, ttfb_s, cpu_s, phases FROM samples "
        "ORDER BY run_id, id"
    )
    current: int | None = None
    batch: list[dict[str, Any]] = []
    for r in rows:
        run_id = r["run_id"]
        if run_ids is not None and run_id not in run_ids:
            continue
        if run_id != current:
            if current is not None:
                yield current, batch
            current, batch = run_id, []
        phases = _json(r["phases"], {})
        batch.append(
            {
                "arm": r["arm"] or "",
                "stage": r["stage"] or "",
                "block": r["block"],
                "status": r["status"],
                "ttfb_s": r["ttfb_s"],
                "cpu_s": r["cpu_s"],
                "phases": phases if isinstance(phases, dict) else {},
            }
        )
    if current is not None:
        yield current, batch


def latest_calibrations(h: History) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest calibration of each (scenario, runner), JSON columns decoded."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in h.db.execute("SELECT * FROM calibrations ORDER BY id"):
        row = dict(r)
        for key in ("sd_phases", "power", "roc"):
            row[key] = _json(row[key], None)
        out[(row["scenario"], row["runner"])] = row
    return out
