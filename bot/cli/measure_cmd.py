"""``ttfb measure``: N fresh-process samples of a scenario or of any command after ``--``."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .. import git
from ..ab.arms import Arm
from ..ab.sampling import count_instructions, import_profile, measurement_json, run_samples
from ..ab.targets import Overrides, gpu_skip_reason, needs_of, scenario_job
from ..errors import ConfigError, UsageError
from ..model import Executor, Job, Sample
from ..report.measure_view import render_measure
from ..scenarios import Scenario
from ..stats.summary import summarize
from ..store.records import RunRecord, SampleRow
from ..store.versioned import SampleLog, write_json
from . import common


def _targets(args: argparse.Namespace, root: Path) -> list[tuple[str, Job | None, str]]:
    """(name, job or None when skipped, skip reason) for each thing to measure."""
    overrides = Overrides(
        timeout_s=args.timeout,
        stop=args.stop,
        detect=args.first_batch,
        **common.prepare_overrides(args),
    )
    python = args.python or sys.executable
    if args.command:
        if args.scenario or args.all:
            raise UsageError("measure: give --scenario/--all or a command after --, not both")
        argv = args.command[1:] if args.command[0] == "--" else args.command
        if not argv:
            raise UsageError("measure: the command after -- is empty")
        label = shlex.join([Path(argv[0]).name, *argv[1:]])
        label = label if len(label) <= 60 else label[:57] + "..."
        if not args.python and args_python(argv):
            python = shutil.which(argv[0]) or python  # what the unmodified command would run
        arm = Arm("measure", label, Path.cwd(), python, argv=tuple(argv), source=Path.cwd())
        prepared = _prepared_job(arm, None, overrides, root, overrides_python=bool(args.python))
        return [(label, *prepared)]
    if not (args.all or args.scenario):
        raise UsageError("measure: give --scenario NAME, --all, or a command after --")
    targets: list[tuple[str, Job | None, str]] = []
    for scenario in common.chosen_scenarios(args, common.scenarios_dir(args, root), what="measure"):
        skip = gpu_skip_reason(scenario)
        if skip:
            targets.append((scenario.name, None, skip))
            continue
        arm = Arm("measure", scenario.name, root, python, source=root)
        targets.append((scenario.name, *_prepared_job(arm, scenario, overrides, root)))
    return targets


def _prepared_job(
    arm: Arm,
    scenario: Scenario | None,
    overrides: Overrides,
    root: Path,
    *,
    overrides_python: bool = False,
) -> tuple[Job | None, str]:
    """The job after the arm's setup and environment; (None, why) when that failed."""
    name = scenario.name if scenario else arm.label
    try:
        ready = (
            common.preparer()
            .prepare(arm, needs_of(scenario, overrides, source=root), name=name)
            .arm
        )
        if scenario is None:
            job = Job(argv=arm.argv or (), cwd=arm.root, root=root, env=dict(ready.env))
            if args_python(job.argv) and (overrides_python or ready.python != arm.python):
                job = replace(job, argv=(ready.python, *job.argv[1:]))
            return overrides.apply(job), ""
        job = scenario_job(scenario, root=root, python=ready.python, env=ready.env)
        return overrides.apply(job), ""
    except ConfigError as exc:
        return None, f"broken: {exc}"


def args_python(argv: Sequence[str]) -> bool:
    return bool(argv) and argv[0] in ("python", "python3")


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    targets = _targets(args, root)
    executor = common.executor(args)
    recorder = common.recorder(args, root) if not args.command else None
    summaries, all_samples = [], {}
    extras: dict[str, list[str]] = {}
    for name, job, skip in targets:
        if job is None and skip.startswith("broken: "):
            failed = [Sample("crashed", error=skip[len("broken: ") :])]
            summaries.append(summarize(name, failed))
            continue
        if job is None:
            summaries.append(summarize(name, [], skipped=skip))
            continue
        log_path = common.samples_path(args, name, several=len(targets) > 1)
        meta = {"command": "measure", "name": name, "argv": list(job.argv), "cwd": str(job.cwd)}
        with SampleLog(log_path, meta) as log:
            warmups, samples = run_samples(
                job,
                runs=args.runs,
                warmup=args.warmup,
                executor=executor,
                log=log,
                progress=common.progress(name),
            )
        if recorder is not None:
            recorder.record(
                RunRecord(
                    "measure",
                    name,
                    head_rev=git.head_revision(root),
                    samples=tuple(SampleRow("", "sample", i, s) for i, s in enumerate(samples)),
                )
            )
        failed_warmup = [w for w in warmups if not w.ok]
        extras[name] = _extras(args, executor, job) if samples else []
        summaries.append(summarize(name, samples or failed_warmup))
        all_samples[name] = samples or failed_warmup
        sys.stderr.write(f"{name}: samples in {log_path}\n")
    print(render_measure(summaries), end="")
    for name, lines in extras.items():
        for line in lines:
            print(f"{name}: {line}" if len(extras) > 1 else line)
    if args.json:
        meta = {"root": str(root), "runs": args.runs, "warmup": args.warmup}
        write_json(args.json, measurement_json(summaries, all_samples, meta))
    return 1 if any(s.failed for s in summaries) else 0


def _extras(args: argparse.Namespace, executor: Executor, job: Job) -> list[str]:
    """The ``--instructions`` and ``--importtime`` lines for one measured job."""
    lines = []
    if args.instructions:
        counting, note = common.counting(args, executor, [None])
        if note:
            common.say(note)
        if counting is not None:
            lines.append(count_instructions(counting.counter, job))
    if args.importtime:
        lines.append(import_profile(executor, job))
    return lines


NAME = "measure"
HELP = "N fresh-process samples of a scenario or of any command after --"
DESCRIPTION = "Measure TTFB of a scenario, or of any unmodified command after --."


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable")
    p.add_argument("--all", action="store_true", help="every scenario in --scenarios-dir")
    p.add_argument(
        "--runs", type=common.positive_int, default=5, help="measured samples (default 5)"
    )
    p.add_argument(
        "--warmup", type=common.nonneg_int, default=1, help="discarded samples (default 1)"
    )
    p.add_argument(
        "--timeout", type=common.positive_float, metavar="S", help="hard timeout per sample"
    )
    common.add_prepare_args(p, inputs=False)
    p.add_argument(
        "--instructions",
        action="store_const",
        const="on",
        help="also count CPU work to first batch: instructions, 2 runs under valgrind or perf",
    )
    p.add_argument(
        "--instructions-backend", choices=("auto", "perf", "valgrind", "callgrind"), default="auto"
    )
    p.add_argument("--importtime", action="store_true", help="also list the 15 slowest imports")
    p.add_argument(
        "--python", metavar="PATH", help="interpreter `python` means in a scenario or command"
    )
    p.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    p.add_argument("--stop", type=common.parse_stop, help="first_batch (default), exit or steps:K")
    p.add_argument("--samples", metavar="PATH", help="JSONL sample log (default under .ttfb/)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    common.add_depmap_args(p)
    common.add_history_args(p, no_history="do not record this run")
