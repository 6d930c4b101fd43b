"""The ``ttfb`` command line. Thin: parse arguments, call core functions, print.

Each command lives in its own module here, ``<NAME>_cmd`` (``NAMES``): ``NAME``, ``HELP``
(and ``DESCRIPTION``), an ``Options`` dataclass of typed options (``bot.cli.args``), the one
function that turns them into the pipeline's typed input, and a ``run``; ``arguments``
registers them (a command with subcommands registers each). Every command takes ``--json
PATH``. A ``TTFBError`` prints ``error: …`` on one line and exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType

from .. import __version__
from ..errors import TTFBError
from .args import parse_options

# Each command's module is bot.cli.<NAME>_cmd, in the order `ttfb --help` lists them. A run of
# one command imports that module alone: all of them would pull in every layer (PyGithub,
# jsonschema, plotting) and double the start of `ttfb compare` (0.6 s against 0.3 s).
NAMES = (
    "init",
    "measure",
    "compare",
    "report",
    "shrink",
    "select",
    "depmap",
    "bisect",
    "calibrate",
    "history",
    "dashboard",
    "gh",
    "demo",
)


def command(name: str) -> ModuleType:
    """The module of command ``name`` (``bot.cli.<name>_cmd``)."""
    return importlib.import_module(f"{__name__}.{name}_cmd")


def _named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` starts with (the only top-level options, ``--help`` and
    ``--version``, end the run, so a command after them needs every command's parser)."""
    return argv[0] if argv and argv[0] in NAMES else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: every command when it names none (``ttfb --help``, a typo),
    else the command it names alone."""
    parser = argparse.ArgumentParser(
        prog="ttfb", description="Measure and guard the time to first batch of training jobs."
    )
    parser.add_argument("--version", action="version", version=f"ttfb-lab {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    named = _named(sys.argv[1:] if argv is None else argv)
    for name in (named,) if named else NAMES:
        module = command(name)
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.arguments(p)
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
    parser = build_parser(argv)
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
