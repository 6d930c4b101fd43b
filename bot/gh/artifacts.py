"""Artifacts the bench jobs uploaded, read by the reporting job as untrusted data: a size
limit, JSON, a JSON Schema, never executed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import ResultsError
from ..store.files import load_json

MAX_ARTIFACT_BYTES = 10 * 1024 * 1024


@cache
def _results_schema() -> dict[str, Any]:
    text = resources.files("bot").joinpath("schemas/results.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_results(data: Any, *, source: str) -> dict[str, Any]:
    """A compare document from an artifact, checked against the results JSON Schema."""
    validator = jsonschema.Draft7Validator(_results_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        if len(message) > 200:  # the message quotes the value: say what rule it broke instead
            message = f"value breaks {error.validator} = {error.validator_value!r}"
        raise ResultsError(f"{source}: {where}: {message}")
    assert isinstance(data, dict)
    return data


def read_artifact(path: Path) -> dict[str, Any]:
    """A results document from an artifact: size-limited, JSON, schema-valid."""
    data = load_json(path, max_bytes=MAX_ARTIFACT_BYTES)
    return validate_results(data, source=str(path))


def merge_results(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One document from the per-job documents: their scenarios, in name order."""
    if not docs:
        raise ResultsError("no results to merge")
    merged = dict(docs[0])
    scenarios = [s for d in docs for s in d["scenarios"]]
    names = [s["name"] for s in scenarios]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ResultsError(f"artifacts: scenario {duplicated[0]!r} reported twice")
    merged["scenarios"] = sorted(scenarios, key=lambda s: s["name"])
    return merged
