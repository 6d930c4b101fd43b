"""Hydra configs, found and composed far enough to know which keys a run has. Pure.

``location`` finds the primary config: ``--config-path``/``-cp``, ``--config-name``/``-cn`` and
``--config-dir``/``-cd`` on the command line, else the script's ``@hydra.main(config_path=…,
config_name=…)``. ``compose`` merges it with the configs its ``defaults:`` list names
(``group: option`` entries, switched by ``group=option`` arguments; ``# @package`` headers
and ``group@package`` honoured; ``_self_`` where it is listed, else last), reading files through
the ``load`` function it is given. It is an approximation of Hydra's composition, used only to
learn which keys exist: the shrinker then overrides them with ``key=value`` arguments, which
Hydra itself checks (a key that does not exist is Hydra's error, never a silent no-op).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError

VALUE_FLAGS = {
    "--config-path": "path",
    "-cp": "path",
    "--config-name": "name",
    "-cn": "name",
    "--config-dir": "dir",
    "-cd": "dir",
}
# Hydra's own flags that take no value (a following key=value is an override, not their value)
BARE_FLAGS = ("--multirun", "-m", "--run", "-r", "--hydra-help", "--resolve", "--version")
PACKAGE = re.compile(r"^#\s*@package\s+(\S+)\s*$", re.M)
MAX_DEPTH = 8

Load = Callable[[str], str | None]


@dataclass(frozen=True)
class Location:
    path: str | None  # config directory as given (absolute, or relative to the script's dir)
    name: str  # primary config, relative to it, with its .yaml suffix
    dirs: tuple[str, ...] = ()  # --config-dir: more places to look
    explicit: bool = False  # named on the command line (then a missing file is an error)


def location(
    argv: Sequence[str], start: int, decorator: tuple[str | None, str | None] | None
) -> Location | None:
    """Where the primary Hydra config is, or None when the command shows none."""
    found: dict[str, str] = {}
    dirs: list[str] = []
    i = start
    while i < len(argv):
        flag, eq, value = argv[i].partition("=")
        if flag in VALUE_FLAGS:
            if not eq and i + 1 < len(argv):
                value, i = argv[i + 1], i + 1
            if VALUE_FLAGS[flag] == "dir":
                dirs.append(value)
            else:
                found[VALUE_FLAGS[flag]] = value
        i += 1
    name = found.get("name") or (decorator[1] if decorator else None)
    if not name:
        return None
    if not name.endswith((".yaml", ".yml")):
        name += ".yaml"
    path = found.get("path", decorator[0] if decorator else None)
    return Location(path, name, tuple(dirs), explicit="name" in found)


def compose(name: str, load: Load, choices: Mapping[str, Any]) -> dict[str, Any]:
    """The primary config ``name`` merged with its defaults list (see the module docstring)."""
    text = load(name)
    if text is None:
        raise ConfigError(f"{name}: Hydra config not found")
    return _compose(text, name, "", None, load, choices, 0)


def _compose(
    text: str,
    name: str,
    group: str,
    package: str | None,
    load: Load,
    choices: Mapping[str, Any],
    depth: int,
) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: YAML error in a Hydra config: {exc}") from None
    data = dict(data) if isinstance(data, Mapping) else {}
    defaults = data.pop("defaults", [])
    own = _at(_package(text, group, package), data)
    out: dict[str, Any] = {}
    mine = False
    for entry in defaults if isinstance(defaults, list) and depth < MAX_DEPTH else []:
        if entry == "_self_":
            merge(out, own)
            mine = True
            continue
        child = _child(entry, group, choices)
        sub = load(child[0]) if child else None
        if child and sub is not None:
            merge(out, _compose(sub, *child, load, choices, depth + 1))
    if not mine:
        merge(out, own)
    return out


def _child(
    entry: Any, group: str, choices: Mapping[str, Any]
) -> tuple[str, str, str | None] | None:
    """(file, its group, its package or None) for one defaults-list entry."""
    if isinstance(entry, str):
        path = entry.lstrip("/") if entry.startswith("/") or not group else f"{group}/{entry}"
        path, _, package = path.partition("@")
        return f"{path}.yaml", path.rpartition("/")[0], package or None
    if not isinstance(entry, Mapping) or len(entry) != 1:
        return None
    ((key, option),) = entry.items()
    key = str(key)
    for word in ("override ", "optional "):
        key = key.removeprefix(word).strip()
    key, _, package = key.partition("@")
    name = key.strip("/") if key.startswith("/") or not group else f"{group}/{key}"
    option = choices.get(name, option)
    if not isinstance(option, str):
        return None
    return f"{name}/{option}.yaml", name, package or None


def _package(text: str, group: str, given: str | None) -> str:
    header = PACKAGE.search(text.split("\n\n", 1)[0])
    package = header[1] if header else (given or "_group_")
    if package == "_global_":
        return ""
    return package.replace("_group_", group.replace("/", ".")).strip(".")


def _at(package: str, data: dict[str, Any]) -> dict[str, Any]:
    for part in reversed(package.split(".") if package else []):
        data = {part: data}
    return data


def merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Deep-merge ``other`` into ``into`` (mappings merge, anything else replaces)."""
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
