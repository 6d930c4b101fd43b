"""Python files of ``name = value`` assignments, read with ``ast`` (never executed). Pure.

nanoGPT's pattern: ``train.py`` assigns its defaults at module level, then runs
``exec(open('configurator.py').read())``, which execs each ``.py`` argument (a file of more
assignments) and applies each ``--name=value`` argument (``ast.literal_eval``, else the string;
the type must match the default's). ``read`` finds those assignments; ``python_mode`` decides
from what a command and its files show whether they follow the pattern (the heuristic is
documented in ``scenarios/README.md``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class _NotLiteral(Exception):
    pass


@dataclass(frozen=True)
class Assigned:
    value: Any
    text: str | None  # the value as written; None when computed (``5 * 8``)


@dataclass(frozen=True)
class PyConfig:
    """What a Python file assigns at module level (before its first ``exec``)."""

    names: Mapping[str, Assigned] = field(default_factory=dict)
    execs: bool = False  # calls exec(...) at module level: the configurator pattern
    hydra: tuple[str | None, str | None] | None = None  # @hydra.main(config_path, config_name)


def read(source: str) -> PyConfig:
    """Module-level ``name = literal`` assignments (``a: int = 1`` too; ``5 * 8`` evaluated).

    An assignment after the first module-level ``exec(...)`` call, or of a value that is not a
    literal, drops the name: overriding it from the command line would not be seen."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return PyConfig()
    names: dict[str, Assigned] = {}
    execs = False
    hydra = None
    for node in tree.body:
        if _is_exec(node):
            execs = True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            hydra = hydra or _hydra_main(node)
        for target, value in _assignments(node):
            try:
                if execs or value is None:
                    raise _NotLiteral
                names[target] = Assigned(_literal(value), _text(source, value))
            except _NotLiteral:
                names.pop(target, None)
    return PyConfig(names, execs, hydra)


def python_mode(
    script: PyConfig | None, configs: Sequence[PyConfig], overridden: Sequence[str]
) -> tuple[bool, bool]:
    """(read ``--name=value`` as Python literals, may append ``--name=value`` overrides).

    ``script`` is the program's own file (None when not found), ``configs`` its ``.py``
    arguments, ``overridden`` the names of its ``--name=value`` arguments."""
    known = set(script.names if script else ()).union(*(c.names for c in configs))
    named = bool(overridden) and set(overridden) <= known
    if script is not None and script.execs and script.names:
        return True, True  # the configurator pattern
    return named, named and bool(configs)  # without a .py config: edit, never add


def _is_exec(node: ast.stmt) -> bool:
    """A module-level ``exec(...)`` call, also inside a ``with``/``if``/``try`` block there
    (``with open("configurator.py") as f: exec(f.read())``)."""
    if isinstance(node, (ast.With, ast.If, ast.Try)):
        return any(_is_exec(child) for child in node.body)
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "exec"
    )


def _assignments(node: ast.stmt) -> list[tuple[str, ast.expr | None]]:
    """(name, value) per simple target; value None: assigned something that is not a value."""
    if isinstance(node, ast.Assign):
        pairs: list[tuple[str, ast.expr | None]] = []
        for target in node.targets:
            if isinstance(target, ast.Name):
                pairs.append((target.id, node.value))
            else:  # a, b = ...: the names inside are no longer their literal defaults
                pairs.extend((n.id, None) for n in ast.walk(target) if isinstance(n, ast.Name))
        return pairs
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return [(node.target.id, node.value)]
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        return [(node.target.id, None)]
    return []


def _text(source: str, node: ast.expr) -> str | None:
    if isinstance(node, (ast.BinOp, ast.BoolOp)):
        return None
    return ast.get_source_segment(source, node)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _arith(node)


def _arith(node: ast.expr) -> Any:
    """A number computed from number literals with + - * / // % ** (``5 * 8``)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _arith(node.left), _arith(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 2**20):
            raise _NotLiteral
        try:
            return _OPS[type(node.op)](left, right)
        except (ArithmeticError, ValueError):
            raise _NotLiteral from None
    raise _NotLiteral


def _hydra_main(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
) -> tuple[str | None, str | None] | None:
    """``@hydra.main(config_path=..., config_name=...)``'s two strings (None: not given)."""
    for deco in node.decorator_list:
        if not isinstance(deco, ast.Call) or ast.unparse(deco.func) != "hydra.main":
            continue
        names = ("config_path", "config_name")
        given: dict[str, ast.expr] = dict(zip(names, deco.args, strict=False))
        given.update({k.arg: k.value for k in deco.keywords if k.arg})
        found: list[str | None] = []
        for key in names:
            arg = given.get(key)
            value = arg.value if isinstance(arg, ast.Constant) else None
            found.append(value if isinstance(value, str) else None)
        if found[1] is not None:
            return found[0], found[1]
    return None
