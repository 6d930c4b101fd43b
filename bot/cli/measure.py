"""``ttfb measure``: N fresh-process samples of a scenario or of any command after ``--``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .. import depmap, git, history, hostinfo, measure, report, results, thresholds
from ..errors import UsageError
from ..sample import Job
from ..scenarios import Scenario, find, load_all
from . import common


def _targets(args: argparse.Namespace, root: Path) -> list[tuple[str, Job | None, str]]:
    """(name, job or None when skipped, skip reason) for each thing to measure."""
    if args.command:
        if args.scenario or args.all:
            raise UsageError("measure: give --scenario/--all or a command after --, not both")
        argv = args.command[1:] if args.command[0] == "--" else args.command
        if not argv:
            raise UsageError("measure: the command after -- is empty")
        job = Job(
            argv=tuple(argv),
            cwd=Path.cwd(),
            timeout_s=args.timeout or 300.0,
            stop=args.stop or "first_batch",
            detect=args.first_batch or "auto",
            root=root,
        )
        label = shlex.join([Path(argv[0]).name, *argv[1:]])
        return [(label if len(label) <= 60 else label[:57] + "...", job, "")]
    if args.all:
        chosen: list[Scenario] = load_all(args.scenarios_dir)
    elif args.scenario:
        chosen = [find(name, args.scenarios_dir) for name in args.scenario]
    else:
        raise UsageError("measure: give --scenario NAME, --all, or a command after --")
    targets: list[tuple[str, Job | None, str]] = []
    for scenario in chosen:
        skip = measure.gpu_skip_reason(scenario)
        if skip:
            targets.append((scenario.name, None, skip))
            continue
        job = measure.scenario_job(
            scenario, root=root, python=args.python or sys.executable, timeout_s=args.timeout
        )
        if args.first_batch:
            job = Job(**{**job.__dict__, "detect": args.first_batch})
        if args.stop:
            job = Job(**{**job.__dict__, "stop": args.stop})
        targets.append((scenario.name, job, ""))
    return targets


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    targets = _targets(args, root)
    executor = common.executor(args)
    summaries, all_samples = [], {}
    is_scenario = not args.command
    for name, job, skip in targets:
        if job is None:
            summaries.append(measure.summarize(name, [], skipped=skip))
            continue
        log_path = common.samples_path(args, name, several=len(targets) > 1)
        meta = {"command": "measure", "name": name, "argv": list(job.argv), "cwd": str(job.cwd)}
        with results.SampleLog(log_path, meta) as log:
            warmups, samples = measure.run_samples(
                job,
                runs=args.runs,
                warmup=args.warmup,
                executor=executor,
                log=log,
                progress=common.progress(name),
            )
        if is_scenario and not args.no_depmap:
            depmap.record_samples(
                args.depmap or depmap.default_path(root),
                name,
                samples,
                revision=git.head_revision(root),
            )
        if is_scenario and not args.no_history:
            with history.History(common.db_path(args, root)) as hist:
                hist.record_run(
                    "measure",
                    scenario=name,
                    head_rev=git.head_revision(root),
                    runner=thresholds.runner_label(None),
                    machine=hostinfo.machine_facts(),
                    samples=[("", "sample", i, s) for i, s in enumerate(samples)],
                )
        failed_warmup = [w for w in warmups if not w.ok]
        summaries.append(measure.summarize(name, samples or failed_warmup))
        all_samples[name] = samples or failed_warmup
        sys.stderr.write(f"{name}: samples in {log_path}\n")
    print(report.render_measure(summaries), end="")
    if args.json:
        meta = {"root": str(root), "runs": args.runs, "warmup": args.warmup}
        results.write_json(args.json, measure.measurement_json(summaries, all_samples, meta))
    return 1 if any(s.failed for s in summaries) else 0


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    m = sub.add_parser(
        "measure",
        parents=parents,
        help="N fresh-process samples of a scenario or of any command after --",
        description="Measure TTFB of a scenario, or of any unmodified command after --.",
    )
    m.add_argument("--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable")
    m.add_argument("--all", action="store_true", help="every scenario in --scenarios-dir")
    m.add_argument(
        "--runs", type=common.positive_int, default=5, help="measured samples (default 5)"
    )
    m.add_argument(
        "--warmup", type=common.nonneg_int, default=1, help="discarded samples (default 1)"
    )
    m.add_argument(
        "--timeout", type=common.positive_float, metavar="S", help="hard timeout per sample"
    )
    m.add_argument("--python", metavar="PATH", help="interpreter for `python` in scenarios")
    m.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    m.add_argument("--stop", type=common.parse_stop, help="first_batch (default), exit or steps:K")
    m.add_argument("--samples", metavar="PATH", help="JSONL sample log (default under .ttfb/)")
    m.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    m.add_argument(
        "--depmap",
        metavar="PATH",
        help="dependency map: a history database or a .json file (default: the history)",
    )
    m.add_argument("--no-depmap", action="store_true", help="do not record imported files")
    common.add_history_args(m, no_history="do not record this run")
    m.set_defaults(func=run)
