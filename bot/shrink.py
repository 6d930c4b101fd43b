"""The auto-shrinker: production config + rules → shrunk config + a report. Pure.

Rules map dotted paths to what to do (``*`` matches every key of a mapping or item of a list):

- a plain value sets it: ``trainer.steps: 2``;
- ``{set: VALUE}`` sets it too (for values that are themselves mappings);
- ``{scale: F, min: M, max: X, multiple: K}`` multiplies a number (each element of a list),
  rounds to a multiple of ``K`` (1 for integers), then clamps to ``[min, max]``;
- ``{max: N}`` caps a number (each element of a list) at ``N``.

``auto_rules`` recognises the usual names for steps, epochs, layers, widths, embedding and
vocabulary sizes, sequence length, batch size, dataset size and worker count (in the naming
styles of popular trainers) and proposes conservative rules for them; a key it does not
recognise is never touched. Every change is reported; a rule naming a key the config does not
have is an error naming the key.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

RULE_KEYS = {"set", "scale", "min", "max", "multiple"}


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any
    rule: str  # how: "set 2", "scale 0.25 (min 8)", "cap 4096", "auto: steps"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "rule": self.rule}


@dataclass(frozen=True)
class ShrinkResult:
    config: Any
    changes: tuple[Change, ...]
    kept: tuple[str, ...] = ()  # recognised but deliberately left alone, with why

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes], "kept": list(self.kept)}


# --- paths ------------------------------------------------------------------------------------


def _split(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise ConfigError(f"rule {path!r}: not a dotted path")
    return parts


def _walk(node: Any, parts: Sequence[str], prefix: str) -> Iterator[tuple[Any, Any, str]]:
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
            yield from _walk(node[key], rest, where)
        else:
            yield node, key, where


# --- rule kinds -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(rule: Any) -> str:
    if not isinstance(rule, Mapping):
        return f"set {rule!r}"
    if "set" in rule:
        return f"set {rule['set']!r}"
    if "scale" in rule:
        extra = [f"{k} {rule[k]}" for k in ("min", "max", "multiple") if k in rule]
        return f"scale {rule['scale']}" + (f" ({', '.join(extra)})" if extra else "")
    return f"cap {rule['max']}"


def _check_rule(path: str, rule: Any) -> None:
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
        if key in rule and (not _is_number(rule[key]) or rule[key] <= 0):
            raise ConfigError(f"rule {path}: {key} must be a positive number")


def _number(value: Any, rule: Mapping[str, Any], path: str) -> Any:
    if not _is_number(value):
        raise ConfigError(f"{path}: cannot {_describe(rule)}: value {value!r} is not a number")
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
    changes: list[Change] = []
    for path, rule in rules.items():
        _check_rule(path, rule)
        spots = list(_walk(out, _split(path), ""))
        if not spots:
            raise ConfigError(f"{source}: {path}: no such key (named by a shrink rule)")
        for container, key, where in spots:
            before = container[key]
            after = apply_rule(before, rule, where)
            container[key] = after
            if after != before:
                changes.append(Change(where, before, after, _describe(rule)))
    return ShrinkResult(out, tuple(changes))


# --- auto mode --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoKind:
    name: str
    names: tuple[str, ...]
    rule: Mapping[str, Any] | None  # None: recognised, deliberately kept
    why: str = ""


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


AUTO_KINDS: tuple[AutoKind, ...] = (
    AutoKind(
        "steps",
        (
            "steps",
            "maxsteps",
            "numsteps",
            "totalsteps",
            "trainsteps",
            "maxiters",
            "maxiter",
            "iterations",
            "numiterations",
            "trainiters",
            "niter",
            "numtrainsteps",
            "maxtrainsteps",
        ),
        {"max": 2},
    ),
    AutoKind(
        "epochs",
        ("epochs", "numepochs", "maxepochs", "numtrainepochs", "nepochs", "trainepochs"),
        {"max": 1},
    ),
    AutoKind(
        "layers",
        (
            "nlayer",
            "nlayers",
            "numlayers",
            "numhiddenlayers",
            "layers",
            "depth",
            "numblocks",
            "blocksperstage",
            "numencoderlayers",
            "numdecoderlayers",
            "nblocks",
        ),
        {"max": 2},
    ),
    AutoKind(
        "width",
        (
            "hidden",
            "hiddensize",
            "hiddendim",
            "hiddensizes",
            "dmodel",
            "nembd",
            "embeddim",
            "embeddingdim",
            "embdim",
            "width",
            "dff",
            "ffndim",
            "intermediatesize",
            "channels",
            "dim",
            "mlpdim",
            "tophidden",
        ),
        {"scale": 0.25, "min": 8, "multiple": 8},
    ),
    AutoKind(
        "table size",
        (
            "numembeddings",
            "vocabsize",
            "nvocab",
            "vocab",
            "tablesize",
            "tablesizes",
            "cardinality",
            "numbuckets",
            "hashsize",
        ),
        {"max": 1000},
    ),
    AutoKind(
        "sequence length",
        (
            "seqlen",
            "seqlength",
            "maxseqlen",
            "maxseqlength",
            "blocksize",
            "contextlength",
            "maxpositionembeddings",
            "npositions",
            "maxlength",
            "ctxlen",
            "npos",
        ),
        {"max": 64},
    ),
    AutoKind(
        "batch size",
        (
            "batchsize",
            "perdevicetrainbatchsize",
            "trainbatchsize",
            "microbatchsize",
            "globalbatchsize",
            "bs",
        ),
        {"max": 32},
    ),
    AutoKind(
        "dataset size",
        (
            "rows",
            "numrows",
            "numsamples",
            "maxsamples",
            "maxtrainsamples",
            "datasetsize",
            "nsamples",
            "numexamples",
            "trainsize",
            "limit",
        ),
        {"max": 4096},
    ),
    AutoKind("image size", ("imagesize", "imgsize", "resolution", "inputsize"), {"max": 32}),
    AutoKind(
        "workers",
        ("numworkers", "workers", "dataloadernumworkers", "nworkers"),
        {"max": 2},
        "capped, not zeroed: worker start-up is part of TTFB",
    ),
)
_BY_NAME = {n: kind for kind in AUTO_KINDS for n in kind.names}


def auto_rules(config: Any, *, skip: Sequence[str] = ()) -> dict[str, tuple[AutoKind, Any]]:
    """Concrete dotted paths of ``config`` that ``--auto`` recognises, with their rule."""
    found: dict[str, tuple[AutoKind, Any]] = {}

    def visit(node: Any, prefix: str) -> None:
        items = node.items() if isinstance(node, Mapping) else []
        for key, value in items:
            path = f"{prefix}.{key}" if prefix else str(key)
            kind = _BY_NAME.get(_norm(str(key)))
            numeric = _is_number(value) or (
                isinstance(value, list) and value and all(_is_number(v) for v in value)
            )
            if kind is not None and numeric and path not in skip and kind.rule is not None:
                found[path] = (kind, kind.rule)
            elif isinstance(value, (Mapping, list)):
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, Mapping):
                            visit(item, f"{path}.{i}")
                else:
                    visit(value, path)

    visit(config, "")
    return found


def shrink(
    config: Any,
    *,
    rules: Mapping[str, Any] | None = None,
    auto: bool = False,
    device: str | None = None,
    source: str = "config",
) -> ShrinkResult:
    """Explicit rules first, then ``auto`` on what they did not name, then device forcing."""
    result = apply(config, rules or {}, source=source)
    changes = list(result.changes)
    out = result.config
    kept: list[str] = []
    if auto:
        named = set(rules or {})
        for path, (kind, rule) in auto_rules(out, skip=tuple(named)).items():
            container, key, where = next(_walk(out, _split(path), ""))
            before = container[key]
            after = apply_rule(before, rule, where)
            if after != before:
                container[key] = after
                note = f"auto {kind.name}: {_describe(rule)}"
                changes.append(
                    Change(where, before, after, note + (f" ({kind.why})" if kind.why else ""))
                )
    if auto:
        changes.extend(fix_seeds(out))
    if device:
        for container, key, where in _device_spots(out):
            before = container[key]
            if isinstance(before, str) and before.lower().startswith(("cuda", "gpu")):
                container[key] = device
                changes.append(Change(where, before, device, f"device forced to {device}"))
    return ShrinkResult(out, tuple(changes), tuple(kept))


def _device_spots(node: Any, prefix: str = "") -> Iterator[tuple[Any, Any, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if _norm(str(key)) in ("device", "accelerator", "devicetype"):
                yield node, key, path
            elif isinstance(value, Mapping):
                yield from _device_spots(value, path)


# --- the scenario's shrink block ----------------------------------------------------------------

SPEC_KEYS = ("rules", "auto", "config", "device", "validate", "deterministic")
SEED_NAMES = ("seed", "randomseed", "manualseed", "rngseed")


@dataclass(frozen=True)
class ShrinkSpec:
    """A scenario's ``shrink:`` block. A mapping without any of ``SPEC_KEYS`` is all rules."""

    rules: Mapping[str, Any]
    auto: bool = False
    config: str | None = None  # config file, relative to the checkout (default: --config ARG)
    device: str | None = None  # force "cuda…"/"gpu" device values to this (e.g. "cpu")
    validate: tuple[str, ...] = ()  # the project's own validation; "{config}" is the shrunk file
    deterministic: bool = True

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, source: str) -> ShrinkSpec:
        if not any(k in data for k in SPEC_KEYS):
            data = {"rules": dict(data)}
        unknown = sorted(set(data) - set(SPEC_KEYS))
        if unknown:
            raise ConfigError(
                f"{source}: shrink.{unknown[0]}: unknown key (allowed: {', '.join(SPEC_KEYS)})"
            )
        rules = data.get("rules", {})
        if not isinstance(rules, Mapping):
            raise ConfigError(f"{source}: shrink.rules: expected a mapping of dotted paths")
        for path, rule in rules.items():
            try:
                _split(str(path))
                _check_rule(str(path), rule)
            except ConfigError as exc:
                raise ConfigError(f"{source}: shrink.rules: {exc}") from None
        validate = data.get("validate", ())
        if isinstance(validate, str):
            validate = tuple(validate.split())
        if not isinstance(validate, (list, tuple)) or not all(isinstance(t, str) for t in validate):
            raise ConfigError(f"{source}: shrink.validate: expected a command (list of strings)")
        for key, kind in (("auto", bool), ("deterministic", bool)):
            if key in data and not isinstance(data[key], kind):
                raise ConfigError(f"{source}: shrink.{key}: expected true or false")
        for key in ("config", "device"):
            if key in data and not isinstance(data[key], str):
                raise ConfigError(f"{source}: shrink.{key}: expected a string")
        return cls(
            rules=dict(rules),
            auto=bool(data.get("auto", False)),
            config=data.get("config"),
            device=data.get("device"),
            validate=tuple(validate),
            deterministic=bool(data.get("deterministic", True)),
        )


def fix_seeds(config: Any, value: int = 0) -> list[Change]:
    """Give unset (null) seed keys a fixed value, so shrunk runs are repeatable."""
    changes: list[Change] = []

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                if _norm(str(key)) in SEED_NAMES and item is None:
                    node[key] = value
                    changes.append(Change(path, None, value, "seed fixed"))
                else:
                    visit(item, path)

    visit(config, "")
    return changes
