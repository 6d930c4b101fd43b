"""``ttfb calibrate``: A/A runs → noise → ROC by simulation → the threshold compare will use."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

from ..pipeline.calibrating import METHOD, calibrate, calibration_json
from ..pipeline.options import (
    DEFAULT_SHIFTS,
    DEFAULT_THRESHOLDS,
    CalibrateOptions,
    CalibrationSettings,
    OutputPaths,
)
from ..report.calibration_view import calibration_text
from ..store.versioned import write_json
from . import args, common
from .args import Common, option

_SHOWN_THRESHOLDS = ",".join(f"{x:g}" for x in DEFAULT_THRESHOLDS)
_SHOWN_SHIFTS = ",".join(f"{x:g}" for x in DEFAULT_SHIFTS)


@dataclass(frozen=True, kw_only=True)
class Options(Common, common.Alpha, common.Db, common.Runner):
    scenario: str | None = option("--scenario", metavar="NAME_OR_PATH")
    all: bool = option(
        "--all",
        default=False,
        action="store_true",
        help="every scenario this machine can run",
    )
    pairs: int = option(
        "--pairs",
        type=common.nonneg_int,
        default=40,
        help="new A/A pairs to record (0: reuse the stored ones)",
    )
    fp_per_week: float = option("--fp-per-week", type=common.positive_float, default=1.0)
    compares_per_week: float | None = option(
        "--compares-per-week", type=common.positive_float, help="default: from history, else 50"
    )
    thresholds: tuple[float, ...] = option(
        "--thresholds",
        type=common.percent_list,
        default=DEFAULT_THRESHOLDS,
        metavar="PCTS",
        help=f"candidate thresholds, comma-separated percentages (default {_SHOWN_THRESHOLDS})",
    )
    shifts: tuple[float, ...] = option(
        "--shifts",
        type=common.percent_list,
        default=DEFAULT_SHIFTS,
        metavar="PCTS",
        help="planted regressions for the power table, comma-separated percentages "
        f"(default {_SHOWN_SHIFTS})",
    )
    aa_trials: int = option("--aa-trials", type=common.positive_int, default=200)
    shift_trials: int = option("--shift-trials", type=common.positive_int, default=20)
    family_size: int = option(
        "--family-size",
        type=common.positive_int,
        default=1,
        help="scenarios compared together in a typical run",
    )
    quiet_phase: str = option(
        "--quiet-phase",
        default="interpreter_ready",
        help="phase after which the localised delays of the power table go",
    )
    max_pairs: int = option("--max-pairs", type=common.positive_int, default=80)
    seed: int = option("--seed", type=int, default=0)
    record_only: bool = option(
        "--record-only",
        default=False,
        action="store_true",
        help="record the A/A pairs (into --samples) and stop: for the CI job that runs the "
        "measured code, which never holds the history",
    )
    samples: str | None = option("--samples", metavar="PATH", help="JSONL sample log")
    aa_log: list[str] | None = option(
        "--aa-log",
        action="append",
        metavar="PATH",
        help="import the A/A pairs of a sample log another job recorded (repeatable), then "
        "calibrate: for the trusted CI job",
    )


def calibrate_options(o: Options) -> CalibrateOptions:
    """The one place ``ttfb calibrate``'s options become the pipeline's."""
    root = common.root(o)
    names = [o.scenario] if o.scenario else None
    return CalibrateOptions(
        root=root,
        scenarios=common.chosen_scenarios(o, names, o.all, root, what="calibrate"),
        # a job that only records runs the measured code: it holds no history
        store=replace(common.store(root, db=o, runner=o), record=not o.record_only, learn=False)
        if o.record_only
        else common.store(root, db=o, runner=o),
        every=o.all,
        pairs=o.pairs,
        compares_per_week=o.compares_per_week,
        record_only=o.record_only,
        aa_logs=tuple(Path(x) for x in o.aa_log or ()),
        outputs=OutputPaths(samples=common.path_or_none(o.samples)),
        settings=CalibrationSettings(
            fp_per_week=o.fp_per_week,
            thresholds=o.thresholds,
            shifts=o.shifts,
            aa_trials=o.aa_trials,
            shift_trials=o.shift_trials,
            family_size=o.family_size,
            quiet_phase=o.quiet_phase,
            alpha=o.alpha,
            max_pairs=o.max_pairs,
            seed=o.seed,
        ),
        fake=common.path_or_none(o.fake),
    )


def run(o: Options) -> int:
    opts = calibrate_options(o)
    done = calibrate(opts, progress=common.say)
    for c in done:
        if c.calibration is None:
            print(f"{c.scenario}: {c.note}")
        else:
            print(calibration_text(c.calibration, c.note), end="")
    if o.json:
        write_json(o.json, calibration_json(done, opts.store.runner_label))
    return 0


NAME = "calibrate"
HELP = "A/A runs → noise → the threshold your false-positive budget allows"
DESCRIPTION = METHOD


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
