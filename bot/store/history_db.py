"""The history store: an embedded SQLite database of runs, samples, comparisons, calibrations.

``measure``, ``compare``, ``bisect`` and ``calibrate`` each write a run. Every run carries the
revision(s), scenario, runner label and machine facts (CPU model, cores, Python, torch). The
schema version lives in the database (``PRAGMA user_version``) and ``MIGRATIONS`` bring an older
file up to date. WAL mode and a busy timeout let two processes write at once. ``export`` and
``load_export`` carry the history between CI jobs as versioned JSON (an artifact or a cache);
importing the same runs twice adds nothing (runs have a unique id).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..atomic import make_parent
from ..errors import ResultsError
from ..model import Sample
from ..selection.depmap_model import DepMap, Entry
from ..stats.summary import median_ci_ranks
from .records import ComparisonRecord, RunRecord, SampleRow, work_json

SCHEMA_VERSION = 4
CALIBRATION_COLUMNS = (
    "run_id",
    "created",
    "scenario",
    "runner",
    "pairs",
    "sd_total",
    "sd_cpu",
    "sd_phases",
    "threshold_pct",
    "fp_per_week",
    "compares_per_week",
    "fp_rate",
    "power",
    "roc",
    "reason",
)
DEFAULT_PATH = Path(".ttfb") / "history.sqlite"

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY, uid TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
            created TEXT NOT NULL, scenario TEXT, base_rev TEXT, head_rev TEXT, runner TEXT,
            machine TEXT, python TEXT, doc TEXT)""",
        """CREATE TABLE samples (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
            arm TEXT, stage TEXT, block INTEGER, status TEXT NOT NULL, ttfb_s REAL,
            cpu_s REAL, phases TEXT)""",
        """CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
            scenario TEXT NOT NULL, verdict TEXT NOT NULL, delta_pct REAL, ci_low_pct REAL,
            ci_high_pct REAL, p_ttest REAL, p_wilcoxon REAL, pairs INTEGER, confirmed INTEGER,
            threshold_pct REAL, base_median_s REAL, head_median_s REAL)""",
        "CREATE INDEX samples_run ON samples(run_id)",
        "CREATE INDEX runs_scenario ON runs(scenario, created)",
    ),
    2: (
        "ALTER TABLE runs ADD COLUMN torch TEXT",
        "ALTER TABLE comparisons ADD COLUMN threshold_note TEXT",
        """CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id), created TEXT NOT NULL,
            scenario TEXT NOT NULL, runner TEXT NOT NULL, pairs INTEGER NOT NULL,
            sd_total REAL NOT NULL, sd_cpu REAL, sd_phases TEXT, threshold_pct REAL NOT NULL,
            fp_per_week REAL, compares_per_week REAL, fp_rate REAL, power TEXT, roc TEXT,
            reason TEXT)""",
        "CREATE INDEX calibrations_key ON calibrations(scenario, runner, created)",
    ),
    3: ("CREATE TABLE depmap (scenario TEXT PRIMARY KEY, entry TEXT NOT NULL)",),
    # the instruction counts of a compare (JSON of ``records.work_json``), NULL where not counted
    4: ("ALTER TABLE comparisons ADD COLUMN work TEXT",),
}


def _sample_row(run_id: int, r: SampleRow) -> tuple[Any, ...]:
    s = r.sample
    return (
        run_id,
        r.arm,
        r.stage,
        r.block,
        s.status,
        s.ttfb_s,
        s.cpu_s,
        json.dumps(dict(s.phases)),
    )


def _comparison_row(run_id: int, c: ComparisonRecord) -> dict[str, Any]:
    """The columns of a comparisons row; ``work`` only where counted, so that a file opened at
    an older schema version (``History(upto=...)``) still takes a comparison without counts."""
    row: dict[str, Any] = {
        "run_id": run_id,
        "scenario": c.scenario,
        "verdict": c.verdict.value,
        "delta_pct": c.delta_pct,
        "ci_low_pct": c.ci_low_pct,
        "ci_high_pct": c.ci_high_pct,
        "p_ttest": c.p_ttest,
        "p_wilcoxon": c.p_wilcoxon,
        "pairs": c.pairs,
        "confirmed": None if c.confirmed is None else int(c.confirmed),
        "threshold_pct": c.threshold_pct,
        "base_median_s": c.base_median_s,
        "head_median_s": c.head_median_s,
        "threshold_note": c.threshold_note,
    }
    if c.work is not None:
        row["work"] = json.dumps(work_json(c.work))
    return row


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_path(root: Path) -> Path:
    return Path(os.environ.get("TTFB_LAB_DB", root / DEFAULT_PATH))


class History:
    """One SQLite file. Use as a context manager, or ``close()``."""

    def __init__(self, path: str | Path, *, upto: int = SCHEMA_VERSION) -> None:
        self.path = Path(path)
        make_parent(self.path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate(upto)
        except sqlite3.DatabaseError as exc:
            raise ResultsError(f"{self.path}: not a usable history database: {exc}") from None

    def _migrate(self, upto: int) -> None:
        with self._tx():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ResultsError(
                    f"{self.path}: schema version {version} is newer than this ttfb understands "
                    f"({SCHEMA_VERSION}); upgrade ttfb-lab"
                )
            for v in range(version + 1, upto + 1):
                for statement in MIGRATIONS[v]:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={v}")

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE): read-modify-write is safe across processes."""
        with self._tx():
            yield

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> int:
        """One run with its samples and comparison, atomically; -1 if its uid is here already."""
        machine = dict(run.machine or {})
        torch = run.torch or next((r.sample.torch for r in run.samples if r.sample.torch), None)
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO runs (uid, kind, created, scenario, base_rev, head_rev, "
                "runner, machine, python, torch, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run.uid or uuid.uuid4().hex,
                    run.kind,
                    run.created or _now(),
                    run.scenario,
                    run.base_rev,
                    run.head_rev,
                    run.runner,
                    json.dumps(machine),
                    machine.get("python"),
                    torch or machine.get("torch"),
                    json.dumps(run.doc) if run.doc is not None else None,
                ),
            )
            if cur.rowcount == 0:  # imported twice: nothing new
                return -1
            run_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO samples (run_id, arm, stage, block, status, ttfb_s, cpu_s, phases)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [_sample_row(run_id, r) for r in run.samples],
            )
            c = run.comparison
            if c is not None:
                row = _comparison_row(run_id, c)
                self.db.execute(
                    f"INSERT INTO comparisons ({', '.join(row)}) "
                    f"VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
        return run_id

    def save_calibration(
        self, *, scenario: str, runner: str, run_id: int | None, values: Mapping[str, Any]
    ) -> None:
        v = values
        with self._tx():
            self.insert_calibration(
                {
                    **{k: v.get(k) for k in CALIBRATION_COLUMNS},
                    "run_id": run_id,
                    "created": _now(),
                    "scenario": scenario,
                    "runner": runner,
                    "pairs": v["pairs"],
                    "sd_total": v["sd_total"],
                    "threshold_pct": v["threshold_pct"],
                    "sd_phases": json.dumps(v.get("sd_phases", {})),
                    "power": json.dumps(v.get("power", {})),
                    "roc": json.dumps(v.get("roc", [])),
                }
            )

    def insert_calibration(self, row: Mapping[str, Any]) -> None:
        """One calibrations row; JSON columns already encoded, as the export carries them."""
        self.db.execute(
            f"INSERT INTO calibrations ({', '.join(CALIBRATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CALIBRATION_COLUMNS))})",
            [row.get(k) for k in CALIBRATION_COLUMNS],
        )

    # --- reading -----------------------------------------------------------------------------

    def calibration(self, scenario: str, runner: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM calibrations WHERE scenario=? AND runner=? ORDER BY id DESC LIMIT 1",
            (scenario, runner),
        ).fetchone()
        if row is None:
            return None
        out = dict(row)
        for key in ("sd_phases", "power", "roc"):
            out[key] = json.loads(out[key]) if out[key] else None
        return out

    def aa_blocks(self, scenario: str, runner: str) -> list[list[Sample]]:
        """Every complete block of four ok samples from this scenario's calibrate runs."""
        rows = self.db.execute(
            "SELECT s.run_id, s.block, s.status, s.ttfb_s, s.cpu_s, s.phases FROM samples s "
            "JOIN runs r ON r.id = s.run_id WHERE r.kind='calibrate' AND r.scenario=? "
            "AND r.runner=? AND s.stage='aa' ORDER BY s.id",
            (scenario, runner),
        ).fetchall()
        blocks: dict[tuple[int, int], list[Sample]] = {}
        for r in rows:
            blocks.setdefault((r["run_id"], r["block"]), []).append(
                Sample(
                    status=r["status"],
                    ttfb_s=r["ttfb_s"],
                    cpu_s=r["cpu_s"],
                    phases=json.loads(r["phases"] or "{}"),
                )
            )
        return [b for b in blocks.values() if len(b) == 4 and all(s.ok for s in b)]

    def compares_per_week(self, *, weeks: int = 4) -> float | None:
        since = (datetime.now(timezone.utc) - timedelta(weeks=weeks)).strftime("%Y-%m-%dT%H:%M:%SZ")
        n = self.db.execute(
            "SELECT COUNT(*) FROM comparisons c JOIN runs r ON r.id=c.run_id "
            "WHERE r.kind='compare' AND r.created >= ?",
            (since,),
        ).fetchone()[0]
        return n / weeks if n else None

    def recent(self, *, scenario: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        query = (
            "SELECT r.id, r.kind, r.created, r.scenario, r.base_rev, r.head_rev, r.runner, "
            "c.verdict, c.delta_pct, c.ci_low_pct, c.ci_high_pct, c.pairs, "
            "(SELECT COUNT(*) FROM samples s WHERE s.run_id=r.id) AS samples, "
            "(SELECT AVG(ttfb_s) FROM samples s WHERE s.run_id=r.id AND s.status='ok' "
            " AND (s.arm='head' OR s.arm='')) AS mean_ttfb_s "
            "FROM runs r LEFT JOIN comparisons c ON c.run_id = r.id"
        )
        args: list[Any] = []
        if scenario:
            query += " WHERE r.scenario = ?"
            args.append(scenario)
        query += " ORDER BY r.id DESC LIMIT ?"
        args.append(limit)
        return [dict(r) for r in self.db.execute(query, args).fetchall()]

    def trend(self, scenario: str) -> list[dict[str, Any]]:
        """Per run of ``scenario`` in time order: revision, median TTFB, CI, verdict."""
        rows = self.db.execute(
            "SELECT r.id, r.kind, r.created, r.head_rev, c.verdict, c.delta_pct, c.ci_low_pct, "
            "c.ci_high_pct, c.head_median_s FROM runs r LEFT JOIN comparisons c "
            "ON c.run_id=r.id WHERE r.scenario=? AND r.kind IN ('measure','compare') "
            "ORDER BY r.id",
            (scenario,),
        ).fetchall()
        out = []
        for r in rows:
            ttfbs = sorted(
                x[0]
                for x in self.db.execute(
                    "SELECT ttfb_s FROM samples WHERE run_id=? AND status='ok' AND arm IN "
                    "('head','') AND stage != 'warmup'",
                    (r["id"],),
                ).fetchall()
                if x[0]
            )
            if not ttfbs:
                continue
            n = len(ttfbs)
            lo, hi = median_ci_ranks(n)
            out.append(
                {
                    **dict(r),
                    "median_s": ttfbs[n // 2],
                    "q1_s": ttfbs[n // 4],
                    "q3_s": ttfbs[(3 * n) // 4],
                    "ci_low_s": ttfbs[lo],
                    "ci_high_s": ttfbs[hi],
                    "n": n,
                }
            )
        return out

    def last_run_id(self, kind: str, scenario: str, runner: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM runs WHERE kind=? AND scenario=? AND runner=? ORDER BY id DESC LIMIT 1",
            (kind, scenario, runner),
        ).fetchone()
        return int(row[0]) if row else None

    def calibration_rows(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.db.execute("SELECT * FROM calibrations ORDER BY id")]

    def scenarios(self) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT scenario FROM runs WHERE scenario IS NOT NULL ORDER BY scenario"
            )
        ]

    # --- the dependency map (bot.selection.depmap_model has its logic; these are its rows) --------

    def depmap(self) -> DepMap:
        rows = self.db.execute("SELECT scenario, entry FROM depmap ORDER BY scenario").fetchall()
        return DepMap({r["scenario"]: Entry.from_json(json.loads(r["entry"])) for r in rows})

    def put_depmap_entry(self, scenario: str, entry: Entry) -> None:
        """Insert or replace; call inside ``transaction()`` when it follows a read."""
        self.db.execute(
            "INSERT INTO depmap (scenario, entry) VALUES (?, ?) ON CONFLICT(scenario) "
            "DO UPDATE SET entry = excluded.entry",
            (scenario, json.dumps(entry.to_json(), sort_keys=True)),
        )

    def clear_depmap(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM depmap")
