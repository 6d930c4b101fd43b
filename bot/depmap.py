"""The learned dependency map: scenario → repository files it imported or opened.

Every measured run merges the probe's file lists into the map, with the revision and time it
saw them. The map lives in the history database (``bot.history``, one row per scenario, so it
travels with the history's cache and export); a path ending in ``.json`` is read and written as
the versioned JSON file earlier versions kept. Merging is a union, so a file a scenario once
used stays mapped until ``--reset``: for selection, forgetting a dependency is worse than
remembering a stale one.
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
    # per mapped file: (compares whose change touched it, of which moved this scenario)
    paths: Mapping[str, tuple[int, int]] = field(default_factory=dict)

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
            "paths": {p: list(v) for p, v in sorted(self.paths.items())},
        }

    @classmethod
    def from_json(cls, e: Mapping[str, Any]) -> Entry:
        imported = frozenset(e.get("imported", ()))
        return cls(
            imported=imported,
            opened=frozenset(e.get("opened", ())) | imported,
            revision=e.get("revision"),
            updated=e.get("updated"),
            runs=int(e.get("runs", 0)),
            compares=int(e.get("compares", 0)),
            moved=int(e.get("moved", 0)),
            last_run=e.get("last_run"),
            paths={p: (int(v[0]), int(v[1])) for p, v in (e.get("paths") or {}).items()},
        )

    def union(self, other: Entry) -> Entry:
        """Two copies of one scenario's entry (an imported history): files united, the newer
        revision, the larger counts (the same runs may be in both)."""
        newer = other if (other.updated or "") > (self.updated or "") else self
        return Entry(
            imported=self.imported | other.imported,
            opened=self.opened | other.opened,
            revision=newer.revision,
            updated=newer.updated,
            runs=max(self.runs, other.runs),
            compares=max(self.compares, other.compares),
            moved=max(self.moved, other.moved),
            last_run=max(self.last_run or "", other.last_run or "") or None,
            paths={
                p: (
                    max(self.paths.get(p, (0, 0))[0], other.paths.get(p, (0, 0))[0]),
                    max(self.paths.get(p, (0, 0))[1], other.paths.get(p, (0, 0))[1]),
                )
                for p in self.paths.keys() | other.paths.keys()
            },
        )


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

    def with_verdict(
        self,
        scenario: str,
        *,
        moved: bool,
        changed: Iterable[str] = (),
        when: datetime | None = None,
    ) -> DepMap:
        """Count one verdict (``moved``: regression or improvement) for selection's history,
        for the scenario and for each changed file it has used (``changed``: the compare's
        changed paths, when it compared two revisions)."""
        old = self.entries.get(scenario, Entry())
        stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        paths = dict(old.paths)
        for path in set(changed) & old.opened:
            c, m = paths.get(path, (0, 0))
            paths[path] = (c + 1, m + int(moved))
        entry = replace(
            old,
            compares=old.compares + 1,
            moved=old.moved + int(moved),
            last_run=stamp,
            paths=paths,
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
        entries = {name: Entry.from_json(e) for name, e in scenarios.items()}
        return cls(entries)


def _is_json(path: Path) -> bool:
    return path.suffix == ".json"


def load(path: str | Path) -> DepMap:
    """The map at ``path`` (a history database, or a ``.json`` file); missing is empty."""
    path = Path(path)
    if not path.exists():
        return DepMap()
    if _is_json(path):
        return DepMap.from_json(read_json(path, known=DEPMAP_VERSION), source=str(path))
    from .history import History

    with History(path) as h:
        return DepMap({k: Entry.from_json(v) for k, v in h.depmap_entries().items()})


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _update(
    dm: DepMap,
    scenario: str,
    imported: Iterable[str],
    opened: Iterable[str],
    revision: str | None,
    verdict: str | None,
    changed: Iterable[str],
) -> DepMap:
    updated = dm.merged(scenario, imported=imported, opened=opened, revision=revision)
    if verdict in ("regression", "improvement", "no_change", "inconclusive"):
        updated = updated.with_verdict(
            scenario, moved=verdict in ("regression", "improvement"), changed=changed
        )
    return updated


def record(
    path: str | Path,
    scenario: str,
    *,
    imported: Iterable[str],
    opened: Iterable[str],
    revision: str | None,
    verdict: str | None = None,
    changed: Iterable[str] = (),
) -> DepMap:
    """Merge one scenario's files (and its verdict, if any, with the changed paths it judged)
    into the stored map, atomically."""
    path = Path(path)
    if _is_json(path):
        with _locked(path):
            updated = _update(load(path), scenario, imported, opened, revision, verdict, changed)
            write_json(path, updated.to_json())
        return updated
    from .history import History

    with History(path) as h, h.transaction():
        old = DepMap({k: Entry.from_json(v) for k, v in h.depmap_entries().items()})
        updated = _update(old, scenario, imported, opened, revision, verdict, changed)
        h.put_depmap_entry(scenario, updated.entries[scenario].to_json())
    return updated


def reset(path: str | Path) -> None:
    """Forget the stored map."""
    path = Path(path)
    if _is_json(path):
        path.unlink(missing_ok=True)
    elif path.exists():
        from .history import History

        with History(path) as h:
            h.clear_depmap()


def history(dm: DepMap, *, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per scenario, what selection uses: per changed file (compares, moved), and days since
    the last run. (The per-scenario counts stay in the entry, but selection does not rank by
    them; see ``bot.selection.History``.)"""
    now = now or datetime.now(timezone.utc)
    out: dict[str, dict[str, Any]] = {}
    for name, e in dm.entries.items():
        row: dict[str, Any] = {"paths": dict(e.paths)}
        if e.last_run:
            then = datetime.strptime(e.last_run, "%Y-%m-%dT%H:%M:%SZ")
            row["days_since"] = (now - then.replace(tzinfo=timezone.utc)).total_seconds() / 86400
        out[name] = row
    return out


def default_path(root: Path) -> Path:
    """``$TTFB_LAB_DEPMAP``, else the history database."""
    from .history import default_path as history_path

    return Path(os.environ.get("TTFB_LAB_DEPMAP") or history_path(root))


def record_samples(
    path: str | Path,
    scenario: str,
    samples: Iterable[Any],
    *,
    revision: str | None,
    verdict: str | None = None,
    changed: Iterable[str] = (),
) -> DepMap | None:
    """Record the files the ok samples imported and opened; nothing when none is ok."""
    ok = [s for s in samples if getattr(s, "ok", False)]
    if not ok:
        return None
    imported = set().union(*(s.imported_files for s in ok))
    opened = set().union(*(s.opened_files for s in ok))
    return record(
        path,
        scenario,
        imported=imported,
        opened=opened,
        revision=revision,
        verdict=verdict,
        changed=changed,
    )
