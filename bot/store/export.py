"""The history as a versioned JSON document: carried between CI jobs (an artifact or a cache)
and merged back. Importing the same runs twice adds nothing (runs have a unique id).

Fields only ever get added, each optional when read, so version 1 covers every export: a
comparison's ``work`` (its instruction counts, ``records.work_json``; schema 4) is missing
from older exports and reads as None, and an older ttfb ignores it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import ResultsError
from ..model import Sample, Verdict, check_version
from ..selection.depmap_model import Entry
from .history_db import History
from .records import ComparisonRecord, RunRecord, SampleRow, work_from_json

EXPORT_VERSION = 1
_NOT_EXPORTED = ("id", "run_id")


def _run_json(h: History, row: Mapping[str, Any]) -> dict[str, Any]:
    run = dict(row)
    run_id = run.pop("id")
    run["machine"] = json.loads(run["machine"] or "{}")
    run["doc"] = json.loads(run["doc"]) if run["doc"] else None
    run["samples"] = [
        {**dict(s), "phases": json.loads(s["phases"] or "{}")}
        for s in h.db.execute(
            "SELECT arm, stage, block, status, ttfb_s, cpu_s, "
            "phases FROM samples WHERE run_id=? ORDER BY id",
            (run_id,),
        ).fetchall()
    ]
    comp = h.db.execute("SELECT * FROM comparisons WHERE run_id=?", (run_id,)).fetchone()
    run["comparison"] = None
    if comp:
        run["comparison"] = {k: v for k, v in dict(comp).items() if k not in _NOT_EXPORTED}
        run["comparison"]["work"] = json.loads(comp["work"]) if comp["work"] else None
    return run


def export(h: History) -> dict[str, Any]:
    """Every run, calibration and dependency-map entry of ``h``."""
    runs = [_run_json(h, r) for r in h.db.execute("SELECT * FROM runs ORDER BY id").fetchall()]
    calibrations = [
        {k: v for k, v in c.items() if k not in _NOT_EXPORTED} for c in h.calibration_rows()
    ]
    return {
        "version": EXPORT_VERSION,
        "kind": "ttfb-history",
        "schema": h.version,
        "runs": runs,
        "calibrations": calibrations,
        "depmap": {name: e.to_json() for name, e in h.depmap().entries.items()},
    }


def _run_record(run: Mapping[str, Any]) -> RunRecord:
    samples = tuple(
        SampleRow(
            s["arm"],
            s["stage"],
            s["block"],
            Sample(status=s["status"], ttfb_s=s["ttfb_s"], cpu_s=s["cpu_s"], phases=s["phases"]),
        )
        for s in run.get("samples", [])
    )
    comp = run.get("comparison")
    comparison = None
    if comp:
        confirmed = comp.get("confirmed")
        comparison = ComparisonRecord(
            scenario=comp["scenario"],
            verdict=Verdict(comp["verdict"]),
            delta_pct=comp.get("delta_pct"),
            ci_low_pct=comp.get("ci_low_pct"),
            ci_high_pct=comp.get("ci_high_pct"),
            p_ttest=comp.get("p_ttest"),
            p_wilcoxon=comp.get("p_wilcoxon"),
            pairs=comp.get("pairs") or 0,
            confirmed=None if confirmed is None else bool(confirmed),
            threshold_pct=comp.get("threshold_pct"),
            threshold_note=comp.get("threshold_note"),
            base_median_s=comp.get("base_median_s"),
            head_median_s=comp.get("head_median_s"),
            work=work_from_json(comp.get("work")),
        )
    return RunRecord(
        kind=run["kind"],
        scenario=run.get("scenario"),
        base_rev=run.get("base_rev"),
        head_rev=run.get("head_rev"),
        samples=samples,
        comparison=comparison,
        doc=run.get("doc"),
        uid=run["uid"],
        created=run["created"],
        runner=run.get("runner"),
        machine=run.get("machine"),
        torch=run.get("torch"),
    )


def load_export(h: History, doc: Mapping[str, Any], *, source: str = "export") -> int:
    """Add the runs of an export (skipping ones already here); returns how many were new."""
    check_version(doc, source=source, known=EXPORT_VERSION)
    if doc.get("kind") != "ttfb-history":
        raise ResultsError(f"{source}: kind: expected 'ttfb-history'")
    try:
        records = [_run_record(run) for run in doc.get("runs", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"{source}: runs: malformed run: {exc!r}") from None
    added = sum(h.record_run(r) > 0 for r in records)
    known = {(c["scenario"], c["runner"], c["created"]) for c in h.calibration_rows()}
    with h.transaction():  # the exporting database's run ids mean nothing here
        for c in doc.get("calibrations", []):
            if (c["scenario"], c["runner"], c["created"]) not in known:
                h.insert_calibration({**c, "run_id": None})
    if doc.get("depmap"):
        with h.transaction():
            mine = h.depmap().entries
            for name, entry in doc["depmap"].items():
                theirs = Entry.from_json(entry)
                h.put_depmap_entry(name, mine[name].union(theirs) if name in mine else theirs)
    return added
