"""What the command modules share: argument types, option groups (typed mixins), and the
conversions from options to the pipelines' typed inputs (roots, scenarios, store, overrides)."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import git, probe
from ..errors import UsageError
from ..model import COUNTER_BACKENDS, COUNTING_MODES, CounterBackend, CountingMode, Sample
from ..pipeline.options import Overrides, StoreOptions, input_from_here
from ..report.fmt import fmt_s
from ..scenarios import Input, Scenario, find, load_all
from .args import Common, option


def say(line: str) -> None:
    """A progress line for people, on stderr."""
    print(line, file=sys.stderr, flush=True)


def show_sample(name: str, i: int, n: int, sample: Sample) -> None:
    """One line per finished sample; rewritten in place on a terminal, plain lines in CI logs."""
    value = fmt_s(sample.ttfb_s) if sample.ok else sample.status
    line = f"{name}  sample {i}/{n}  {value}"
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{line}" + ("\n" if i == n else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


# --- argument types ------------------------------------------------------------------------


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
    raise argparse.ArgumentTypeError(
        "expected auto, mark, forward, dataloader, startup or mark:NAME"
    )


def counting_mode(value: str) -> CountingMode:
    for mode in COUNTING_MODES:
        if mode == value:
            return mode
    raise argparse.ArgumentTypeError(f"expected auto, on or off, got {value!r}")


def counter_backend(value: str) -> CounterBackend:
    for backend in COUNTER_BACKENDS:
        if backend == value:
            return backend
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(COUNTER_BACKENDS)}")


# --- option groups -------------------------------------------------------------------------

RUNNER_HELP = "runner label for calibrations (default $TTFB_LAB_RUNNER or local:<host>)"
BACKEND_HELP = (
    "which counter (default auto: perf where the host has counters, else valgrind's "
    "callgrind; valgrind: cachegrind, faster, counts forked workers' inherited work again)"
)


@dataclass(frozen=True, kw_only=True)
class Db:
    db: str | None = option(
        "--db", metavar="PATH", help="history database (default .ttfb/history.sqlite)"
    )


@dataclass(frozen=True, kw_only=True)
class NoHistory:
    no_history: bool = option(
        "--no-history", default=False, action="store_true", help="do not read or write history"
    )


@dataclass(frozen=True, kw_only=True)
class Runner:
    runner: str | None = option("--runner", help=RUNNER_HELP)


@dataclass(frozen=True, kw_only=True)
class Depmap:
    depmap: str | None = option(
        "--depmap",
        metavar="PATH",
        help="dependency map: a history database or a .json file (default: the history)",
    )


@dataclass(frozen=True, kw_only=True)
class Learn(Depmap):
    no_depmap: bool = option(
        "--no-depmap", default=False, action="store_true", help="do not record imported files"
    )


@dataclass(frozen=True, kw_only=True)
class Prepare:
    """How each arm is made ready before sampling: setup, per-arm environments."""

    setup: str | None = option(
        "--setup",
        metavar="CMD",
        help="run once per arm before the warm-up, e.g. 'pip install -e .' (not TTFB)",
    )
    arm_envs: bool = option(
        "--arm-envs",
        default=False,
        action="store_true",
        help="a virtual environment per arm from its own dependency files (cached)",
    )
    env_file: list[str] | None = option(
        "--env-file",
        action="append",
        metavar="FILE",
        help="dependency file for --arm-envs (repeatable; default: requirements*.txt, "
        "pyproject.toml, uv.lock found in the checkout)",
    )


@dataclass(frozen=True, kw_only=True)
class Inputs:
    input: list[str] | None = option(
        "--input",
        action="append",
        metavar="GLOB",
        help="untracked/ignored files to link into each arm's worktree (repeatable)",
    )
    copy_inputs: bool = option(
        "--copy-inputs",
        default=False,
        action="store_true",
        help="copy the --input files instead of linking",
    )


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    """Per-sample settings that win over a scenario's own."""

    timeout: float | None = option(
        "--timeout", type=positive_float, metavar="S", help="hard timeout per sample"
    )
    stop: str | None = option(
        "--stop", type=parse_stop, help="first_batch (default), exit or steps:K"
    )
    first_batch: str | None = option(
        "--first-batch", type=detect_mode, help="auto, mark, forward, dataloader or mark:NAME"
    )


@dataclass(frozen=True, kw_only=True)
class Alpha:
    alpha: float = option(
        "--alpha",
        type=probability,
        default=0.01,
        help="family-wise significance level (default 0.01)",
    )


@dataclass(frozen=True, kw_only=True)
class Chosen:
    scenario: list[str] | None = option(
        "--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable"
    )
    all: bool = option(
        "--all", default=False, action="store_true", help="every scenario in --scenarios-dir"
    )


# --- conversions ---------------------------------------------------------------------------


def root(o: Common) -> Path:
    if o.root:
        return Path(o.root).resolve()
    return git.toplevel(Path.cwd()) or Path.cwd()


def scenarios_dir(o: Common, root_: Path) -> Path:
    """``--scenarios-dir``: relative to the repository root, or else to the working directory
    (the two are the same when ttfb runs at the root, as it usually does)."""
    path = Path(o.scenarios_dir)
    if path.is_absolute() or (root_ / path).is_dir() or not path.is_dir():
        return root_ / path
    return path.resolve()


def chosen_scenarios(
    o: Common, names: list[str] | None, every: bool, root_: Path, *, what: str
) -> tuple[Scenario, ...]:
    """``--all`` or the ``--scenario`` names/paths; neither is a usage error naming ``what``."""
    directory = scenarios_dir(o, root_)
    if every:
        return tuple(load_all(directory))
    if names:
        return tuple(find(name, directory) for name in names)
    raise UsageError(f"{what}: give --scenario NAME or --all")


def store(
    root_: Path,
    *,
    db: Db | None = None,
    no_history: NoHistory | None = None,
    runner: Runner | None = None,
    depmap: Depmap | None = None,
) -> StoreOptions:
    """The history and dependency-map settings of the option groups a command has."""
    learn = not depmap.no_depmap if isinstance(depmap, Learn) else True
    return StoreOptions(
        root_,
        db=Path(db.db) if db and db.db else None,
        record=not (no_history and no_history.no_history),
        depmap=Path(depmap.depmap) if depmap and depmap.depmap else None,
        learn=learn,
        runner=runner.runner if runner else None,
    )


def overrides(
    job: JobSettings,
    prepare: Prepare,
    inputs: Inputs | None = None,
    counting: CountingMode | None = None,
    here: tuple[Path, Path] | None = None,
) -> Overrides:
    """The command-line settings that win over every scenario's own; ``here`` (root, the
    user's folder): ``--input`` globs may also be written from that folder (``input_from_here``)."""
    setup: tuple[str, ...] = ()
    if prepare.setup:
        try:
            setup = tuple(shlex.split(prepare.setup))
        except ValueError as exc:
            raise UsageError(f"--setup: cannot split {prepare.setup!r}: {exc}") from None
        if not setup:
            raise UsageError("--setup: empty command")
    chosen = []
    for pattern in (inputs.input if inputs else None) or ():
        if pattern.startswith(("/", "~")) or ".." in Path(pattern).parts:
            raise UsageError(f"--input: {pattern!r} must be relative to the repository root")
        pattern = input_from_here(pattern, *here) if here else pattern
        chosen.append(Input(pattern, bool(inputs and inputs.copy_inputs)))
    return Overrides(
        timeout_s=job.timeout,
        stop=job.stop,
        detect=job.first_batch,
        inputs=tuple(chosen),
        setup=setup,
        arm_envs=bool(prepare.arm_envs or prepare.env_file),
        env_files=tuple(prepare.env_file or ()),
        instructions=counting,
    )


def command_tail(items: list[str] | None, *, what: str) -> tuple[str, ...] | None:
    """The argument vector after ``--`` (kept as given: never joined and split again)."""
    if not items:
        return None
    argv = tuple(items[1:] if items[0] == "--" else items)
    if not argv:
        raise UsageError(f"{what}: the command after -- is empty")
    return argv


def path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None
