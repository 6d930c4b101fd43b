"""``ttfb init``: a scenario file for a training command, from one run of it where you stand."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..pipeline.scaffolding import InitOptions, init
from . import args, common
from .args import Common, option


@dataclass(frozen=True, kw_only=True)
class Options(Common):
    name: str | None = option(
        "--name", metavar="NAME", help="the scenario's name (default: from the script and folder)"
    )
    force: bool = option(
        "--force", default=False, action="store_true", help="replace an existing scenario file"
    )
    python: str | None = option(
        "--python", metavar="PATH", help="interpreter `python` means in the command"
    )
    timeout: float = option(
        "--timeout",
        type=common.positive_float,
        default=300.0,
        metavar="S",
        help="how long the one run may take to its first batch (default 300)",
    )
    command: list[str] | None = option(nargs=argparse.REMAINDER, help="-- CMD ARGS...")


def init_options(o: Options) -> InitOptions:
    """The one place ``ttfb init``'s options become the pipeline's."""
    command = common.command_tail(o.command, what="init")
    if not command:
        raise UsageError("init: give the training command after --")
    root = common.root(o)
    return InitOptions(
        root=root,
        cwd=Path.cwd(),
        command=command,
        scenarios_dir=common.scenarios_dir(o, root),
        name=o.name,
        force=o.force,
        python=o.python,
        timeout_s=o.timeout,
    )


def run(o: Options) -> int:
    made = init(init_options(o), progress=common.say)
    print(made.text, end="")
    for note in made.notes:
        print(f"  {note}", file=sys.stderr)
    shown = made.path.relative_to(Path.cwd()) if made.path.is_relative_to(Path.cwd()) else made.path
    name = made.path.stem
    # a scenario's `python` is the interpreter running ttfb: name the one this run used
    used = shlex.quote(made.python) if made.python else ""
    pick = f" --python {used}" if used else ""
    both = f" --base-python {used} --head-python {used}" if used else ""
    print(
        f"wrote {shown}; next: ttfb measure --scenario {name}{pick}, then "
        f"ttfb compare --scenario {name}{both} (base: the merge-base with your default branch)",
        file=sys.stderr,
    )
    return 0


NAME = "init"
HELP = "write a scenario for a training command, from one run of it"
DESCRIPTION = (
    "Run a training command once, to its first batch, where you stand, and write "
    "scenarios/NAME.yaml from what the run showed: its folder, the untracked files it read, "
    "whether shrink --auto applies, a GPU runner if it used CUDA, and its cost."
)


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
