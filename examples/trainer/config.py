"""Trainer configuration: YAML loading, ``dotted.key=value`` overrides, strict validation.

The config is a tree of frozen dataclasses (``Config``). Validation is strict: unknown keys,
missing keys, wrong types and out-of-range values are all errors, reported as one
``ConfigError`` line ``<file>: <dotted.field>: <what is wrong>``. The field classes live in
``schema``; this module turns raw YAML into them and checks the constraints that span fields.
Torch is imported only when the config asks for CUDA (to check that CUDA is there).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from examples.trainer.schema import (
    DATA_CLASSES,
    MODEL_CLASSES,
    CNNModel,
    Config,
    LMData,
    LMModel,
    RankerData,
    RankerModel,
)

__all__ = ["Config", "ConfigError", "apply_overrides", "load_config", "validate"]

ROOT = "<root>"
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
T = TypeVar("T")


class ConfigError(Exception):
    """A config problem; ``str(err)`` is the one-line ``<file>: <field>: <message>``."""

    def __init__(self, source: str, field: str, message: str) -> None:
        super().__init__(f"{source}: {field}: {message}")
        self.source, self.field, self.message = source, field, message


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_error_text(err: yaml.YAMLError) -> str:
    """Squeeze a (multi-line) PyYAML error into one line."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"invalid YAML{where}: {problem}"


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Read the YAML file at ``path``, apply ``overrides`` and return the validated Config."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ROOT, "config file not found") from None
    except OSError as err:
        raise ConfigError(source, ROOT, f"cannot read config file: {err.strerror}") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ConfigError(source, ROOT, _yaml_error_text(err)) from None
    if not isinstance(raw, dict):
        raise ConfigError(source, ROOT, f"expected a mapping, got {_kind(raw)}")
    return validate(apply_overrides(raw, overrides, source=source), source=source)


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str], source: str) -> dict[str, Any]:
    """Return a copy of ``raw`` with each Hydra-style ``dotted.key=value`` override applied.

    The value is parsed as a YAML scalar or flow collection (``3``, ``1e-3``, ``true``,
    ``[64,32]``). Keys that do not exist are added, so strict validation reports them.
    """
    out = _deep_copy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.match(key):
            field = key if _KEY_RE.match(key) else item
            raise ConfigError(source, field, f"bad override {item!r}: expected dotted.key=value")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as err:
            raise ConfigError(source, key, f"bad override value: {_yaml_error_text(err)}") from None
        node = out
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(source, where, f"is {_kind(child)}, cannot set {key}")
            node = child
        node[parts[-1]] = value
    return out


def validate(raw: Mapping[str, Any], source: str = "<config>") -> Config:
    """Validate a raw config mapping and return the frozen ``Config``.

    Raises ``ConfigError`` naming the first offending field by its dotted path.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(source, ROOT, f"expected a mapping, got {_kind(raw)}")
    model_raw = raw.get("model")
    family = None
    if "model" in raw and not isinstance(model_raw, Mapping):
        raise ConfigError(source, "model", f"expected a mapping, got {_kind(model_raw)}")
    if isinstance(model_raw, Mapping):
        family = model_raw.get("family")
        if "family" not in model_raw:
            raise ConfigError(source, "model.family", "missing required key")
        if not isinstance(family, str) or family not in MODEL_CLASSES:
            known = ", ".join(MODEL_CLASSES)
            raise ConfigError(source, "model.family", f"must be one of {known}, got {family!r}")
    hints = dict(_hints(Config))
    if isinstance(family, str):
        hints["model"], hints["data"] = MODEL_CLASSES[family], DATA_CLASSES[family]
    cfg = _build(Config, raw, "", source, hints)
    _check_constraints(cfg, source)
    return cfg


def _build(cls: type[T], raw: Any, path: str, source: str, hints: Mapping[str, Any]) -> T:
    """Build dataclass ``cls`` from mapping ``raw`` with strict key and type checks."""
    where = path or ROOT
    if not isinstance(raw, Mapping):
        raise ConfigError(source, where, f"expected a mapping, got {_kind(raw)}")
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    for key in raw:
        if key not in names:
            allowed = ", ".join(names)
            raise ConfigError(source, _join(path, str(key)), f"unknown key (allowed: {allowed})")
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        sub = _join(path, f.name)
        if f.name not in raw:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(source, sub, "missing required key")
            continue
        tp = hints[f.name]
        if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
            values[f.name] = _build(tp, raw[f.name], sub, source, _hints(tp))
        else:
            values[f.name] = _coerce(tp, raw[f.name], sub, source)
        minimum = f.metadata.get("min")
        if minimum is not None:
            exclusive = bool(f.metadata.get("exclusive", False))
            _check_min(values[f.name], minimum, exclusive, sub, source)
    return cls(**values)


def _coerce(tp: Any, value: Any, path: str, source: str) -> Any:
    """Check ``value`` against type annotation ``tp``; return it normalised (lists -> tuples)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arm in (a for a in args if a is not type(None)):
            try:
                return _coerce(arm, value, path, source)
            except ConfigError:
                continue
        raise ConfigError(source, path, f"expected {_describe(tp)}, got {_kind(value)}")
    if origin is Literal:
        if value in args and type(value) is type(args[0]):
            return value
        allowed = ", ".join(str(a) for a in args)
        raise ConfigError(source, path, f"must be one of {allowed}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(source, path, f"expected {_describe(tp)}, got {_kind(value)}")
        return tuple(_coerce(args[0], v, f"{path}[{i}]", source) for i, v in enumerate(value))
    if tp is float and isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        return float(value)  # PyYAML reads ``1e-3`` (no dot) as a string
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ConfigError(source, path, f"expected {_describe(tp)}, got {_kind(value)}")


def _check_min(value: Any, minimum: float, exclusive: bool, path: str, source: str) -> None:
    """Lower bound on a number (or on every item of a tuple of numbers)."""
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, (int, float)) and (item <= minimum if exclusive else item < minimum):
            positive = (minimum, exclusive) in ((1, False), (0, True))
            what = "positive" if positive else f"{'>' if exclusive else '>='} {minimum}"
            raise ConfigError(source, path, f"must be {what}, got {value!r}")


def _check_constraints(cfg: Config, source: str) -> None:
    """Constraints that involve more than one field, or the machine."""

    def fail(field: str, message: str) -> typing.NoReturn:
        raise ConfigError(source, field, message)

    model, data = cfg.model, cfg.data
    if isinstance(model, RankerModel) and isinstance(data, RankerData):
        sizes = model.table_sizes(data.num_sparse)
        if len(sizes) != data.num_sparse:
            fail(
                "model.num_embeddings",
                f"has {len(sizes)} tables but data.num_sparse is {data.num_sparse}",
            )
        if min(sizes) <= data.oov_buckets:
            fail(
                "model.num_embeddings",
                f"every table needs more than data.oov_buckets "
                f"({data.oov_buckets}) rows, got {min(sizes)}",
            )
        if model.sparse_embeddings and cfg.optim.name not in ("sgd", "adagrad"):
            fail(
                "model.sparse_embeddings",
                f"needs optim.name sgd or adagrad (sparse gradients), got {cfg.optim.name}",
            )
    if isinstance(model, LMModel):
        if model.d_model % model.n_head:
            fail(
                "model.d_model",
                f"must be divisible by model.n_head ({model.d_model} % "
                f"{model.n_head} = {model.d_model % model.n_head})",
            )
        if isinstance(data, LMData) and data.branching > model.vocab_size:
            fail("data.branching", f"must be <= model.vocab_size ({model.vocab_size})")
    if isinstance(model, CNNModel) and hasattr(data, "image_size"):
        smallest = data.image_size // 2 ** (len(model.channels) - 1)
        if smallest < 1:
            fail("data.image_size", f"too small for {len(model.channels)} downsampling stages")
    if cfg.loader.batch_size > data.rows:
        fail("loader.batch_size", f"larger than data.rows ({data.rows}): no full batch")
    if cfg.optim.momentum >= 1.0:
        fail("optim.momentum", f"must be < 1, got {cfg.optim.momentum}")
    if cfg.trainer.device == "cuda":
        import torch  # only here: validating a CPU config must stay cheap

        if not torch.cuda.is_available():
            fail("trainer.device", "cuda requested but torch.cuda.is_available() is False")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    if origin is tuple:
        return f"a non-empty list of {_describe(args[0])}"
    return {int: "int", float: "float", bool: "bool", str: "string"}.get(tp, str(tp))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {value!r}"


def _deep_copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _deep_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_deep_copy(v) for v in node]
    return node
