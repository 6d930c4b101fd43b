"""Typed command-line options: each command's options are one frozen dataclass.

A field declares its flag with ``option(...)``; ``add_options`` builds the parser from the
fields and ``parse_options`` turns the parsed namespace back into that dataclass. So every
option has one name, one type and one default, in one place, and code below reads
``opts.base``, which mypy checks: a misspelt option is a type error, never a silent
``getattr(args, "x", None)``.

Shared groups of options are mixins (``Common``, ``History``, ``Prepare`` …) combined by
inheritance (every class is ``kw_only``, so the order of defaults does not matter).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def option(*flags: str, default: Any = None, **kw: Any) -> Any:
    """A dataclass field that is a command-line option; no ``flags``: a positional argument.

    ``kw`` goes to ``add_argument``, except ``group``: options with the same group name are
    mutually exclusive."""
    return field(default=default, metadata={"flags": flags, "kw": kw})


def add_options(parser: argparse.ArgumentParser, cls: type[Any]) -> None:
    """Add an argument to ``parser`` for every option field of ``cls``."""
    groups: dict[str, Any] = {}
    for f in fields(cls):
        if "flags" not in f.metadata:
            continue
        kw = dict(f.metadata["kw"])
        group = kw.pop("group", None)
        target: Any = parser
        if group is not None:
            target = groups.setdefault(group, parser.add_mutually_exclusive_group())
        default = None if f.default is MISSING else f.default
        flags = f.metadata["flags"]
        if flags:
            target.add_argument(*flags, dest=f.name, default=default, **kw)
        else:
            target.add_argument(f.name, default=default, **kw)


def parse_options(cls: type[T], ns: argparse.Namespace) -> T:
    """The dataclass ``cls`` from a namespace that ``add_options(…, cls)`` parsed."""
    values = {f.name: getattr(ns, f.name) for f in fields(cls) if "flags" in f.metadata}  # type: ignore[arg-type]
    return cls(**values)


def register(
    parser: argparse.ArgumentParser, cls: type[T], run: Callable[[T], int]
) -> argparse.ArgumentParser:
    """Give ``parser`` the options of ``cls``, and remember to call ``run`` with them."""
    add_options(parser, cls)
    parser.set_defaults(options_class=cls, run=run)
    return parser


@dataclass(frozen=True, kw_only=True)
class Common:
    """Options every command has."""

    json: str | None = option("--json", metavar="PATH", help="write machine-readable results here")
    scenarios_dir: str = option(
        "--scenarios-dir", default="scenarios", metavar="DIR", help="where scenario YAML lives"
    )
    root: str | None = option(
        "--root", metavar="DIR", help="repository root (default: git top level)"
    )
    fake: str | None = option("--fake", metavar="SPEC", help=argparse.SUPPRESS)
