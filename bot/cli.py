"""The ``ttfb`` command line. Thin: parse arguments, call core functions, print.

Every command takes ``--json PATH``. A ``TTFBError`` prints ``error: …`` and exits 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__, git, measure, probe, report, results
from .errors import TTFBError, UsageError
from .sample import Executor, Job, ProcessExecutor, Sample
from .scenarios import Scenario, find, load_all


def _progress(name: str) -> measure.ProgressFn:
    tty = sys.stderr.isatty()

    def show(i: int, n: int, sample: Sample) -> None:
        value = report.fmt_s(sample.ttfb_s) if sample.ok else sample.status
        line = f"{name}  sample {i}/{n}  {value}"
        if tty:
            end = "\n" if i == n else ""
            sys.stderr.write(f"\r\033[K{line}{end}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def _executor(args: argparse.Namespace) -> Executor:
    return ProcessExecutor()


def _root(args: argparse.Namespace) -> Path:
    if args.root:
        return Path(args.root).resolve()
    return git.toplevel(Path.cwd()) or Path.cwd()


def _samples_path(args: argparse.Namespace, name: str) -> Path:
    if args.samples:
        return Path(args.samples)
    if args.json:
        return Path(args.json).with_suffix(".samples.jsonl")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Path(".ttfb") / "samples" / f"measure-{name}-{stamp}.jsonl"


def _parse_stop(value: str) -> str:
    if value in ("first_batch", "exit") or (
        value.startswith("steps:") and value[6:].isdigit() and int(value[6:]) > 0
    ):
        return value
    raise argparse.ArgumentTypeError("expected first_batch, exit or steps:K (K >= 1)")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _nonneg_int(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}")
    return int(value)


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def _measure_targets(args: argparse.Namespace, root: Path) -> list[tuple[str, Job | None, str]]:
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


def cmd_measure(args: argparse.Namespace) -> int:
    root = _root(args)
    targets = _measure_targets(args, root)
    executor = _executor(args)
    summaries, all_samples = [], {}
    for name, job, skip in targets:
        if job is None:
            summaries.append(measure.summarize(name, [], skipped=skip))
            continue
        log_path = _samples_path(args, name if len(targets) > 1 else "run")
        if len(targets) > 1:
            log_path = log_path.with_name(f"{log_path.stem}-{name}{log_path.suffix}")
        meta = {"command": "measure", "name": name, "argv": list(job.argv), "cwd": str(job.cwd)}
        with results.SampleLog(log_path, meta) as log:
            warmups, samples = measure.run_samples(
                job,
                runs=args.runs,
                warmup=args.warmup,
                executor=executor,
                log=log,
                progress=_progress(name),
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttfb", description="Measure and guard the time to first batch of training jobs."
    )
    parser.add_argument("--version", action="version", version=f"ttfb-lab {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", metavar="PATH", help="write machine-readable results here")
    common.add_argument(
        "--scenarios-dir", default="scenarios", metavar="DIR", help="where scenario YAML lives"
    )
    common.add_argument("--root", metavar="DIR", help="repository root (default: git top level)")

    m = sub.add_parser(
        "measure",
        parents=[common],
        help="N fresh-process samples of a scenario or of any command after --",
        description="Measure TTFB of a scenario, or of any unmodified command after --.",
    )
    m.add_argument("--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable")
    m.add_argument("--all", action="store_true", help="every scenario in --scenarios-dir")
    m.add_argument("--runs", type=_positive_int, default=5, help="measured samples (default 5)")
    m.add_argument("--warmup", type=_nonneg_int, default=1, help="discarded samples (default 1)")
    m.add_argument("--timeout", type=_positive_float, metavar="S", help="hard timeout per sample")
    m.add_argument("--python", metavar="PATH", help="interpreter for `python` in scenarios")
    m.add_argument("--first-batch", choices=probe.DETECT_MODES, help="first-batch detection")
    m.add_argument("--stop", type=_parse_stop, help="first_batch (default), exit or steps:K")
    m.add_argument("--samples", metavar="PATH", help="JSONL sample log (default under .ttfb/)")
    m.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    m.set_defaults(func=cmd_measure)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TTFBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
