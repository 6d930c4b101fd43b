"""A script's ``argparse`` options, read with ``ast`` (never executed). Pure.

The most common config style there is: ``parser.add_argument("--emsize", type=int,
default=200, help="size of word embeddings")``, the defaults living in the script. ``read``
finds every ``add_argument`` call with a long option and a literal ``default``, keyed by the
option's ``dest`` (as argparse makes it: ``--batch-size`` → ``batch_size``, or ``dest=``),
with the option as written (for a value appended to the command) and its ``help`` text (for
names ``auto`` does not know by their spelling). Flags (``store_true``…) carry no value to
shrink and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FLAG_ACTIONS = {"store_true", "store_false", "store_const", "count", "append_const", "help"}


@dataclass(frozen=True)
class Option:
    flag: str  # the long option as written ("--batch-size")
    value: Any  # the default
    text: str | None  # the default as written
    help: str = ""


@dataclass(frozen=True)
class ArgparseDefaults:
    options: Mapping[str, Option] = field(default_factory=dict)  # by dest

    @property
    def values(self) -> dict[str, Any]:
        return {dest: o.value for dest, o in self.options.items()}


def read(source: str) -> ArgparseDefaults:
    """Every ``add_argument`` with a long option and a literal default (module docstring)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ArgparseDefaults()
    found: dict[str, Option] = {}
    for node in ast.walk(tree):
        option = _option(node, source)
        if option is not None:
            dest, opt = option
            found.setdefault(dest, opt)
    return ArgparseDefaults(found)


def _option(node: ast.AST, source: str) -> tuple[str, Option] | None:
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_argument"
    ):
        return None
    flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    long = next((f for f in flags if f.startswith("--") and len(f) > 2), None)
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    if long is None or "default" not in kw:
        return None
    action = kw.get("action")
    if isinstance(action, ast.Constant) and action.value in FLAG_ACTIONS:
        return None
    try:
        value = ast.literal_eval(kw["default"])
    except (ValueError, SyntaxError, TypeError):
        return None
    if value is None or isinstance(value, bool):
        return None
    dest_node = kw.get("dest")
    dest = (
        dest_node.value
        if isinstance(dest_node, ast.Constant) and isinstance(dest_node.value, str)
        else long[2:].replace("-", "_")
    )
    help_node = kw.get("help")
    help_text = help_node.value if isinstance(help_node, ast.Constant) else ""
    text = ast.get_source_segment(source, kw["default"])
    return dest, Option(long, value, text, str(help_text or ""))
