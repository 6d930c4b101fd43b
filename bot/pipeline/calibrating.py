"""``ttfb calibrate``'s pipeline: A/A pairs of each scenario → noise → ROC by simulation → the
threshold its false-positive budget allows, stored in the history for ``compare`` to use.

The A/A job comes from the one target builder with the current checkout on both sides, so
inputs, setup and shrinking apply as in a compare.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, replace
from typing import Any

from .. import git
from ..ab import calibration_sim
from ..ab.arms import Arm
from ..ab.calibration_sim import calibrate as simulate
from ..ab.calibration_sim import record_aa
from ..ab.rejudge import stage_pairs
from ..ab.targets import build_target, floor_threshold, gpu_skip_reason
from ..ab.workspace import Workspace
from ..errors import UsageError
from ..model import Executor, Progress
from ..scenarios import Scenario
from ..stats.calibration import Calibration
from ..store import thresholds
from ..store.history_db import History
from ..store.records import RunRecord, pair_rows
from ..store.versioned import SampleLog, read_records
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
    """Record A/A pairs (``opts.pairs``; 0 reuses the stored ones), or import them from
    ``opts.aa_logs``; then simulate, choose and store, unless ``opts.record_only``. With
    ``opts.every``, a scenario this machine cannot run is skipped and says why."""
    skipped: list[Calibrated] = []
    runnable = []
    for s in opts.scenarios:
        why = gpu_skip_reason(s)
        if why and not opts.every:
            raise UsageError(f"calibrate: {s.name}: {why}")
        if why:
            skipped.append(Calibrated(s.name, None, f"skipped, {why}", {}))
        else:
            runnable.append(s)
    scoped = replace(opts, scenarios=tuple(runnable))
    if opts.aa_logs:
        _import_aa(scoped, progress)
    elif opts.pairs:
        _record_aa(scoped, progress, executor or executor_for(opts.fake))
    if opts.record_only:
        note = f"recorded {opts.pairs} A/A pairs"
        return skipped + [Calibrated(s.name, None, note, {}) for s in runnable]
    runner = opts.store.runner_label
    return skipped + [_calibrate_one(scoped, s, runner, progress) for s in runnable]


def _record_aa(opts: CalibrateOptions, progress: Progress | None, executor: Executor) -> None:
    """A/A pairs of every scenario, into the history (and the sample log, when one is named:
    what a trusted job imports)."""
    recorder = opts.store.recorder()
    log_path = opts.outputs.samples
    with Workspace(progress=progress) as ws, contextlib.ExitStack() as stack:
        log = (
            stack.enter_context(SampleLog(log_path, {"command": "calibrate"})) if log_path else None
        )
        for scenario in opts.scenarios:
            arm = Arm("aa", scenario.name, opts.root, sys.executable)
            target = build_target(
                scenario, arm, arm, threshold=floor_threshold, workspace=ws, name=scenario.name
            )
            if target.skipped or target.broken or target.base is None:
                raise UsageError(f"calibrate: {scenario.name}: {target.skipped or target.broken}")
            rows = record_aa(
                target.base, pairs=opts.pairs, executor=executor, progress=progress, log=log
            )
            revision = git.head_revision(opts.root)
            # A/A runs on the default branch: the best time to learn what the scenario reads
            recorder.record(RunRecord("calibrate", scenario.name, revision, revision, samples=rows))


def _import_aa(opts: CalibrateOptions, progress: Progress | None) -> None:
    """A/A pairs from sample logs another job wrote, read as untrusted data: only the
    scenarios asked for, only A/A blocks, into the history."""
    recorder = opts.store.recorder()
    revision = git.head_revision(opts.root)
    wanted = {s.name for s in opts.scenarios}
    for path in opts.aa_logs:
        for name, pairs in stage_pairs(read_records(path), "aa").items():
            if name not in wanted:
                raise UsageError(f"--aa-log: {path}: scenario {name!r} was not asked for")
            if progress:
                progress(f"{name}: {len(pairs)} A/A pairs from {path}")
            rows = pair_rows(pairs, stage="aa")
            recorder.record(RunRecord("calibrate", name, revision, revision, samples=rows))


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
