"""Command lines as configs, for the shrinker. Pure.

Two styles are understood:

- Hydra-style overrides, ``dotted.key=value`` tokens (values parsed as YAML scalars);
- argparse-style flags, ``--name value`` or ``--name=value`` (flags without a value, such as
  ``--validate-only``, are left alone).

Each becomes a mapping the shrink rules apply to, and is written back in place, so the shrunk
command keeps the shape of the production one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

OVERRIDE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*(?:\.[\w*-]+)*)=(?P<value>.*)$", re.S)
FLAG = re.compile(r"^--(?P<name>[A-Za-z][\w-]*)(?:=(?P<value>.*))?$", re.S)
CONFIG_FLAGS = ("--config", "--config-file", "--cfg", "-c")


def scalar(text: str) -> Any:
    """A command-line value as YAML reads it (``2`` → 2, ``[8,16]`` → [8, 16], ``a`` → 'a')."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def format_value(value: Any) -> str:
    """A value written back to the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    return str(value)


def config_path_index(argv: Sequence[str]) -> int | None:
    """Index of the token holding the config file path (``--config PATH`` or ``--config=PATH``)."""
    for i, token in enumerate(argv):
        if token in CONFIG_FLAGS and i + 1 < len(argv):
            return i + 1
        if any(token.startswith(f"{flag}=") for flag in CONFIG_FLAGS if flag.startswith("--")):
            return i
    return None


def config_path(argv: Sequence[str]) -> str | None:
    i = config_path_index(argv)
    if i is None:
        return None
    token = argv[i]
    return token.split("=", 1)[1] if token.startswith("--") else token


def with_config_path(argv: Sequence[str], path: str) -> list[str]:
    i = config_path_index(argv)
    out = list(argv)
    if i is None:
        raise ValueError("command has no --config argument")
    out[i] = f"{out[i].split('=', 1)[0]}={path}" if out[i].startswith("--") else path
    return out


def overrides(argv: Sequence[str]) -> dict[str, Any]:
    """``dotted.key=value`` tokens of ``argv`` as a flat mapping (last one wins)."""
    found: dict[str, Any] = {}
    for token in argv:
        match = OVERRIDE.match(token)
        if match and not token.startswith("-"):
            found[match["key"]] = scalar(match["value"])
    return found


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def get_dotted(config: Mapping[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        node = node[part]
    return node


def without_overrides(argv: Sequence[str]) -> list[str]:
    return [t for t in argv if t.startswith("-") or not OVERRIDE.match(t)]


def with_overrides(argv: Sequence[str], config: Mapping[str, Any]) -> list[str]:
    """Rewrite every override token in place with its value in (nested) ``config``."""
    out = []
    for token in argv:
        match = OVERRIDE.match(token)
        if match and not token.startswith("-"):
            out.append(f"{match['key']}={format_value(get_dotted(config, match['key']))}")
        else:
            out.append(token)
    return out


def flags(argv: Sequence[str]) -> dict[str, Any]:
    """``--name value`` / ``--name=value`` pairs (names with ``-`` read as ``_``)."""
    found: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        match = FLAG.match(argv[i])
        if match and argv[i] not in CONFIG_FLAGS:
            name = match["name"].replace("-", "_")
            if match["value"] is not None:
                found[name] = scalar(match["value"])
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                found[name] = scalar(argv[i + 1])
                i += 1
        i += 1
    return found


def with_flags(argv: Sequence[str], values: Mapping[str, Any]) -> list[str]:
    """Rewrite the values of flags named in ``values``, in place."""
    out = list(argv)
    i = 0
    while i < len(out):
        match = FLAG.match(out[i])
        if match:
            name = match["name"].replace("-", "_")
            if name in values:
                if match["value"] is not None:
                    out[i] = f"--{match['name']}={format_value(values[name])}"
                elif i + 1 < len(out) and not out[i + 1].startswith("-"):
                    out[i + 1] = format_value(values[name])
                    i += 1
        i += 1
    return out
