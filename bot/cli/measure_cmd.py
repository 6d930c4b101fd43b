"""``ttfb measure``: N fresh-process samples of a scenario or of any command after ``--``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..model import CounterBackend
from ..pipeline.measuring import measure
from ..pipeline.options import MeasureOptions, OutputPaths
from ..report.measure_view import render_measure
from . import args, common, profile_args
from .args import Common, option


@dataclass(frozen=True, kw_only=True)
class Options(
    Common,
    common.Chosen,
    common.JobSettings,
    common.Prepare,
    common.Learn,
    common.Db,
    common.NoHistory,
    profile_args.ProfileFlags,
):
    runs: int = option(
        "--runs", type=common.positive_int, default=5, help="measured samples (default 5)"
    )
    warmup: int = option(
        "--warmup", type=common.nonneg_int, default=1, help="discarded samples (default 1)"
    )
    instructions: bool = option(
        "--instructions",
        default=False,
        action="store_true",
        help="also count CPU work to first batch: instructions, 2 runs under valgrind or perf",
    )
    instructions_backend: CounterBackend = option(
        "--instructions-backend",
        type=common.counter_backend,
        default="auto",
        metavar="{auto,perf,valgrind,callgrind}",
        help=common.BACKEND_HELP,
    )
    importtime: bool = option(
        "--importtime",
        default=False,
        action="store_true",
        help="also list the 15 slowest imports",
    )
    profile: bool = option(
        "--profile",
        default=False,
        action="store_true",
        help="also profile the path to the first batch: its top functions and a flame graph",
    )
    profile_out: str | None = option(
        "--profile-out",
        metavar="PATH",
        help="the flame graph's HTML file (default under .ttfb/profiles/)",
    )
    python: str | None = option(
        "--python", metavar="PATH", help="interpreter `python` means in a scenario or command"
    )
    samples: str | None = option(
        "--samples", metavar="PATH", help="JSONL sample log (default under .ttfb/)"
    )
    command: list[str] | None = option(nargs=argparse.REMAINDER, help="-- CMD ARGS...")


def measure_options(o: Options) -> MeasureOptions:
    """The one place ``ttfb measure``'s options become the pipeline's."""
    root = common.root(o)
    command = common.command_tail(o.command, what="measure")
    if command and (o.scenario or o.all):
        raise UsageError("measure: give --scenario/--all or a command after --, not both")
    if not command and not (o.scenario or o.all):
        raise UsageError("measure: give --scenario NAME, --all, or a command after --")
    scenarios = (
        () if command else common.chosen_scenarios(o, o.scenario, o.all, root, what="measure")
    )
    return MeasureOptions(
        root=root,
        store=common.store(root, db=o, no_history=o, depmap=o),
        scenarios=scenarios,
        command=command,
        cwd=Path.cwd(),
        runs=o.runs,
        warmup=o.warmup,
        python=o.python,
        overrides=common.overrides(o, o),
        instructions=o.instructions,
        backend=o.instructions_backend,
        importtime=o.importtime,
        profile=profile_args.settings(o) if o.profile else None,
        profile_out=common.path_or_none(o.profile_out),
        outputs=OutputPaths(
            json=common.path_or_none(o.json), samples=common.path_or_none(o.samples)
        ),
        fake=common.path_or_none(o.fake),
    )


def run(o: Options) -> int:
    measured = measure(measure_options(o), progress=common.say, shown=common.show_sample)
    print(render_measure(list(measured.summaries)), end="")
    for name, lines in measured.extras.items():
        for line in lines:
            print(f"{name}: {line}" if len(measured.extras) > 1 else line)
    return 1 if measured.failed else 0


NAME = "measure"
HELP = "N fresh-process samples of a scenario or of any command after --"
DESCRIPTION = "Measure TTFB of a scenario, or of any unmodified command after --."


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
