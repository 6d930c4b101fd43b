"""The one recorder: every run — measure, compare, calibrate, bisect, release — goes through
``Recorder.record``, which writes it to the history database and teaches the dependency map.

Nothing else writes runs or map entries during a run, so every kind of run shows up in
``ttfb history`` and feeds selection alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import depmap_db
from .history_db import History
from .records import RunRecord

LEARN_ARMS = ("head", "")  # the revision under test; "" is a single-arm run (measure)


@dataclass(frozen=True)
class Recorder:
    """Where runs go: a history database (None: ``--no-history``) and a dependency map (None:
    ``--no-depmap``), with the runner label and machine facts every run is stamped with."""

    history: Path | None
    depmap: Path | None
    runner: str
    machine: Mapping[str, Any] = field(default_factory=dict)

    def record(self, run: RunRecord) -> None:
        if self.history is not None:
            stamped = replace(
                run, runner=run.runner or self.runner, machine=run.machine or self.machine
            )
            with History(self.history) as h:
                h.record_run(stamped)
        if self.depmap is not None and run.learn and run.scenario:
            self._learn(self.depmap, run)

    def _learn(self, path: Path, run: RunRecord) -> None:
        """Merge the files the run's ok samples imported and opened; count its verdict."""
        ok = [r.sample for r in run.samples if r.sample.ok and r.arm in LEARN_ARMS]
        if not ok or run.scenario is None:
            return
        depmap_db.record(
            path,
            run.scenario,
            imported=set().union(*(s.imported_files for s in ok)),
            opened=set().union(*(s.opened_files for s in ok)),
            revision=run.head_rev,
            verdict=run.comparison.verdict if run.comparison is not None else None,
            changed=run.changed,
        )
