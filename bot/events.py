"""GitHub events: what each one calls for, and the ``/ttfb`` comment commands. Mostly pure.

``route`` maps ``(GITHUB_EVENT_NAME, action)`` to a mode; ``parse_command`` reads a comment;
``artifacts`` validates the results the bench jobs uploaded, which the reporting job treats as
untrusted data: a size limit, JSON, a JSON Schema, never executed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import ResultsError

MAX_ARTIFACT_BYTES = 10 * 1024 * 1024
MAX_RUNS = 200
PR_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
HELP = """\
**TTFB Lab commands** (first line of a pull-request comment):

- `/ttfb rerun` — run the TTFB check again on the current head commit
- `/ttfb rerun scenario=NAME [scenario=NAME ...]` — only these scenarios
- `/ttfb rerun runs=N` — up to N pairs per scenario (1–{max_runs})
- `/ttfb help` — this message

`rerun` needs write permission on the repository.{scenarios}"""


@dataclass(frozen=True)
class Event:
    name: str
    action: str | None
    payload: Mapping[str, Any]

    @property
    def repository(self) -> str | None:
        repo = self.payload.get("repository") or {}
        return repo.get("full_name")


def load_event(env: Mapping[str, str]) -> Event:
    """The event from ``GITHUB_EVENT_NAME`` and the JSON at ``GITHUB_EVENT_PATH``."""
    name = env.get("GITHUB_EVENT_NAME")
    if not name:
        raise ResultsError("GITHUB_EVENT_NAME: not set (run inside GitHub Actions, or set it)")
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise ResultsError("GITHUB_EVENT_PATH: not set")
    try:
        payload = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ResultsError(f"GITHUB_EVENT_PATH: {path}: no such file") from None
    except ValueError as exc:
        raise ResultsError(f"GITHUB_EVENT_PATH: {path}: not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ResultsError(f"GITHUB_EVENT_PATH: {path}: expected a JSON object")
    return Event(name, payload.get("action"), payload)


@dataclass(frozen=True)
class Route:
    mode: str | None  # select | report | command | release | None (ignored)
    why: str


def route(event: Event, *, release_prefix: str = "release/") -> Route:
    """What an event calls for; ``mode`` None means: exit 0, printing ``why``."""
    p = event.payload
    if event.name == "pull_request":
        if event.action in PR_ACTIONS:
            return Route("select", f"pull request #{p['pull_request']['number']} {event.action}")
        return Route(None, f"ignored: pull_request action {event.action!r} needs no check")
    if event.name == "workflow_run":
        if event.action == "completed":
            return Route("report", f"workflow run {p['workflow_run'].get('id')} completed")
        return Route(None, f"ignored: workflow_run action {event.action!r}")
    if event.name == "issue_comment":
        if event.action != "created":
            return Route(None, f"ignored: issue_comment action {event.action!r}")
        if "pull_request" not in (p.get("issue") or {}):
            return Route(None, "ignored: a comment on an issue, not on a pull request")
        return Route("command", f"comment {p['comment']['id']} on #{p['issue']['number']}")
    if event.name == "workflow_dispatch":
        inputs = p.get("inputs") or {}
        if inputs.get("pr"):
            return Route("select", f"rerun of #{inputs['pr']} requested")
        return Route("release", "release suite requested")
    if event.name == "push":
        ref = str(p.get("ref", ""))
        if p.get("deleted"):
            return Route(None, f"ignored: branch deletion ({ref})")
        if ref.startswith("refs/tags/"):
            return Route(None, f"ignored: tag push ({ref})")
        branch = ref.removeprefix("refs/heads/")
        if branch.startswith(release_prefix):
            return Route("release", f"push to {branch}")
        return Route(None, f"ignored: push to {branch}, not a {release_prefix}** branch")
    return Route(None, f"ignored: event {event.name!r} is not handled")


# --- comment commands --------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    verb: str  # rerun | help
    scenarios: tuple[str, ...] = ()
    runs: int | None = None


@dataclass(frozen=True)
class CommandError:
    message: str


@dataclass(frozen=True)
class Usage:
    scenarios: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        names = ", ".join(f"`{s}`" for s in self.scenarios)
        return HELP.format(max_runs=MAX_RUNS, scenarios=f"\n\nScenarios: {names}." if names else "")


def parse_command(body: str, *, known: Sequence[str]) -> Command | CommandError | None:
    """The ``/ttfb`` command on the first line of ``body``; None if there is none."""
    first = (body or "").strip().splitlines()[0] if (body or "").strip() else ""
    if not (first == "/ttfb" or first.startswith("/ttfb ")):
        return None
    try:
        words = shlex.split(first)[1:]
    except ValueError as exc:
        return CommandError(f"cannot read the command: {exc}")
    if not words:
        return Command("help")
    verb, args = words[0], words[1:]
    if verb == "help":
        return Command("help")
    if verb != "rerun":
        return CommandError(f"unknown command `{verb}`")
    scenarios: list[str] = []
    runs: int | None = None
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not value:
            return CommandError(f"`{arg}` is not KEY=VALUE")
        if key == "scenario":
            if value not in known:
                return CommandError(f"unknown scenario `{value}`")
            scenarios.append(value)
        elif key == "runs":
            if not value.isdigit() or not 1 <= int(value) <= MAX_RUNS:
                return CommandError(f"runs must be a whole number from 1 to {MAX_RUNS}")
            runs = int(value)
        else:
            return CommandError(f"unknown argument `{key}`")
    return Command("rerun", tuple(dict.fromkeys(scenarios)), runs)


# --- artifacts (untrusted data) ----------------------------------------------------------------


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
    size = path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        raise ResultsError(f"{path}: {size} bytes is over the {MAX_ARTIFACT_BYTES}-byte limit")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not valid JSON: {exc}") from None
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
