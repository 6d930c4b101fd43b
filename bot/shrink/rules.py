"""Shrink rules: production config + rules → shrunk config + the edits made. Pure.

Rules map dotted paths to what to do (``*`` matches every key of a mapping or item of a list):

- a plain value sets it: ``trainer.steps: 2``;
- ``{set: VALUE}`` sets it too (for values that are themselves mappings);
- ``{scale: F, min: M, max: X, multiple: K}`` multiplies a number (each element of a list),
  rounds to a multiple of ``K`` (1 for integers), then clamps to ``[min, max]``;
- ``{max: N}`` caps a number (each element of a list) at ``N``.

``bot.shrink.auto`` proposes rules for the names it recognises; a key it does not recognise is
never touched. Every edit is reported; a rule naming a key the config does not have is an
error naming the key.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

RULE_KEYS = {"set", "scale", "min", "max", "multiple"}


@dataclass(frozen=True)
class Edit:
    """One value the shrinker changed."""

    path: str
    before: Any
    after: Any
    rule: str  # how: "set 2", "scale 0.25 (min 8)", "cap 4096", "auto: steps"
    # Where it went, for a command (bot.shrink.cmdline): the style the value was recognised
    # as ("python-override", "hydra-override", "hf-flag", "lightning-flag", "flag",
    # "script-defaults", "python-config", "hydra-config", "config-file") and the argument
    # ("--max_iters=5000 → --max_iters=2", "appended --n_layer=2 (default from train.py)").
    style: str = ""
    argument: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after, "rule": self.rule}
        if self.style:
            out["style"] = self.style
        if self.argument:
            out["argument"] = self.argument
        return out

    def line(self) -> str:
        """One report line: ``max_iters: 5000 → 2  (auto steps: cap 2) [python-override:
        --max_iters=5000 → --max_iters=2]``."""
        where = ": ".join(p for p in (self.style, self.argument) if p)
        tail = f" [{where}]" if where else ""
        return f"{self.path}: {self.before!r} → {self.after!r}  ({self.rule}){tail}"


@dataclass(frozen=True)
class ShrinkResult:
    config: Any
    changes: tuple[Edit, ...]
    kept: tuple[str, ...] = ()  # recognised values left as they are, and why

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes]}


# --- paths ------------------------------------------------------------------------------------


def split(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise ConfigError(f"rule {path!r}: not a dotted path")
    return parts


def walk(node: Any, parts: Sequence[str], prefix: str) -> Iterator[tuple[Any, Any, str]]:
    """Yield (container, key, dotted path) for every concrete location ``parts`` names."""
    head, rest = parts[0], parts[1:]
    if isinstance(node, Mapping):
        keys = list(node) if head == "*" else ([head] if head in node else [])
    elif isinstance(node, list):
        if head == "*":
            keys = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            keys = [int(head)]
        else:
            keys = []
    else:
        keys = []
    for key in keys:
        where = f"{prefix}.{key}" if prefix else str(key)
        if rest:
            yield from walk(node[key], rest, where)
        else:
            yield node, key, where


# --- rule kinds -------------------------------------------------------------------------------


def norm(key: str) -> str:
    """A key as the name tables compare it: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(rule: Any) -> str:
    if not isinstance(rule, Mapping):
        return f"set {rule!r}"
    if "set" in rule:
        return f"set {rule['set']!r}"
    if "scale" in rule:
        extra = [f"{k} {rule[k]}" for k in ("min", "max", "multiple") if k in rule]
        return f"scale {rule['scale']}" + (f" ({', '.join(extra)})" if extra else "")
    return f"cap {rule['max']}"


def check_rule(path: str, rule: Any) -> None:
    if not isinstance(rule, Mapping):
        return
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ConfigError(
            f"rule {path}: unknown rule key(s) {sorted(unknown)} (allowed: {sorted(RULE_KEYS)})"
        )
    if "set" in rule:
        if len(rule) > 1:
            raise ConfigError(f"rule {path}: 'set' cannot be combined with other keys")
        return
    if "scale" not in rule and "max" not in rule:
        raise ConfigError(f"rule {path}: needs 'scale' or 'max' (or 'set')")
    for key in ("scale", "min", "max", "multiple"):
        if key in rule and (not is_number(rule[key]) or rule[key] <= 0):
            raise ConfigError(f"rule {path}: {key} must be a positive number")


def _number(value: Any, rule: Mapping[str, Any], path: str) -> Any:
    if not is_number(value):
        raise ConfigError(f"{path}: cannot {describe(rule)}: value {value!r} is not a number")
    integer = isinstance(value, int)
    out = float(value)
    if "scale" in rule:
        out *= float(rule["scale"])
        multiple = float(rule.get("multiple", 1 if integer else 0))
        if multiple:
            out = max(multiple, round(out / multiple) * multiple)
        if "min" in rule:
            out = max(out, float(rule["min"]))
    if "max" in rule:
        out = min(out, float(rule["max"]))
    if integer:
        return math.floor(out + 1e-9)
    return out


def apply_rule(value: Any, rule: Any, path: str) -> Any:
    """The new value of ``path`` under ``rule`` (lists of numbers are shrunk per element)."""
    if not isinstance(rule, Mapping):
        return copy.deepcopy(rule)
    if "set" in rule:
        return copy.deepcopy(rule["set"])
    if isinstance(value, list):
        return [_number(v, rule, f"{path}[{i}]") for i, v in enumerate(value)]
    return _number(value, rule, path)


def apply(config: Any, rules: Mapping[str, Any], *, source: str = "config") -> ShrinkResult:
    """Apply explicit ``rules`` to a copy of ``config``; every rule must match something."""
    out = copy.deepcopy(config)
    changes: list[Edit] = []
    for path, rule in rules.items():
        check_rule(path, rule)
        spots = list(walk(out, split(path), ""))
        if not spots:
            raise ConfigError(f"{source}: {path}: no such key (named by a shrink rule)")
        for container, key, where in spots:
            before = container[key]
            after = apply_rule(before, rule, where)
            container[key] = after
            if after != before:
                changes.append(Edit(where, before, after, describe(rule)))
    return ShrinkResult(out, tuple(changes))
