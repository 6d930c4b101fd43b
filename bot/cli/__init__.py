"""The ``ttfb`` command line. Thin: parse arguments, call core functions, print.

Each command lives in its own module here: ``NAME``, ``HELP`` (and ``DESCRIPTION``), an
``Options`` dataclass of typed options (``bot.cli.args``), the one function that turns them into
the pipeline's typed input, and a ``run``; ``arguments`` registers them (a command with
subcommands registers each). Every command takes ``--json PATH``. A ``TTFBError`` prints
``error: …`` on one line and exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from .. import __version__
from ..errors import TTFBError
from . import (
    bisect_cmd,
    calibrate_cmd,
    compare_cmd,
    dashboard_cmd,
    demo_cmd,
    depmap_cmd,
    gh_cmd,
    history_cmd,
    init_cmd,
    measure_cmd,
    report_cmd,
    select_cmd,
    shrink_cmd,
)
from .args import parse_options

COMMANDS = (
    init_cmd,
    measure_cmd,
    compare_cmd,
    report_cmd,
    shrink_cmd,
    select_cmd,
    depmap_cmd,
    bisect_cmd,
    calibrate_cmd,
    history_cmd,
    dashboard_cmd,
    gh_cmd,
    demo_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttfb", description="Measure and guard the time to first batch of training jobs."
    )
    parser.add_argument("--version", action="version", version=f"ttfb-lab {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=getattr(command, "DESCRIPTION", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.arguments(p)
    return parser


class Terminated(Exception):
    """SIGTERM arrived (a CI job cancelled, ``timeout``): unwind, so that every sample, count
    and setup running ends with its processes, as on Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        with _sigterm_unwinds():
            return int(ns.run(parse_options(ns.options_class, ns)))
    except TTFBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
