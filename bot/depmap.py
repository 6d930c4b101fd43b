"""The learned dependency map: scenario → repository files it imported or opened.

Every measured run merges the probe's file lists into the map, with the revision and time it
saw them. The map is a versioned JSON file in the results store (``.ttfb/depmap.json`` by
default); merging is a union, so a file a scenario once used stays mapped until ``--reset``:
for selection, forgetting a dependency is worse than remembering a stale one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ResultsError
from .results import check_version, read_json, write_json

DEPMAP_VERSION = 1
DEFAULT_PATH = Path(".ttfb") / "depmap.json"


@dataclass(frozen=True)
class Entry:
    imported: frozenset[str] = frozenset()
    opened: frozenset[str] = frozenset()
    revision: str | None = None
    updated: str | None = None  # ISO 8601 UTC
    runs: int = 0
    compares: int = 0  # comparisons of this scenario with a verdict
    moved: int = 0  # of which were a regression or an improvement
    last_run: str | None = None  # ISO 8601 UTC of the latest measure or compare

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": sorted(self.imported),
            "opened": sorted(self.opened - self.imported),
            "revision": self.revision,
            "updated": self.updated,
            "runs": self.runs,
            "compares": self.compares,
            "moved": self.moved,
            "last_run": self.last_run,
        }


@dataclass(frozen=True)
class DepMap:
    entries: Mapping[str, Entry] = field(default_factory=dict)

    def merged(
        self,
        scenario: str,
        *,
        imported: Iterable[str],
        opened: Iterable[str],
        revision: str | None,
        when: datetime | None = None,
    ) -> DepMap:
        old = self.entries.get(scenario, Entry())
        stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = replace(
            old,
            imported=old.imported | frozenset(imported),
            opened=old.opened | frozenset(opened),
            revision=revision or old.revision,
            updated=stamp,
            runs=old.runs + 1,
            last_run=stamp,
        )
        return DepMap({**self.entries, scenario: entry})

    def with_verdict(self, scenario: str, *, moved: bool, when: datetime | None = None) -> DepMap:
        """Count one verdict (``moved``: regression or improvement) for selection's history."""
        old = self.entries.get(scenario, Entry())
        stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry = replace(
            old, compares=old.compares + 1, moved=old.moved + int(moved), last_run=stamp
        )
        return DepMap({**self.entries, scenario: entry})

    def to_json(self) -> dict[str, Any]:
        return {
            "version": DEPMAP_VERSION,
            "kind": "ttfb-depmap",
            "scenarios": {k: v.to_json() for k, v in sorted(self.entries.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "depmap") -> DepMap:
        check_version(data, source=source, known=DEPMAP_VERSION)
        scenarios = data.get("scenarios")
        if not isinstance(scenarios, dict):
            raise ResultsError(f"{source}: scenarios: expected a mapping")
        entries = {}
        for name, e in scenarios.items():
            imported = frozenset(e.get("imported", ()))
            entries[name] = Entry(
                imported=imported,
                opened=frozenset(e.get("opened", ())) | imported,
                revision=e.get("revision"),
                updated=e.get("updated"),
                runs=int(e.get("runs", 0)),
                compares=int(e.get("compares", 0)),
                moved=int(e.get("moved", 0)),
                last_run=e.get("last_run"),
            )
        return cls(entries)


def load(path: str | Path) -> DepMap:
    """The map at ``path``; a missing file is an empty map."""
    path = Path(path)
    if not path.exists():
        return DepMap()
    return DepMap.from_json(read_json(path, known=DEPMAP_VERSION), source=str(path))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(
    path: str | Path,
    scenario: str,
    *,
    imported: Iterable[str],
    opened: Iterable[str],
    revision: str | None,
    verdict: str | None = None,
) -> DepMap:
    """Merge one scenario's files (and its verdict, if any) into the map on disk, locked."""
    path = Path(path)
    with _locked(path):
        updated = load(path).merged(scenario, imported=imported, opened=opened, revision=revision)
        if verdict in ("regression", "improvement", "no_change", "inconclusive"):
            moved = verdict in ("regression", "improvement")
            updated = updated.with_verdict(scenario, moved=moved)
        write_json(path, updated.to_json())
    return updated


def history(dm: DepMap, *, now: datetime | None = None) -> dict[str, dict[str, float]]:
    """Per scenario: compares, moved and days since the last run, for selection."""
    now = now or datetime.now(timezone.utc)
    out: dict[str, dict[str, float]] = {}
    for name, e in dm.entries.items():
        row: dict[str, float] = {"runs": e.compares, "moved": e.moved}
        if e.last_run:
            then = datetime.strptime(e.last_run, "%Y-%m-%dT%H:%M:%SZ")
            row["days_since"] = (now - then.replace(tzinfo=timezone.utc)).total_seconds() / 86400
        out[name] = row
    return out


def default_path(root: Path) -> Path:
    return Path(os.environ.get("TTFB_LAB_DEPMAP", root / DEFAULT_PATH))


def record_samples(
    path: str | Path,
    scenario: str,
    samples: Iterable[Any],
    *,
    revision: str | None,
    verdict: str | None = None,
) -> DepMap | None:
    """Record the files the ok samples imported and opened; nothing when none is ok."""
    ok = [s for s in samples if getattr(s, "ok", False)]
    if not ok:
        return None
    imported = set().union(*(s.imported_files for s in ok))
    opened = set().union(*(s.opened_files for s in ok))
    return record(
        path, scenario, imported=imported, opened=opened, revision=revision, verdict=verdict
    )
