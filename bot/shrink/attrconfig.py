"""Config trees built in code and overridden with ``--a.b=value``, read with ``ast``. Pure.

minGPT's pattern (and the projects built on it): a ``get_config()`` makes a node (``C = CN()``)
and sets attributes on it, some of them whole sub-configs that another class makes
(``C.trainer = Trainer.get_default_config()``, in ``mingpt/trainer.py``), and the script then
applies its arguments with ``config.merge_from_args(sys.argv[1:])``: ``--trainer.batch_size=32``
is ``ast.literal_eval``-ed onto that path. The defaults live in code, not on the command line,
so ``shrink --auto`` reads them here: ``read`` follows the builder functions through the
script and the repository modules it imports from (``load`` finds a module's source), and
returns every literal default by its dotted path, with its text as written.

A script qualifies only when it calls ``merge_from_args``: appending ``--a.b=value`` to a
script that does not parse it would break the job.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MERGE = "merge_from_args"
BUILDERS = ("get_config", "get_default_config", "default_config", "get_cfg")
MAX_DEPTH = 4  # builders calling builders: deeper than this is not followed

Loader = Callable[[str], "str | None"]
"""A module's dotted name → its source, or None where it is not in the repository."""


@dataclass(frozen=True)
class AttrConfig:
    values: dict[str, Any] = field(default_factory=dict)  # nested, as the paths make it
    texts: dict[str, str | None] = field(default_factory=dict)  # dotted path → as written


@dataclass
class _Module:
    source: str
    tree: ast.Module
    imports: dict[str, tuple[str, str]]  # local name → (module, name in it)


def qualifies(source: str) -> bool:
    """Whether the script applies ``--a.b=value`` arguments to a config tree."""
    return MERGE in source


def read(source: str, load: Loader) -> AttrConfig:
    """The defaults of the script's config builder (module docstring); empty if none."""
    module = _parse(source)
    if module is None or not qualifies(source):
        return AttrConfig()
    builder = next((f for name in BUILDERS if (f := _function(module, name)) is not None), None)
    out = AttrConfig()
    if builder is not None:
        _build(builder, module, "", out, load, depth=0)
    return out


def _parse(source: str) -> _Module | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    imports: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module, alias.name)
    return _Module(source, tree, imports)


def _function(module: _Module, name: str, owner: str | None = None) -> ast.FunctionDef | None:
    """A top-level function ``name``, or the method ``name`` of top-level class ``owner``."""
    for node in module.tree.body:
        if owner is None and isinstance(node, ast.FunctionDef) and node.name == name:
            return node
        if owner is not None and isinstance(node, ast.ClassDef) and node.name == owner:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item
    return None


def _build(
    fn: ast.FunctionDef, module: _Module, prefix: str, out: AttrConfig, load: Loader, depth: int
) -> None:
    """Record what ``fn`` sets on the node it returns, under ``prefix``."""
    returned = next(
        (
            n.value.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
        ),
        None,
    )
    if returned is None:
        return
    for node in fn.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        path = _path(node.targets[0], returned)
        if not path:
            continue
        full = f"{prefix}{path}"
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, SyntaxError, TypeError):
            _sub(node.value, module, full, out, load, depth)
            continue
        _put(out.values, full, value)
        out.texts[full] = ast.get_source_segment(module.source, node.value)


def _path(target: ast.expr, root: str) -> str:
    """``C.a.b`` → ``a.b`` when ``C`` is ``root``; else ""."""
    parts: list[str] = []
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    if not (isinstance(target, ast.Name) and target.id == root and parts):
        return ""
    return ".".join(reversed(parts))


def _sub(
    value: ast.expr, module: _Module, path: str, out: AttrConfig, load: Loader, depth: int
) -> None:
    """``C.x = Cls.get_default_config()`` / ``C.x = builder()``: follow it, under ``x.``."""
    if depth >= MAX_DEPTH or not (isinstance(value, ast.Call) and not value.args):
        return
    func = value.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner, name = func.value.id, func.attr
    elif isinstance(func, ast.Name):
        owner, name = None, func.id
    else:
        return
    resolved = _resolve(module, owner, name, load)
    if resolved is not None:
        _build(*resolved, f"{path}.", out, load, depth + 1)


def _resolve(
    module: _Module, owner: str | None, name: str, load: Loader
) -> tuple[ast.FunctionDef, _Module] | None:
    """The builder a call names and the module it is in: this one, or the repository module
    it is imported from (``from pkg.mod import Cls``, maybe under another name)."""
    found = _function(module, name, owner)
    if found is not None:
        return found, module
    imported = module.imports.get(owner or name)
    text = load(imported[0]) if imported else None
    other = _parse(text) if text else None
    if other is None or imported is None:
        return None
    found = _function(other, name, imported[1]) if owner else _function(other, imported[1])
    return (found, other) if found is not None else None


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = tree
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[last] = value
