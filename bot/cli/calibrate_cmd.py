"""``ttfb calibrate``: A/A runs → noise → ROC by simulation → the threshold compare will use."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from .. import git
from ..ab import calibration_sim as ab_calibrate
from ..ab.calibration_sim import Settings, calibrate, record_aa
from ..ab.targets import gpu_skip_reason, scenario_job
from ..errors import UsageError
from ..report.calibration_view import calibration_text
from ..scenarios import Scenario
from ..store import thresholds
from ..store.history_db import History
from ..store.records import RunRecord
from ..store.versioned import write_json
from . import common

CALIBRATE_VERSION = 1


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    chosen = common.chosen_scenarios(args, common.scenarios_dir(args, root), what="calibrate")
    recorder = common.recorder(args, root)
    db = common.db_path(args, root)
    # the options are named after the settings they set
    settings = Settings(**{f.name: getattr(args, f.name) for f in fields(Settings)})
    done = []
    for scenario in chosen:
        skip = gpu_skip_reason(scenario)
        if skip and args.all:
            print(f"{scenario.name}: skipped, {skip}")
            continue
        if skip:
            raise UsageError(f"calibrate: {scenario.name}: {skip}")
        if args.pairs:
            rows = record_aa(
                scenario_job(scenario, root=root),
                pairs=args.pairs,
                executor=common.executor(args),
                progress=common.say,
            )
            revision = git.head_revision(root)
            # A/A runs on the default branch are the best time to learn what the scenario reads
            recorder.record(RunRecord("calibrate", scenario.name, revision, revision, samples=rows))
        done.append(_calibrate_one(args, scenario, db, recorder.runner, settings))
    if args.json:
        doc = {"version": CALIBRATE_VERSION, "kind": "ttfb-calibration", "runner": recorder.runner}
        write_json(args.json, {**doc, "scenarios": done})
    return 0


def _calibrate_one(
    args: argparse.Namespace, scenario: Scenario, db: Path, runner: str, settings: Settings
) -> dict[str, Any]:
    """Simulate on the stored A/A blocks, choose, store and print; returns the values."""
    with History(db) as hist:
        blocks = hist.aa_blocks(scenario.name, runner)
        per_week = (
            args.compares_per_week
            or hist.compares_per_week()
            or thresholds.DEFAULT_COMPARES_PER_WEEK
        )
        try:
            cal = calibrate(
                blocks,
                scenario=scenario.name,
                runner=runner,
                floor_pct=scenario.floor_pct,
                compares_per_week=per_week,
                settings=settings,
                progress=common.say,
            )
        except UsageError as exc:
            raise UsageError(f"{exc} (history {db})") from None
        values = cal.values()
        run_id = hist.last_run_id("calibrate", scenario.name, runner)
        hist.save_calibration(scenario=scenario.name, runner=runner, run_id=run_id, values=values)
    _, note = thresholds.describe({**values, "runner": runner}, floor=scenario.floor_pct)
    print(calibration_text(cal, note), end="")
    return {"scenario": scenario.name, **values}


NAME = "calibrate"
HELP = "A/A runs → noise → the threshold your false-positive budget allows"
DESCRIPTION = ab_calibrate.__doc__


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", metavar="NAME_OR_PATH")
    p.add_argument("--all", action="store_true", help="every scenario this machine can run")
    p.add_argument(
        "--pairs",
        type=common.nonneg_int,
        default=40,
        help="new A/A pairs to record (0: reuse the stored ones)",
    )
    p.add_argument("--fp-per-week", type=common.positive_float, default=1.0)
    p.add_argument(
        "--compares-per-week", type=common.positive_float, help="default: from history, else 50"
    )
    for option, default, what in (
        ("--thresholds", ab_calibrate.DEFAULT_THRESHOLDS, "candidate thresholds"),
        ("--shifts", ab_calibrate.DEFAULT_SHIFTS, "planted regressions for the power table"),
    ):
        shown = ",".join(f"{x:g}" for x in default)
        p.add_argument(
            option,
            type=common.percent_list,
            default=default,
            metavar="PCTS",
            help=f"{what}, comma-separated percentages (default {shown})",
        )
    p.add_argument("--aa-trials", type=common.positive_int, default=200)
    p.add_argument("--shift-trials", type=common.positive_int, default=20)
    p.add_argument(
        "--family-size",
        type=common.positive_int,
        default=1,
        help="scenarios compared together in a typical run",
    )
    p.add_argument(
        "--quiet-phase",
        default="interpreter_ready",
        help="phase after which the localised delays of the power table go",
    )
    common.add_alpha(p)
    p.add_argument("--max-pairs", type=common.positive_int, default=80)
    p.add_argument("--seed", type=int, default=0)
    common.add_history_args(p, runner=True)
