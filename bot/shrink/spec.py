"""A scenario's ``shrink:`` block, parsed and checked. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .rules import check_rule, split

SPEC_KEYS = ("rules", "auto", "config", "device", "validate", "deterministic")


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
                split(str(path))
                check_rule(str(path), rule)
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
