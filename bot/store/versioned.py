"""Versioned result files, written as they are produced.

- ``*.jsonl`` sample logs: a header line ``{"version", "kind": "ttfb-samples", ...}`` then one
  line per finished sample, flushed as each finishes, so a killed run loses at most the sample
  in flight.
- ``*.json`` documents (measurements, comparisons, plans): written atomically (temp file +
  rename) and carrying ``"version"``; a newer version than this reader knows is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..atomic import make_parent, write_text_atomic
from ..errors import ResultsError
from ..model import Sample, check_version

SAMPLES_VERSION = 1


def write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write a versioned document as JSON, atomically."""
    if "version" not in data:
        raise ValueError("result documents carry a version")
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def load_json(path: str | Path, *, max_bytes: int = 50_000_000) -> Any:
    """Decoded JSON of a file no larger than ``max_bytes``; anything else is a one-line error."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    if size > max_bytes:
        raise ResultsError(f"{path}: {size} bytes is over the {max_bytes}-byte limit")
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not valid JSON: {exc}") from None


def read_json(path: str | Path, *, known: int, max_bytes: int = 50_000_000) -> dict[str, Any]:
    """A versioned document (see ``bot.model.check_version``)."""
    return check_version(load_json(path, max_bytes=max_bytes), source=path, known=known)


class SampleLog:
    """Appends samples to a JSONL file, one flushed line per finished sample."""

    def __init__(self, path: str | Path, meta: Mapping[str, Any]) -> None:
        self.path = Path(path)
        make_parent(self.path)
        self._file: IO[str] = open(self.path, "w")  # noqa: SIM115 - closed in close()
        self._write({"version": SAMPLES_VERSION, "kind": "ttfb-samples", **meta})

    def _write(self, record: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def append(self, sample: Sample, **extra: Any) -> None:
        self._write({**sample.to_json(), **extra})

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SampleLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: str | Path, *, max_bytes: int = 64 * 1024 * 1024) -> list[dict[str, Any]]:
    """A sample log's records (its header left out), read as untrusted data: size-limited,
    each line one JSON object naming its scenario; a torn last line (a killed run) dropped."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else -1
    if size < 0:
        raise ResultsError(f"{path}: no such file")
    if size > max_bytes:
        raise ResultsError(f"{path}: {size} bytes is over the {max_bytes}-byte limit")
    lines = path.read_text(errors="replace").splitlines()
    records = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break
            raise ResultsError(f"{path}:{number}: not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("scenario"), str):
            raise ResultsError(f"{path}:{number}: not a sample record")
        records.append(record)
    return records


def read_sample_log(path: str | Path) -> tuple[dict[str, Any], list[Sample]]:
    """The header and samples of a JSONL log. A torn last line (a killed run) is dropped."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    if not lines:
        raise ResultsError(f"{path}: empty sample log")
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise ResultsError(f"{path}:1: header is not JSON") from None
    header = check_version(header, source=path, known=SAMPLES_VERSION)
    samples = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            samples.append(Sample.from_json(json.loads(line)))
        except (ValueError, TypeError):
            if number == len(lines):
                break
            raise ResultsError(f"{path}:{number}: not a sample record") from None
    return header, samples
