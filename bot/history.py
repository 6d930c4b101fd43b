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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from scipy.stats import binom

from .errors import ResultsError
from .results import check_version
from .sample import Sample

SCHEMA_VERSION = 3
EXPORT_VERSION = 1
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
}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_path(root: Path) -> Path:
    return Path(os.environ.get("TTFB_LAB_DB", root / DEFAULT_PATH))


class History:
    """One SQLite file. Use as a context manager, or ``close()``."""

    def __init__(self, path: str | Path, *, upto: int = SCHEMA_VERSION) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
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

    def record_run(
        self,
        kind: str,
        *,
        scenario: str | None,
        base_rev: str | None = None,
        head_rev: str | None = None,
        runner: str | None = None,
        machine: Mapping[str, Any] | None = None,
        samples: Iterable[tuple[str, str, int, Sample]] = (),
        comparison: Mapping[str, Any] | None = None,
        doc: Mapping[str, Any] | None = None,
        uid: str | None = None,
        created: str | None = None,
        torch: str | None = None,
    ) -> int:
        """One run with its samples (arm, stage, block, sample) and comparison, atomically."""
        samples = list(samples)
        machine = dict(machine or {})
        torch = torch or next((s.torch for *_, s in samples if getattr(s, "torch", None)), None)
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO runs (uid, kind, created, scenario, base_rev, head_rev, "
                "runner, machine, python, torch, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    uid or uuid.uuid4().hex,
                    kind,
                    created or _now(),
                    scenario,
                    base_rev,
                    head_rev,
                    runner,
                    json.dumps(machine),
                    machine.get("python"),
                    torch or machine.get("torch"),
                    json.dumps(doc) if doc is not None else None,
                ),
            )
            if cur.rowcount == 0:  # imported twice: nothing new
                return -1
            run_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO samples (run_id, arm, stage, block, status, ttfb_s, cpu_s, phases)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [
                    (run_id, arm, stage, block, s.status, s.ttfb_s, s.cpu_s, json.dumps(s.phases))
                    for arm, stage, block, s in samples
                ],
            )
            if comparison is not None:
                c = comparison
                self.db.execute(
                    "INSERT INTO comparisons (run_id, scenario, verdict, delta_pct, ci_low_pct, "
                    "ci_high_pct, p_ttest, p_wilcoxon, pairs, confirmed, threshold_pct, "
                    "base_median_s, head_median_s, threshold_note) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        c["name"],
                        c["verdict"],
                        c.get("delta_pct"),
                        c.get("ci_low_pct"),
                        c.get("ci_high_pct"),
                        c.get("p_ttest"),
                        c.get("p_wilcoxon"),
                        c.get("pairs"),
                        None if c.get("confirmed") is None else int(c["confirmed"]),
                        c.get("threshold_pct"),
                        (c.get("base") or {}).get("median_s"),
                        (c.get("head") or {}).get("median_s"),
                        c.get("threshold_note"),
                    ),
                )
        return run_id

    def save_calibration(
        self, *, scenario: str, runner: str, run_id: int | None, values: Mapping[str, Any]
    ) -> None:
        v = values
        with self._tx():
            self._insert_calibration(
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

    def _insert_calibration(self, row: Mapping[str, Any]) -> None:
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

    def scenarios(self) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT scenario FROM runs WHERE scenario IS NOT NULL ORDER BY scenario"
            )
        ]

    # --- the dependency map (bot.depmap keeps the logic; this keeps the rows) ----------------

    def depmap_entries(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT scenario, entry FROM depmap ORDER BY scenario").fetchall()
        return {r["scenario"]: json.loads(r["entry"]) for r in rows}

    def put_depmap_entry(self, scenario: str, entry: Mapping[str, Any]) -> None:
        """Insert or replace; call inside ``transaction()`` when it follows a read."""
        self.db.execute(
            "INSERT INTO depmap (scenario, entry) VALUES (?, ?) ON CONFLICT(scenario) "
            "DO UPDATE SET entry = excluded.entry",
            (scenario, json.dumps(entry, sort_keys=True)),
        )

    def clear_depmap(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM depmap")

    # --- export / import ---------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        runs = []
        for r in self.db.execute("SELECT * FROM runs ORDER BY id").fetchall():
            run = dict(r)
            run_id = run.pop("id")
            run["machine"] = json.loads(run["machine"] or "{}")
            run["doc"] = json.loads(run["doc"]) if run["doc"] else None
            run["samples"] = [
                {**dict(s), "phases": json.loads(s["phases"] or "{}")}
                for s in self.db.execute(
                    "SELECT arm, stage, block, status, ttfb_s, cpu_s, "
                    "phases FROM samples WHERE run_id=? ORDER BY id",
                    (run_id,),
                ).fetchall()
            ]
            comp = self.db.execute("SELECT * FROM comparisons WHERE run_id=?", (run_id,)).fetchone()
            run["comparison"] = (
                {k: v for k, v in dict(comp).items() if k not in ("id", "run_id")} if comp else None
            )
            runs.append(run)
        calibrations = [
            {k: v for k, v in dict(c).items() if k not in ("id", "run_id")}
            for c in self.db.execute("SELECT * FROM calibrations ORDER BY id").fetchall()
        ]
        return {
            "version": EXPORT_VERSION,
            "kind": "ttfb-history",
            "schema": self.version,
            "runs": runs,
            "calibrations": calibrations,
            "depmap": self.depmap_entries(),
        }

    def load_export(self, doc: Mapping[str, Any], *, source: str = "export") -> int:
        """Add the runs of an export (skipping ones already here); returns how many were new."""
        check_version(doc, source=source, known=EXPORT_VERSION)
        if doc.get("kind") != "ttfb-history":
            raise ResultsError(f"{source}: kind: expected 'ttfb-history'")
        added = 0
        for run in doc.get("runs", []):
            samples = [
                (
                    s["arm"],
                    s["stage"],
                    s["block"],
                    Sample(
                        status=s["status"], ttfb_s=s["ttfb_s"], cpu_s=s["cpu_s"], phases=s["phases"]
                    ),
                )
                for s in run.get("samples", [])
            ]
            comp = run.get("comparison")
            comparison = None
            if comp:
                comparison = {
                    **comp,
                    "name": comp["scenario"],
                    "base": {"median_s": comp.get("base_median_s")},
                    "head": {"median_s": comp.get("head_median_s")},
                }
            run_id = self.record_run(
                run["kind"],
                scenario=run.get("scenario"),
                base_rev=run.get("base_rev"),
                head_rev=run.get("head_rev"),
                runner=run.get("runner"),
                machine=run.get("machine"),
                torch=run.get("torch"),
                samples=samples,
                comparison=comparison,
                doc=run.get("doc"),
                uid=run["uid"],
                created=run["created"],
            )
            added += run_id > 0
        known = {(c["scenario"], c["runner"], c["created"]) for c in self.export_calibrations()}
        for c in doc.get("calibrations", []):
            if (c["scenario"], c["runner"], c["created"]) in known:
                continue
            with self._tx():  # the exporting database's run ids mean nothing here
                self._insert_calibration({**c, "run_id": None})
        if doc.get("depmap"):
            from .depmap import Entry

            with self._tx():
                mine = self.depmap_entries()
                for name, entry in doc["depmap"].items():
                    theirs = Entry.from_json(entry)
                    merged = Entry.from_json(mine[name]).union(theirs) if name in mine else theirs
                    self.put_depmap_entry(name, merged.to_json())
        return added

    def export_calibrations(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.db.execute("SELECT * FROM calibrations").fetchall()]


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """0-based ranks of the distribution-free CI of the median of n sorted values: the widest
    order statistics j < k with P(j < rank of the median ≤ k) ≥ confidence (binomial)."""
    if n < 3:
        return 0, n - 1
    tail = (1 - confidence) / 2
    j = int(binom.ppf(tail, n, 0.5))  # P(B ≤ j) ≥ tail
    if binom.cdf(j, n, 0.5) > tail:
        j -= 1
    j = max(j, 0)
    return j, min(n - 1 - j, n - 1)


def record_pairs(pairs: Sequence[Any], *, stage: str) -> list[tuple[str, str, int, Sample]]:
    """(arm, stage, block, sample) rows of paired samples, base then head of each pair."""
    rows = []
    for p in pairs:
        rows.append(("base", stage, p.block, p.base))
        rows.append(("head", stage, p.block, p.head))
    return rows
