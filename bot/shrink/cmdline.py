"""A command shrunk where it stands, one argument at a time. Pure.

What the program will run with is merged, in its own order of precedence: a base config (the
``--config`` file, if any), then the files it reads its defaults from (``Source``: the script's
own module-level defaults, ``.py`` config files, a Hydra config), then the values the command
sets (``bot.shrink.argv.Slot``). That is shrunk once (explicit rules, ``auto``, device forcing:
``bot.shrink.auto.shrink``), and each change is written back:

- to every argument that sets it, in that argument's own syntax (``bot.shrink.literal``);
- to the base config, if it has the key;
- otherwise as a new argument in the source's style (``--name=value`` for the configurator,
  ``key=value`` for Hydra), appended at the end, after any config file arguments.

Every other argument is kept byte for byte, and every change is reported with the argument (or
key) it went to and the style it was recognised as.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from .argv import Slot
from .auto import shrink
from .hydra import merge
from .literal import coerce, render
from .rules import Edit, ShrinkResult, split, walk

_MISSING = object()
AUTOMATIC = ("auto ", "seed fixed", "device forced")  # Edit.rule of changes no rule asked for


@dataclass(frozen=True)
class Source:
    """Values the program reads from a file the command names; the file is never rewritten."""

    label: str  # the file, as reports name it
    style: str  # script-defaults | python-config | hydra-config
    values: Mapping[str, Any]
    texts: Mapping[str, str | None] = field(default_factory=dict)  # name → value as written
    append: str | None = None  # how a new value is given: "python" (--name=value), "hydra" (k=v),
    # "argparse" (--option=value, the option as the script spells it: ``flags``),
    # "dotted" (--a.b=value, merged onto a config tree built in code: ``bot.shrink.attrconfig``)
    flags: Mapping[str, str] = field(default_factory=dict)  # name → "--option"
    hints: Mapping[str, str] = field(default_factory=dict)  # name → what its help text says


@dataclass(frozen=True)
class Rewritten:
    argv: tuple[str, ...]
    result: ShrinkResult  # everything merged, shrunk; each change with its argument and style
    base: Any = None  # the base config, shrunk (None without one)
    styles: tuple[str, ...] = ()  # what was recognised: slot and source styles, "config-file"


def rewrite(
    argv: Sequence[str],
    slots: Sequence[Slot],
    sources: Sequence[Source] = (),
    *,
    base: Mapping[str, Any] | None = None,
    base_label: str = "config",
    rules: Mapping[str, Any] | None = None,
    auto: bool = False,
    device: str | None = None,
    source: str = "command",
) -> Rewritten:
    """``argv`` with its shrunk values (see the module docstring)."""
    merged: dict[str, Any] = copy.deepcopy(dict(base)) if base is not None else {}
    for src in sources:
        merge(merged, _lists(src.values))
    live = [s for s in slots if _layer(merged, s.key, _lists(s.value))]
    hints = {k: v for src in sources for k, v in src.hints.items()}
    result = shrink(merged, rules=rules, auto=auto, device=device, source=source, hints=hints)
    shrunk = result.config
    new_base = copy.deepcopy(dict(base)) if base is not None else None
    out = list(argv)
    added: dict[str, int] = {}
    changes: list[Edit] = []
    for edit in result.changes:
        after = coerce(edit.after, edit.before)
        covering = [s for s in live if _overlaps(s.key, edit.path)]
        owner = next(
            (s for s in reversed(sources) if _get(s.values, edit.path) is not _MISSING), None
        )
        python = any(s.syntax == "python" for s in covering) or (
            not covering and owner is not None and owner.append == "python"
        )
        if python and type(after) is not type(edit.before) and edit.rule.startswith(AUTOMATIC):
            _put(shrunk, edit.path, edit.before)  # the configurator checks types: not for us
            continue
        _put(shrunk, edit.path, after)
        notes = [_write_slot(out, argv, s, shrunk) for s in covering]
        style = covering[-1].style if covering else ""
        if new_base is not None and _get(new_base, edit.path) is not _MISSING:
            _put(new_base, edit.path, after)
            notes.append(base_label)
            style = style or "config-file"
        elif not covering:
            if owner is None or owner.append is None:
                raise ConfigError(f"{source}: {edit.path}: not a value the command can set")
            name, token = _appended(owner, edit.path, shrunk)
            if name in added:
                out[added[name]] = token
            else:
                added[name] = len(out)
                out.append(token)
            notes.append(f"appended {token} (default from {owner.label})")
            style = owner.style
        changes.append(replace(edit, after=after, style=style, argument="; ".join(notes)))
    styles = {s.style for s in live} | {s.style for s in sources}
    if base is not None:
        styles.add("config-file")
    return Rewritten(
        tuple(out),
        ShrinkResult(shrunk, tuple(changes), result.kept),
        new_base,
        tuple(sorted(styles)),
    )


def _write_slot(out: list[str], argv: Sequence[str], slot: Slot, shrunk: Any) -> str:
    """Rewrite ``slot``'s value in ``out`` from ``shrunk``; the change as a report reads it."""
    new = _get(shrunk, slot.key)
    if new is not _MISSING:
        text = render(coerce(new, slot.value), like=slot.text, syntax=slot.syntax)
        out[slot.index] = slot.head + text
    after = out[slot.index] if slot.head else f"{out[slot.index - 1]} {out[slot.index]}"
    return f"{slot.argument(argv)} → {after}"


def _appended(src: Source, path: str, shrunk: Any) -> tuple[str, str]:
    if src.append == "argparse":  # a top-level option, spelled as the script defines it
        name = path.split(".")[0]
        value = coerce(shrunk[name], src.values[name])
        flag = src.flags.get(name, f"--{name}")
        return name, f"{flag}={render(value, like=src.texts.get(name), syntax='plain')}"
    if src.append == "python":  # the configurator sets whole top-level names
        name = path.split(".")[0]
        value = coerce(shrunk[name], src.values[name])
        return name, f"--{name}={render(value, like=src.texts.get(name), syntax='python')}"
    value = coerce(_get(shrunk, path), _get(src.values, path))
    if src.append == "dotted":  # the script merges --a.b=value onto its config tree
        return path, f"--{path}={render(value, like=src.texts.get(path), syntax='python')}"
    return path, f"{path}={render(value, syntax='yaml')}"


def _overlaps(key: str, path: str) -> bool:
    return path == key or path.startswith(key + ".") or key.startswith(path + ".")


def _layer(config: dict[str, Any], key: str, value: Any) -> bool:
    """Set ``key`` (dotted) to ``value`` unless that would put a non-mapping where a mapping
    is, or go through a value that is not one (then the argument is not a config value)."""
    parts = key.split(".")
    node: Any = config
    for part in parts[:-1]:
        node = node.get(part, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return False
    if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
        return False
    target = config
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return True


def _get(config: Any, path: str) -> Any:
    try:
        container, key, _ = next(walk(config, split(path), ""))
    except (StopIteration, ConfigError):
        return _MISSING
    return container[key]


def _put(config: Any, path: str, value: Any) -> None:
    for container, key, _ in walk(config, split(path), ""):
        container[key] = value


def _lists(value: Any) -> Any:
    """Tuples as lists (the rules shrink lists), deeply; ``coerce`` turns them back."""
    if isinstance(value, Mapping):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value
