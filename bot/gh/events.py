"""GitHub events as the bot reads them, and the ``/ttfb`` comment commands. Mostly pure.

``load_event`` reads ``GITHUB_EVENT_NAME`` and ``GITHUB_EVENT_PATH``; ``parse_command`` reads the
first line of a comment. What each event calls for is ``bot.gh.router``'s business.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ResultsError

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
