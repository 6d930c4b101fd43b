"""The dependency map's types: scenario → repository files it imported or opened. Pure.

Every measured run merges the probe's file lists into the map, with the revision and time it
saw them (``bot.store.depmap_db`` keeps it). Merging is a union, so a file a scenario once used
stays mapped until a reset: for selection, forgetting a dependency is worse than remembering a
stale one. Each entry also counts, per mapped file, the revision compares whose change touched
it and how many of those moved the scenario: selection's per-file history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ..errors import ResultsError
from ..model import check_version

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
