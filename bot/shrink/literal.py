"""Values in the syntax they were written in: read them, and write new ones the same way. Pure.

Three syntaxes, one per kind of reader:

- ``python``: Python literals, read with ``ast.literal_eval``; text that is not a literal is a
  string (nanoGPT's configurator reads ``--name=value`` exactly so);
- ``yaml``: YAML scalars and flow collections (Hydra/OmegaConf overrides, jsonargparse's
  LightningCLI flags), with ``1e-3`` read as a float, as both of those read it;
- ``plain``: argparse values (``type=int``/``float``/a bool parser): integers, floats,
  ``true``/``false`` in any case, ``[..]`` lists; anything else is a string.

``render`` writes a new value *like* the text it replaces: ``True`` stays capitalised, ``1e-3``
stays in exponent form, ``'gpt2'`` keeps its quotes, ``[512,256]`` its separator. ``coerce``
keeps the type: an integer stays an integer, a float a float, a tuple a tuple.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

INT = re.compile(r"^[-+]?\d+$")
FLOAT = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$")
EXPONENT = re.compile(
    r"^(?P<sign>[-+]?)(?P<mant>\d+(?:\.\d*)?|\.\d+)[eE](?P<esign>[-+]?)(?P<exp>\d+)$"
)
BOOL_WORDS = ("true", "false")
BARE_YAML = re.compile(r"^[A-Za-z0-9_./@+-]+$")


def parse(text: str, syntax: str) -> Any:
    """``text`` as a program reading it in ``syntax`` would (see the module docstring)."""
    if syntax == "python":
        try:
            return ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return text
    if syntax == "yaml":
        if text == "":
            return ""
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return text
        if isinstance(value, str) and EXPONENT.match(text.strip()):
            return float(text)
        return value
    if INT.match(text):
        return int(text)
    if FLOAT.match(text):
        return float(text)
    if text.lower() in BOOL_WORDS:
        return text.lower() == "true"
    if text.startswith(("[", "{")):
        return parse(text, "yaml")
    return text


def coerce(new: Any, old: Any) -> Any:
    """``new`` in the type of ``old`` where that loses nothing (2 → 2.0 for a float, …)."""
    if isinstance(new, bool) or isinstance(old, bool):
        return new
    if isinstance(old, float) and isinstance(new, int):
        return float(new)
    if isinstance(old, int) and isinstance(new, float) and new.is_integer():
        return int(new)
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        items = [coerce(n, old[i]) if i < len(old) else n for i, n in enumerate(new)]
        return tuple(items) if isinstance(old, tuple) else items
    return new


def render(value: Any, *, like: str | None = None, syntax: str = "plain") -> str:
    """``value`` written in ``syntax``, in the style of ``like`` (the text it replaces)."""
    like = like.strip() if like is not None else None
    if isinstance(value, bool):
        return _bool(value, like, syntax)
    if value is None:
        return "null" if syntax == "yaml" else "None"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value, like, syntax)
    if isinstance(value, str):
        return _string(value, like, syntax)
    if isinstance(value, (list, tuple)):
        return _sequence(value, like, syntax)
    if isinstance(value, Mapping):
        items = []
        for k, v in value.items():
            key = render(k, syntax=syntax) if syntax == "python" else str(k)
            items.append(f"{key}: {render(v, syntax=syntax)}")
        return "{" + ", ".join(items) + "}"
    return str(value)


def _unquoted(like: str | None) -> str | None:
    if like and len(like) >= 2 and like[0] == like[-1] and like[0] in "'\"":
        return like[1:-1]
    return like


def _bool(value: bool, like: str | None, syntax: str) -> str:
    word = "true" if value else "false"
    shape = _unquoted(like)
    if shape and shape.lower() in BOOL_WORDS:
        if shape.isupper():
            return word.upper()
        return word.capitalize() if shape[0].isupper() else word
    return word.capitalize() if syntax == "python" else word


def _float(value: float, like: str | None, syntax: str) -> str:
    shape = EXPONENT.match(like) if like else None
    if shape is None or not math.isfinite(value):
        text = repr(value)
        if syntax == "yaml" and "e" in text and "." not in text.split("e")[0]:
            mant, exp = text.split("e")
            text = f"{mant}.0e{exp}"  # PyYAML reads an exponent without a "." as a string
        return text
    for digits in range(17):  # the shortest mantissa that reads back as the same float
        text = f"{value:.{digits}e}"
        if float(text) == value:
            break
    mant, exp = text.split("e")
    if "." in shape["mant"] and "." not in mant:
        mant += ".0"
    number = int(exp)
    esign = "-" if number < 0 else shape["esign"].replace("-", "")
    e = "E" if "E" in shape[0] else "e"
    return f"{mant}{e}{esign}{str(abs(number)).zfill(len(shape['exp']))}"


def _string(value: str, like: str | None, syntax: str) -> str:
    quote = like[0] if like and _unquoted(like) != like else None
    if quote is None:
        if syntax == "plain":
            return value
        if syntax == "yaml" and BARE_YAML.match(value) and parse(value, "yaml") == value:
            return value
        if syntax == "python" and like is not None and parse(value, "python") == value:
            return value  # written bare, read as a string by the configurator
        quote = "'"
    if syntax == "yaml" and quote == "'":
        return "'" + value.replace("'", "''") + "'"
    body = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + body + quote


def _sequence(value: Sequence[Any], like: str | None, syntax: str) -> str:
    tuple_ = isinstance(value, tuple) and syntax == "python"
    open_, close = ("(", ")") if tuple_ else ("[", "]")
    parts = split_items(like[1:-1]) if like and like[:1] in "[(" and like[-1:] in "])" else []
    sep = (", " if ", " in like else ",") if like else (", " if syntax == "python" else ",")
    items = []
    for i, item in enumerate(value):
        shape = parts[i] if i < len(parts) else (parts[0] if parts else None)
        items.append(render(item, like=shape, syntax=syntax))
    tail = "," if tuple_ and len(items) == 1 else ""
    return open_ + sep.join(items) + tail + close


def split_items(text: str) -> list[str]:
    """The top-level comma-separated items of a flow sequence's inside (quotes, brackets kept)."""
    items: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    return [*items, last] if last else items
