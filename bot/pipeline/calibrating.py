"""``ttfb calibrate``'s pipeline: A/A pairs of each scenario → noise → ROC by simulation → the
threshold its false-positive budget allows, stored in the history for ``compare`` to use.

The A/A job comes from the one target builder with the current checkout on both sides, so
inputs, setup and shrinking apply as in a compare.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from .. import git
from ..ab import calibration_sim
from ..ab.arms import Arm
from ..ab.calibration_sim import calibrate as simulate
from ..ab.calibration_sim import record_aa
from ..ab.targets import build_target, floor_threshold
from ..ab.workspace import Workspace
from ..errors import UsageError
from ..model import Executor, Progress
from ..scenarios import Scenario
from ..stats.calibration import Calibration
from ..store import thresholds
from ..store.history_db import History
from ..store.records import RunRecord
from .options import CalibrateOptions, executor_for

CALIBRATE_VERSION = 1
METHOD = calibration_sim.__doc__
"""How a calibration works (the command's help)."""


@dataclass(frozen=True)
class Calibrated:
    scenario: str
    calibration: Calibration | None  # None: skipped
    note: str  # where the threshold comes from, or why it was skipped
    values: dict[str, Any]


def calibrate(
    opts: CalibrateOptions, *, progress: Progress | None = None, executor: Executor | None = None
) -> list[Calibrated]:
    """Record A/A pairs (``opts.pairs``; 0 reuses the stored ones), simulate, choose, store."""
    executor = executor or executor_for(opts.fake)
    recorder = opts.store.recorder()
    done = []
    with Workspace(progress=progress) as ws:
        for scenario in opts.scenarios:
            arm = Arm("aa", scenario.name, opts.root, sys.executable)
            target = build_target(
                scenario, arm, arm, threshold=floor_threshold, workspace=ws, name=scenario.name
            )
            if target.skipped and opts.every:
                done.append(Calibrated(scenario.name, None, f"skipped, {target.skipped}", {}))
                continue
            if target.skipped or target.broken or target.base is None:
                raise UsageError(f"calibrate: {scenario.name}: {target.skipped or target.broken}")
            if opts.pairs:
                rows = record_aa(
                    target.base, pairs=opts.pairs, executor=executor, progress=progress
                )
                revision = git.head_revision(opts.root)
                # A/A runs on the default branch: the best time to learn what the scenario reads
                recorder.record(
                    RunRecord("calibrate", scenario.name, revision, revision, samples=rows)
                )
            done.append(_calibrate_one(opts, scenario, recorder.runner, progress))
    return done


def _calibrate_one(
    opts: CalibrateOptions, scenario: Scenario, runner: str, progress: Progress | None
) -> Calibrated:
    """Simulate on the stored A/A blocks, choose, store."""
    db = opts.store.db_path
    with History(db) as hist:
        blocks = hist.aa_blocks(scenario.name, runner)
        per_week = (
            opts.compares_per_week
            or hist.compares_per_week()
            or thresholds.DEFAULT_COMPARES_PER_WEEK
        )
        try:
            cal = simulate(
                blocks,
                scenario=scenario.name,
                runner=runner,
                floor_pct=scenario.floor_pct,
                compares_per_week=per_week,
                settings=opts.settings,
                progress=progress,
            )
        except UsageError as exc:
            raise UsageError(f"{exc} (history {db})") from None
        values = cal.values()
        run_id = hist.last_run_id("calibrate", scenario.name, runner)
        hist.save_calibration(scenario=scenario.name, runner=runner, run_id=run_id, values=values)
    _, note = thresholds.describe({**values, "runner": runner}, floor=scenario.floor_pct)
    return Calibrated(scenario.name, cal, note, values)


def calibration_json(done: list[Calibrated], runner: str) -> dict[str, Any]:
    """The versioned ``--json`` document of a calibration."""
    return {
        "version": CALIBRATE_VERSION,
        "kind": "ttfb-calibration",
        "runner": runner,
        "scenarios": [{"scenario": c.scenario, **c.values} for c in done if c.calibration],
    }
