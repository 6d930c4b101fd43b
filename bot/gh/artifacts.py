"""Artifacts the bench jobs uploaded, read by the reporting job as untrusted data: archives
unpacked within limits and without escaping their folder, then each file size-limited, parsed
as JSON and checked against a JSON Schema (a results document then read through the typed
model, ``bot.results``); never executed."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import ResultsError
from ..results import Results
from ..store.versioned import load_json

MAX_ARTIFACT_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 256


def unpack(data: bytes, folder: Path, *, max_bytes: int, source: str) -> int:
    """Unpack the zip archive ``data`` into ``folder``; the bytes written.

    Refused, before anything is written: a member with an absolute path, a ``..`` part or a
    drive, a symbolic link, more than ``MAX_MEMBERS`` members, or declared sizes over
    ``max_bytes``. While writing, the actual bytes are counted too (a member may lie about
    its size). A refused archive leaves nothing behind.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ResultsError(f"{source}: not a zip archive: {exc}") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_MEMBERS:
        raise ResultsError(f"{source}: {len(members)} files, over {MAX_MEMBERS}")
    for m in members:
        parts = Path(m.filename.replace("\\", "/")).parts
        if m.filename.startswith(("/", "\\")) or ".." in parts or ":" in m.filename:
            raise ResultsError(f"{source}: member {m.filename!r} would land outside its folder")
        if stat.S_ISLNK(m.external_attr >> 16):
            raise ResultsError(f"{source}: member {m.filename!r} is a symbolic link")
    if sum(m.file_size for m in members) > max_bytes:
        raise ResultsError(f"{source}: unpacks to more than {max_bytes} bytes")
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for m in members:
            target = folder / m.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(m) as src, open(target, "wb") as out:
                while chunk := src.read(64 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ResultsError(f"{source}: unpacks to more than {max_bytes} bytes")
                    out.write(chunk)
    except BaseException:
        for m in members:
            (folder / m.filename).unlink(missing_ok=True)
        raise
    return written


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("bot").joinpath(f"schemas/{name}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate(data: Any, *, schema: str, source: str) -> dict[str, Any]:
    """A document from an artifact, checked against ``bot/schemas/<schema>.schema.json``."""
    validator = jsonschema.Draft7Validator(_schema(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        if len(message) > 200:  # the message quotes the value: say what rule it broke instead
            message = f"value breaks {error.validator} = {error.validator_value!r}"
        raise ResultsError(f"{source}: {where}: {message}")
    assert isinstance(data, dict)
    return data


def read_artifact(path: Path, *, schema: str = "results") -> dict[str, Any]:
    """A document from an artifact: size-limited, JSON, schema-valid."""
    data = load_json(path, max_bytes=MAX_ARTIFACT_BYTES)
    return validate(data, schema=schema, source=str(path))


def read_results(path: Path) -> Results:
    """A results document from an artifact: schema-valid, then read through the typed model."""
    return Results.from_json(read_artifact(path), source=str(path))


def merge_results(docs: Sequence[Results]) -> Results:
    """One document from the per-job documents: the first one's arms and policy, and every
    scenario, in name order."""
    if not docs:
        raise ResultsError("no results to merge")
    scenarios = [s for d in docs for s in d.scenarios]
    names = [s.name for s in scenarios]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ResultsError(f"artifacts: scenario {duplicated[0]!r} reported twice")
    return replace(docs[0], scenarios=tuple(sorted(scenarios, key=lambda s: s.name)))
