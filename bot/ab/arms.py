"""The two arms of an A/B: git revisions, commands, or environments/interpreters.

An arm is where and how a scenario runs: a checkout (its own worktree for a revision), an
interpreter, extra environment variables, and optionally a command that replaces the
scenario's. The forms combine: ``--base REV --head REV --head-env K=V`` is valid.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import git
from ..errors import UsageError
from ..exec import host


@dataclass(frozen=True)
class Arm:
    name: str  # "base" | "head"
    label: str  # for people: "1a2b3c4 Make metrics async", "PYTHONLAZY=1", "cmd: ..."
    root: Path
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] | None = None
    revision: str | None = None
    source: Path | None = None  # the checkout a revision's worktree came from (inputs)
    where: str = "."  # where its own command runs, relative to ``root``

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "revision": self.revision,
            "python": self.python,
            "env": dict(self.env),
            "command": list(self.argv) if self.argv else None,
            **({"where": self.where} if self.argv and self.where != "." else {}),
        }


@dataclass(frozen=True)
class ArmSpec:
    """What the user asked for one arm, before any worktree exists.

    ``command`` is an argument vector, kept as one from the command line to the process: a
    ``-- CMD ARGS`` tail is never joined and split again, and ``--base-cmd`` strings are
    shell-split once, where they are parsed."""

    revision: str | None = None
    command: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    python: str | None = None


def parse_env(items: Sequence[str], *, option: str) -> dict[str, str]:
    """``K=V`` strings into a mapping; anything else is a usage error naming the option."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise UsageError(f"{option}: expected NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def split_command(text: str, *, option: str) -> tuple[str, ...]:
    """A command given as one string (``--base-cmd``) as an argument vector."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"{option}: cannot split {text!r}: {exc}") from None
    if not argv:
        raise UsageError(f"{option}: empty command")
    return argv


def _label(spec: ArmSpec, env: Mapping[str, str], sha: str | None, root: Path, where: str) -> str:
    parts = []
    if sha:
        parts.append(f"{git.short(sha, cwd=root)} {git.subject(sha, cwd=root)}".strip())
    if spec.command:
        inside = f" (in {where}/)" if where != "." else ""
        parts.append(shlex.join(spec.command) + inside)
    if spec.python:
        parts.append(f"python={spec.python}")
    parts.extend(f"{k}={v}" for k, v in env.items())
    return ", ".join(parts) or "current checkout"


Worktree = Callable[[Path, str], Path]
"""(repository, commit) → a detached worktree of it: ``Workspace.worktree``, which removes it."""


def resolve(
    base: ArmSpec, head: ArmSpec, *, repo: Path, worktree: Worktree, where: str = "."
) -> tuple[Arm, Arm]:
    """Both arms, with a detached worktree per revision; an arm's own command runs at
    ``where`` (relative to the root: where the user stood) in its checkout.

    Identical arms are allowed: that is an A/A run, the way to see a machine's noise.
    """
    arms = []
    for name, spec in (("base", base), ("head", head)):
        env = parse_env(spec.env, option=f"--{name}-env")
        root = repo
        sha = None
        if spec.revision:
            sha = git.resolve(spec.revision, cwd=repo, what=f"--{name}")
            root = worktree(repo, sha)
        typed = host.typed_python(spec.command[0]) if spec.command else None
        python = spec.python or typed or sys.executable  # as `measure -- CMD` runs it
        if spec.python and not Path(spec.python).exists():
            raise UsageError(f"--{name}-python: no such interpreter {spec.python!r}")
        label = _label(spec, env, sha, repo, where)
        arms.append(
            Arm(name, label, root, python, env, spec.command, sha, source=repo, where=where)
        )
    return arms[0], arms[1]
