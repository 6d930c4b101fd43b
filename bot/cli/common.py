"""Helpers shared by the command modules: argument types, roots, executors, progress."""

from __future__ import annotations

import argparse
import atexit
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .. import git, probe
from ..ab.counting import Counting, resolve_counting
from ..ab.prepare import Preparer
from ..ab.sampling import SampleProgress
from ..errors import UsageError
from ..exec import host
from ..exec.process import ProcessExecutor
from ..exec.scripted import ScriptedExecutor
from ..model import Executor, Sample
from ..report.fmt import fmt_s
from ..scenarios import Input, Scenario, find, load_all
from ..store import depmap_db, history_db, thresholds
from ..store.recorder import Recorder


def say(line: str) -> None:
    """A progress line for people, on stderr."""
    print(line, file=sys.stderr, flush=True)


def progress(name: str) -> SampleProgress:
    tty = sys.stderr.isatty()

    def show(i: int, n: int, sample: Sample) -> None:
        value = fmt_s(sample.ttfb_s) if sample.ok else sample.status
        line = f"{name}  sample {i}/{n}  {value}"
        if tty:
            end = "\n" if i == n else ""
            sys.stderr.write(f"\r\033[K{line}{end}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def executor(args: argparse.Namespace) -> Executor:
    """Real processes, or scripted timings with the hidden ``--fake SPEC`` flag (tests)."""
    if getattr(args, "fake", None):
        return ScriptedExecutor.from_file(args.fake)
    return ProcessExecutor()


def root(args: argparse.Namespace) -> Path:
    if args.root:
        return Path(args.root).resolve()
    return git.toplevel(Path.cwd()) or Path.cwd()


def samples_path(args: argparse.Namespace, name: str, *, several: bool) -> Path:
    """Where the JSONL sample log goes: --samples, next to --json, or under .ttfb/samples/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:48] or "command"
    if args.samples or args.json:
        path = Path(args.samples) if args.samples else Path(args.json).with_suffix(".samples.jsonl")
        return path.with_name(f"{path.stem}-{name}{path.suffix}") if several else path
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Path(".ttfb") / "samples" / f"measure-{name}-{stamp}.jsonl"


def parse_stop(value: str) -> str:
    if value in ("first_batch", "exit") or (
        value.startswith("steps:") and value[6:].isdigit() and int(value[6:]) > 0
    ):
        return value
    raise argparse.ArgumentTypeError("expected first_batch, exit or steps:K (K >= 1)")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def nonneg_int(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}")
    return int(value)


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def percent_list(value: str) -> tuple[float, ...]:
    """``2,3,5`` → (2.0, 3.0, 5.0): positive percentages, comma-separated."""
    return tuple(positive_float(v.strip().rstrip("%")) for v in value.split(",") if v.strip())


def nonneg_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value!r}")
    return number


def probability(value: str) -> float:
    number = nonneg_float(value)
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value!r}")
    return number


def fraction(value: str) -> float:
    number = nonneg_float(value)
    if number > 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {value!r}")
    return number


def detect_mode(value: str) -> str:
    """A first-batch detection mode: auto, mark, forward, dataloader or mark:NAME."""
    if value in probe.DETECT_MODES or (
        value.startswith("mark:") and re.fullmatch(r"[A-Za-z0-9_.-]+", value[5:])
    ):
        return value
    raise argparse.ArgumentTypeError("expected auto, mark, forward, dataloader or mark:NAME")


RUNNER_HELP = "runner label for calibrations (default $TTFB_LAB_RUNNER or local:<host>)"


def add_history_args(
    p: argparse.ArgumentParser, *, no_history: str | None = None, runner: bool = False
) -> None:
    """``--db`` and, where the command has them, ``--no-history`` (its help) and ``--runner``."""
    p.add_argument("--db", metavar="PATH", help="history database (default .ttfb/history.sqlite)")
    if no_history:
        p.add_argument("--no-history", action="store_true", help=no_history)
    if runner:
        p.add_argument("--runner", help=RUNNER_HELP)


def add_prepare_args(p: argparse.ArgumentParser, *, inputs: bool = True) -> None:
    """How each arm is made ready before sampling: inputs, setup, per-arm environments."""
    if inputs:
        p.add_argument(
            "--input",
            action="append",
            metavar="GLOB",
            help="untracked/ignored files to link into each arm's worktree (repeatable)",
        )
        p.add_argument(
            "--copy-inputs", action="store_true", help="copy the --input files instead of linking"
        )
    p.add_argument(
        "--setup",
        metavar="CMD",
        help="run once per arm before the warm-up, e.g. 'pip install -e .' (not TTFB)",
    )
    p.add_argument(
        "--arm-envs",
        action="store_true",
        help="a virtual environment per arm from its own dependency files (cached)",
    )
    p.add_argument(
        "--env-file",
        action="append",
        metavar="FILE",
        help="dependency file for --arm-envs (repeatable; default: requirements*.txt, "
        "pyproject.toml, uv.lock found in the checkout)",
    )


@cache
def preparer() -> Preparer:
    """One preparer per process, its layers under a temporary directory removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="ttfb-prepare-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return Preparer(path, progress=say)


def prepare_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Overrides`` fields ``add_prepare_args`` set."""
    setup: tuple[str, ...] = ()
    if args.setup:
        try:
            setup = tuple(shlex.split(args.setup))
        except ValueError as exc:
            raise UsageError(f"--setup: cannot split {args.setup!r}: {exc}") from None
        if not setup:
            raise UsageError("--setup: empty command")
    copy = bool(getattr(args, "copy_inputs", False))
    inputs = []
    for pattern in getattr(args, "input", None) or ():
        if pattern.startswith(("/", "~")) or ".." in Path(pattern).parts:
            raise UsageError(f"--input: {pattern!r} must be relative to the repository root")
        inputs.append(Input(pattern, copy))
    return {
        "inputs": tuple(inputs),
        "setup": setup,
        "arm_envs": bool(args.arm_envs or args.env_file),
        "env_files": tuple(args.env_file or ()),
    }


def add_instructions_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--instructions",
        choices=("auto", "on", "off"),
        help="count CPU work to first batch (instructions, under valgrind or perf); "
        "default: each scenario's setting (auto: when a backend is available)",
    )
    p.add_argument(
        "--instructions-backend",
        choices=("auto", "perf", "valgrind", "callgrind"),
        default="auto",
        help="which counter (default auto: perf where the host has counters, else valgrind's "
        "callgrind; valgrind: cachegrind, faster, counts forked workers' inherited work again)",
    )


def counting(
    args: argparse.Namespace, executor: Executor, scenarios: Sequence[Scenario | None]
) -> tuple[Counting | None, str]:
    """The instruction counter for this run (``--instructions``, else the scenarios' own),
    and the line that says which."""
    return resolve_counting(
        args.instructions,
        scenarios,
        executor=executor,
        backend=args.instructions_backend,
        workdir=preparer().workdir,
    )


def add_alpha(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha",
        type=probability,
        default=0.01,
        help="family-wise significance level (default 0.01)",
    )


def add_depmap_args(p: argparse.ArgumentParser, *, record: bool = True) -> None:
    """``--depmap PATH`` and, for commands that learn it, ``--no-depmap``."""
    p.add_argument(
        "--depmap",
        metavar="PATH",
        help="dependency map: a history database or a .json file (default: the history)",
    )
    if record:
        p.add_argument("--no-depmap", action="store_true", help="do not record imported files")


def db_path(args: argparse.Namespace, root_: Path) -> Path:
    """The history database: ``--db``, else the default under ``root_``."""
    return Path(args.db) if args.db else history_db.default_path(root_)


def recorder(args: argparse.Namespace, root_: Path) -> Recorder:
    """Where this command's runs go: ``--db``/``--no-history``, ``--depmap``/``--no-depmap``."""
    no_history = getattr(args, "no_history", False)
    no_depmap = getattr(args, "no_depmap", False)
    dm = getattr(args, "depmap", None)
    return Recorder(
        history=None if no_history else db_path(args, root_),
        depmap=None if no_depmap else (Path(dm) if dm else depmap_db.default_path(root_)),
        runner=thresholds.runner_label(getattr(args, "runner", None)),
        machine=host.machine_facts(),
    )


def threshold(args: argparse.Namespace, root_: Path) -> thresholds.Threshold:
    """The threshold lookup: ``--threshold-pct``, else the calibration in the history."""
    no_history = getattr(args, "no_history", False)
    return thresholds.resolver(
        None if no_history else db_path(args, root_),
        thresholds.runner_label(getattr(args, "runner", None)),
        override_pct=getattr(args, "threshold_pct", None),
    )


def scenarios_dir(args: argparse.Namespace, root_: Path) -> Path:
    """``--scenarios-dir``: relative to the repository root, or else to the working directory
    (the two are the same when ttfb runs at the root, as it usually does)."""
    path = Path(args.scenarios_dir)
    if path.is_absolute() or (root_ / path).is_dir() or not path.is_dir():
        return root_ / path
    return path.resolve()


def chosen_scenarios(args: argparse.Namespace, directory: Path, *, what: str) -> list[Scenario]:
    """``--all`` or the ``--scenario`` names/paths; neither is a usage error naming ``what``."""
    if args.all:
        return load_all(directory)
    if args.scenario:
        names = args.scenario if isinstance(args.scenario, list) else [args.scenario]
        return [find(name, directory) for name in names]
    raise UsageError(f"{what}: give --scenario NAME or --all")
