"""Typed JSON documents: frozen dataclasses read from decoded JSON and written back. Pure.

A ``Json`` dataclass's ``from_json`` refuses the first missing or mistyped field with a
``ResultsError`` naming it (``scenarios[0].delta_pct: expected a number, got 'x'``), never a
silent None. Fields are keys, in the writer's order; an ``Omittable`` key is left out while
None (the writer adds it only with a value), any other is written, None as ``null``; a ``Rest``
field keeps the keys no field names. So ``from_json(d).to_json() == d`` for whatever the writer
wrote. A class with a ``version`` field refuses a document newer than its ``known_version``.
The results document (``bot.results``) is built from these.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, NoReturn, TypeVar, cast

from .errors import ResultsError
from .model import check_version

V = TypeVar("V")
T = TypeVar("T", bound="Json")
Omittable = Annotated[V | None, "omit"]  # a key the document holds only while not None
Rest = Annotated[Mapping[str, Any], "rest"]  # an object's keys no field names, as they were
SCALARS = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


@dataclass(eq=False)
class _Bad(Exception):  # a wrong value; ``where`` grows as it climbs out of the document
    message: str
    where: str = ""

    def at(self, step: str) -> _Bad:
        return _Bad(self.message, step + ("" if self.where[:1] in ("", "[") else ".") + self.where)


def _fail(expected: str, value: Any) -> NoReturn:
    text = repr(value)
    raise _Bad(f"expected {expected}, got {text if len(text) <= 60 else text[:57] + '...'}")


@cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    """A function that checks a decoded JSON value against the type ``tp`` and returns it as
    that type: arrays as tuples, enums as members, objects of the model as their class."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return lambda v: v
    if origin is Annotated:
        return _decoder(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in args if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if tp in SCALARS:  # a bool is no number; an integer is one
        kinds, exact = ((int, float) if tp is float else tp), tp is bool
        return lambda v: (
            v
            if isinstance(v, kinds) and (exact or not isinstance(v, bool))
            else _fail(SCALARS[tp], v)
        )
    if origin is Literal or (isinstance(tp, type) and issubclass(tp, Enum)):
        allowed = args if origin is Literal else tuple(m.value for m in tp)
        make = (lambda v: v) if origin is Literal else tp
        expected = f"one of {', '.join(map(str, allowed))}"
        return lambda v: (
            make(v)
            if isinstance(v, str | int) and not isinstance(v, bool) and v in allowed
            else _fail(expected, v)
        )
    if origin in (tuple, Mapping):
        item = _decoder(args[0] if origin is tuple else args[1])
        return lambda v: _each(item, v, array=origin is tuple)
    return _object(tp)


def _each(decode: Callable[[Any], Any], value: Any, *, array: bool) -> Any:
    if not isinstance(value, list if array else dict):
        _fail("an array" if array else "an object", value)
    out = {}
    for k, x in enumerate(value) if array else cast(dict[str, Any], value).items():
        try:
            out[k] = decode(x)
        except _Bad as bad:
            raise bad.at(f"[{k}]" if array else str(k)) from None
    return tuple(out.values()) if array else out


@cache
def _fields(cls: Any) -> tuple[tuple[str, Any, bool, str], ...]:
    """Per field: its name, type, whether its key is required, and ``omit``/``rest``/""."""
    hints = typing.get_type_hints(cls, include_extras=True)
    required = {f.name: f.default is MISSING and f.default_factory is MISSING for f in fields(cls)}
    return tuple(
        (name, hints[name], needed, getattr(hints[name], "__metadata__", ("",))[0])
        for name, needed in required.items()
    )


def _object(cls: Any) -> Callable[[Any], Any]:
    """Each field from its key (refused if missing and without a default); ``Rest`` the rest."""
    spec = {name: (_decoder(tp), req) for name, tp, req, how in _fields(cls) if how != "rest"}
    rest = next((name for name, _, _, how in _fields(cls) if how == "rest"), None)

    def decode(v: Any) -> Any:
        if not isinstance(v, dict):
            _fail("an object", v)
        kwargs = {}
        for name, (field_decoder, required) in spec.items():
            if name in v:
                try:
                    kwargs[name] = field_decoder(v[name])
                except _Bad as bad:
                    raise bad.at(name) from None
            elif required:
                raise _Bad("missing", name)
        if rest is not None:
            kwargs[rest] = {k: x for k, x in v.items() if k not in spec}
        return cls(**kwargs)

    return decode


def _encode(value: Any) -> Any:
    if isinstance(value, Json):
        return value.to_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_encode(x) for x in value]
    if isinstance(value, Mapping):
        return {k: _encode(x) for k, x in value.items()}
    return value


class Json:
    """A part of a document: ``from_json`` checks and reads one, ``to_json`` writes it."""

    known_version: ClassVar[int] = 1  # the newest ``version`` a document with one may have

    @classmethod
    def from_json(cls: type[T], data: Any, *, source: str = "results") -> T:
        """``data`` (decoded JSON) as this class, else a ``ResultsError`` naming ``source`` and
        the field; a document of a newer version than this reader knows is refused."""
        if any(name == "version" for name, *_ in _fields(cast(Any, cls))):
            check_version(data, source=source, known=cls.known_version)
        try:
            return cast(T, _decoder(cast(Any, cls))(data))
        except _Bad as bad:
            raise ResultsError(f"{source}: {bad.where or '(top level)'}: {bad.message}") from None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _, _, how in _fields(cast(Any, type(self))):
            value = getattr(self, name)
            if how == "rest":
                out.update(_encode(value))
            elif value is not None or how != "omit":
                out[name] = _encode(value)
        return out
