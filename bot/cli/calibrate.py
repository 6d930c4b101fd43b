"""``ttfb calibrate``: A/A runs → noise → ROC by simulation → the threshold compare will use."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from .. import calibrate, depmap, git, history, hostinfo, measure, results, thresholds
from ..errors import UsageError
from ..render import text_table
from ..runner import Scheduler, plan_looks
from ..scenarios import Scenario, find, load_all
from ..verdict import Policy
from . import common

CALIBRATE_VERSION = 1


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    if args.all:
        chosen = load_all(args.scenarios_dir)
    elif args.scenario:
        chosen = [find(args.scenario, args.scenarios_dir)]
    else:
        raise UsageError("calibrate: give --scenario NAME or --all")
    runner = thresholds.runner_label(args.runner)
    db_path = common.db_path(args, root)
    done = []
    with history.History(db_path) as hist:
        for scenario in chosen:
            skip = measure.gpu_skip_reason(scenario)
            if skip and args.all:
                print(f"{scenario.name}: skipped, {skip}")
                continue
            if skip:
                raise UsageError(f"calibrate: {scenario.name}: {skip}")
            done.append(
                calibrate_one(args, scenario, hist, root=root, runner=runner, db_path=db_path)
            )
    if args.json:
        doc = {"version": CALIBRATE_VERSION, "kind": "ttfb-calibration", "runner": runner}
        results.write_json(args.json, {**doc, "scenarios": done})
    return 0


def calibrate_one(
    args: argparse.Namespace,
    scenario: Scenario,
    hist: history.History,
    *,
    root: Path,
    runner: str,
    db_path: Path,
) -> dict[str, Any]:
    """Record A/A pairs (unless --pairs 0), simulate, choose, store, print; returns the values."""
    if args.pairs:
        job = measure.scenario_job(scenario, root=root)
        sched = Scheduler(job, job, executor=common.executor(args), name=scenario.name)
        _, broken = sched.warm_up()
        if broken:
            raise UsageError(f"calibrate: {scenario.name}: {broken}")
        rows = []
        for b in range((args.pairs + 1) // 2):
            pairs, broken = sched.block(b, reverse=False, stage="aa")
            if broken:
                raise UsageError(f"calibrate: {scenario.name}: {broken}")
            rows += history.record_pairs(pairs, stage="aa")
            print(f"{scenario.name}: A/A block {b + 1}/{(args.pairs + 1) // 2}", file=sys.stderr)
        revision = git.head_revision(root)
        run_id = hist.record_run(
            "calibrate",
            scenario=scenario.name,
            base_rev=revision,
            head_rev=revision,
            runner=runner,
            machine=hostinfo.machine_facts(),
            samples=rows,
        )
        # A/A runs on the default branch are the best time to learn what the scenario reads
        depmap.record_samples(db_path, scenario.name, [s for *_, s in rows], revision=revision)
    else:
        run_id = None
    blocks = hist.aa_blocks(scenario.name, runner)
    if len(blocks) < 3:
        raise UsageError(
            f"calibrate: {len(blocks)} A/A blocks of {scenario.name} on "
            f"{runner!r} in {db_path}; run with --pairs to record more"
        )
    noise = calibrate.noise(blocks)
    per_week = (
        args.compares_per_week or hist.compares_per_week() or thresholds.DEFAULT_COMPARES_PER_WEEK
    )
    policy = Policy(alpha=args.alpha, looks=plan_looks(10, args.max_pairs))
    print(f"{scenario.name}: simulating compares on {len(blocks)} A/A blocks…", file=sys.stderr)
    roc = calibrate.simulate_roc(
        blocks,
        policy=policy,
        thresholds=args.thresholds,
        shifts=args.shifts,
        aa_trials=args.aa_trials,
        shift_trials=args.shift_trials,
        family_size=args.family_size,
        quiet_phase=args.quiet_phase,
        seed=args.seed,
    )
    choice = calibrate.choose(
        roc,
        fp_per_week=args.fp_per_week,
        compares_per_week=per_week,
        floor_pct=scenario.floor_pct,
    )
    point = choice.point
    power = {k: v for k, v in (point.power if point else {}).items()}
    values = {
        "pairs": noise.pairs,
        "sd_total": noise.sd_total,
        "sd_cpu": noise.sd_cpu,
        "sd_phases": noise.sd_phases,
        "threshold_pct": choice.threshold_pct,
        "fp_per_week": args.fp_per_week,
        "compares_per_week": per_week,
        "fp_rate": point.fp_rate if point else None,
        "power": power,
        "roc": [
            {
                "threshold_pct": r.threshold_pct,
                "fp_rate": r.fp_rate,
                "fp_upper": r.fp_upper,
                "trials": r.trials,
                "power": r.power,
            }
            for r in roc
        ],
        "reason": choice.reason,
    }
    hist.save_calibration(scenario=scenario.name, runner=runner, run_id=run_id, values=values)
    _, note = thresholds.describe({**values, "runner": runner}, floor=scenario.floor_pct)
    table = (
        [
            [
                "threshold",
                "A/A false positives",
                "95% upper",
                *[f"power {k}%" for k in sorted(roc[0].power, key=calibrate.power_key)],
            ]
        ]
        if roc
        else []
    )
    for r in roc:
        table.append(
            [
                f"{r.threshold_pct:g}%",
                f"{r.false_positives}/{r.trials}",
                f"{r.fp_upper:.1%}",
                *[f"{r.power[k]:.0%}" for k in sorted(r.power, key=calibrate.power_key)],
            ]
        )
    print(
        f"{scenario.name} on {runner}: {noise.pairs} A/A pairs, paired sd "
        f"{noise.sd_total_pct:.1f}% (TTFB)"
        + (f", {math.expm1(noise.sd_cpu) * 100:.1f}% (CPU)" if noise.sd_cpu else "")
    )
    print(text_table(table, indent=2))
    print(f"chosen: {note}; {choice.reason}")
    return {"scenario": scenario.name, **values}


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "calibrate",
        parents=parents,
        help="A/A runs → noise → the threshold your false-positive budget allows",
        description=calibrate.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--scenario", metavar="NAME_OR_PATH")
    c.add_argument("--all", action="store_true", help="every scenario this machine can run")
    c.add_argument(
        "--pairs",
        type=common.nonneg_int,
        default=40,
        help="new A/A pairs to record (0: reuse the stored ones)",
    )
    c.add_argument("--fp-per-week", type=common.positive_float, default=1.0)
    c.add_argument(
        "--compares-per-week", type=common.positive_float, help="default: from history, else 50"
    )
    c.add_argument(
        "--thresholds",
        type=common.percent_list,
        default=calibrate.DEFAULT_THRESHOLDS,
        metavar="PCTS",
        help="candidate thresholds, e.g. 2,3,5,8,12 (the default)",
    )
    c.add_argument(
        "--shifts",
        type=common.percent_list,
        default=calibrate.DEFAULT_SHIFTS,
        metavar="PCTS",
        help="planted regressions for the power table (default 3,5,10)",
    )
    c.add_argument("--aa-trials", type=common.positive_int, default=200)
    c.add_argument("--shift-trials", type=common.positive_int, default=20)
    c.add_argument(
        "--family-size",
        type=common.positive_int,
        default=1,
        help="scenarios compared together in a typical run",
    )
    c.add_argument(
        "--quiet-phase",
        default="interpreter_ready",
        help="phase after which the localised delays of the power table go",
    )
    c.add_argument("--alpha", type=common.probability, default=0.01)
    c.add_argument("--max-pairs", type=common.positive_int, default=80)
    c.add_argument("--seed", type=int, default=0)
    common.add_history_args(c, runner=True)
    c.set_defaults(func=run)
