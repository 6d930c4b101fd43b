"""The ``ttfb`` command line. Thin: parse arguments, call core functions, print.

Each command lives in its own module here: ``NAME``, ``HELP`` (and ``DESCRIPTION``), its
``arguments`` and a ``run`` that turns them into keyword calls of the core; a command with
subcommands (``NESTED``) declares them in ``arguments``. Every command takes ``--json PATH``. A
``TTFBError`` prints ``error: …`` on one line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    measure_cmd,
    report_cmd,
    select_cmd,
    shrink_cmd,
)

COMMANDS = (
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

    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--json", metavar="PATH", help="write machine-readable results here")
    shared.add_argument(
        "--scenarios-dir", default="scenarios", metavar="DIR", help="where scenario YAML lives"
    )
    shared.add_argument("--root", metavar="DIR", help="repository root (default: git top level)")
    shared.add_argument("--fake", metavar="SPEC", help=argparse.SUPPRESS)
    for command in COMMANDS:
        nested = getattr(command, "NESTED", False)
        description = getattr(command, "DESCRIPTION", None)
        p = sub.add_parser(
            command.NAME,
            parents=[] if nested else [shared],
            help=command.HELP,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if nested:
            command.arguments(p, [shared])
        else:
            command.arguments(p)
            p.set_defaults(func=command.run)
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
