"""GitHub events as the bot reads them, and the ``/ttfb`` comment commands. Mostly pure.

``load_event`` reads ``GITHUB_EVENT_NAME`` and ``GITHUB_EVENT_PATH``; ``parse_command`` reads the
first line of a comment. What each event calls for is ``bot.gh.router``'s business.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ResultsError
from ..report.fmt import md_code

MAX_RUNS = 200
PR_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
HELP = """\
**TTFB Lab commands** (first line of a pull-request comment):

- `/ttfb rerun` — run the TTFB check again on the current head commit
- `/ttfb rerun scenario=NAME [scenario=NAME ...]` — only these scenarios
- `/ttfb rerun runs=N` — up to N pairs per scenario (1–{max_runs})
- `/ttfb rerun sha=<40 hex>` — only if that is still the head commit
- `/ttfb help` — this message

`rerun` needs write permission on the repository, and measures the head commit as it was when
you commented: if a push came after your comment, say which commit with `sha=`. A pull request
from a fork reruns its own run (in its own sandbox); `scenario=` and `runs=` then do not apply.
{scenarios}"""


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
    sha: str | None = None  # the head commit the commenter means


@dataclass(frozen=True)
class CommandError:
    message: str


@dataclass(frozen=True)
class Usage:
    scenarios: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        names = ", ".join(md_code(s) for s in self.scenarios)
        return HELP.format(max_runs=MAX_RUNS, scenarios=f"\nScenarios: {names}." if names else "")


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
        return CommandError(f"unknown command {md_code(verb)}")
    scenarios: list[str] = []
    runs: int | None = None
    sha: str | None = None
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not value:
            return CommandError(f"{md_code(arg)} is not KEY=VALUE")
        if key == "scenario":
            if value not in known:
                return CommandError(f"unknown scenario {md_code(value)}")
            scenarios.append(value)
        elif key == "runs":
            if not value.isdigit() or not 1 <= int(value) <= MAX_RUNS:
                return CommandError(f"runs must be a whole number from 1 to {MAX_RUNS}")
            runs = int(value)
        elif key == "sha":
            if not re.fullmatch(r"[0-9a-fA-F]{40}", value):
                return CommandError("sha must be a full commit id (40 hexadecimal digits)")
            sha = value.lower()
        else:
            return CommandError(f"unknown argument {md_code(key)}")
    return Command("rerun", tuple(dict.fromkeys(scenarios)), runs, sha)
