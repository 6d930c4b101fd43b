"""Getting an arm ready for a scenario before its first sample: inputs, environment, setup.

Real repositories keep what a training command needs outside git: prepared datasets, tokenizer
files, caches, local checkpoints. A revision's worktree holds none of them. In order, once per
arm and thing to do in a session:

1. **inputs** (``inputs:``, ``--input GLOB``): files matched in the checkout ttfb runs in are
   symlinked (``copy: true``: copied) into the arm's worktree at the same relative path; a path
   the worktree already has (tracked in that revision) is left as the revision has it. A glob
   that matches nothing is a usage error before any sample runs.
2. **environment** (``environment:``, ``--arm-envs``): the arm's interpreter becomes that of
   a virtual environment built from the arm's own dependency files (``bot.ab.envs``).
3. **setup** (``setup:``, ``--setup CMD``): run once in the arm's worktree, in a throw-away
   layer over the arm's environment, with the arm's interpreter (a leading ``python`` is that
   interpreter, a leading ``pip`` is ``uv pip`` or ``python -m pip``). It is timed, and its
   time is never TTFB. A failure makes the scenario ``broken`` for that arm, with the tail of
   its output.
"""

from __future__ import annotations

import glob as globlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..credentials import scrubbed
from ..errors import ConfigError, UsageError
from ..exec.contain import Containment
from ..exec.spawn import end_group, printable
from ..scenarios import DEFAULT_SETUP_TIMEOUT_S, Environment, Input
from . import envs
from .arms import Arm

TAIL_CHARS = 800


@dataclass(frozen=True)
class Needs:
    """What one target asks of each arm before sampling (scenario fields + command line)."""

    inputs: tuple[Input, ...] = ()
    setup: tuple[str, ...] = ()
    setup_timeout_s: float = DEFAULT_SETUP_TIMEOUT_S
    environment: Environment | None = None
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)
    pass_env: tuple[str, ...] = ()

    @property
    def anything(self) -> bool:
        return bool(self.inputs or self.setup or self.environment)


@dataclass(frozen=True)
class Prepared:
    """An arm made ready, and what that took (for the report)."""

    arm: Arm  # its interpreter and environment variables as the samples must see them
    extra_env: Mapping[str, str] = field(default_factory=dict)  # PATH, VIRTUAL_ENV
    environment: envs.EnvInfo | None = None
    setup_s: float | None = None
    setup: tuple[str, ...] = ()
    inputs: int = 0  # paths linked or copied

    def to_json(self) -> dict[str, object]:
        return {
            "environment": self.environment.to_json() if self.environment else None,
            "setup": list(self.setup) or None,
            "setup_s": self.setup_s,
            "inputs": self.inputs,
        }


def matches(source: Path, item: Input) -> list[str]:
    """Paths (relative to ``source``) that ``item.glob`` matches (``**`` recurses)."""
    found = globlib.glob(item.glob, root_dir=source, recursive=True)
    return sorted(p.rstrip("/") for p in found if p.rstrip("/") not in ("", "."))


def check_inputs(source: Path, inputs: Sequence[Input], *, where: str) -> None:
    """Every glob must match something in the checkout ttfb runs in: a one-line error if not."""
    for item in inputs:
        if not matches(source, item):
            raise UsageError(f"{where}: {item.glob!r} matches nothing under {source}")


def place_inputs(source: Path, dest: Path, inputs: Sequence[Input]) -> int:
    """Link (or copy) every match from ``source`` into ``dest``; the number placed."""
    if source.resolve() == dest.resolve():
        return 0
    placed = 0
    for item in inputs:
        for rel in matches(source, item):
            target = dest / rel
            if target.exists() or target.is_symlink():
                continue  # the revision has it (or an earlier glob placed it)
            target.parent.mkdir(parents=True, exist_ok=True)
            origin = (source / rel).resolve()
            if not item.copy:
                target.symlink_to(origin, target_is_directory=origin.is_dir())
            elif origin.is_dir():
                shutil.copytree(origin, target, symlinks=True)
            else:
                shutil.copy2(origin, target)
            placed += 1
    return placed


def setup_argv(argv: Sequence[str], python: str) -> list[str]:
    """``python``/``pip`` at the front of a setup command mean the arm's own."""
    head, rest = argv[0], list(argv[1:])
    if re.fullmatch(r"python(3(\.\d+)?)?", head):
        return [python, *rest]
    if re.fullmatch(r"pip3?", head):
        uv = envs.uv_path()
        return [uv, "pip", *rest] if uv else [python, "-m", "pip", *rest]
    return list(argv)


def run_setup(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, shown: str
) -> float:
    """Run one setup command; its wall time. Any failure is a ``ConfigError`` with the tail."""
    started = time.monotonic()
    contained = Containment()  # the setup is the project's code: nothing of it outlives it
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**env, **contained.env()},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise ConfigError(f"setup `{shown}`: cannot run: {exc.strerror}") from None
        contained.adopt(proc.pid)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            end_group(proc.pid)
            if code is None:
                proc.wait()
            contained.end()
        out.seek(0)
        text = out.read().decode(errors="replace")
    if code is None:
        raise ConfigError(f"setup `{shown}`: no exit within {timeout_s:g} s: {_tail(text)}")
    if code != 0:
        raise ConfigError(f"setup `{shown}` failed (exit {code}): {_tail(text)}")
    return time.monotonic() - started


def _tail(text: str) -> str:
    lines = [line.strip() for line in printable(text).splitlines() if line.strip()]
    return " | ".join(lines)[-TAIL_CHARS:] or "(no output)"


class Preparer:
    """Prepares arms for a session; each input, environment and setup is done once."""

    def __init__(self, workdir: Path, *, progress: Callable[[str], None] | None = None) -> None:
        self.workdir = workdir
        self.progress = progress or (lambda message: None)
        self._done: dict[tuple[object, ...], Prepared] = {}

    def prepare(self, arm: Arm, needs: Needs, *, name: str) -> Prepared:
        """``arm`` ready for ``needs``; a checkout is prepared once, whichever arm it is."""
        if not needs.anything:
            return Prepared(arm)
        key = (
            arm.root,
            arm.python,
            tuple(sorted(arm.env.items())),
            needs.inputs,
            needs.setup,
            needs.environment,
            needs.cwd,
            tuple(sorted(needs.env.items())),
        )
        if key not in self._done:
            self._done[key] = self._prepare(arm, needs, name=name)
        done = self._done[key]
        ready = replace(arm, python=done.arm.python, env={**arm.env, **done.extra_env})
        return replace(done, arm=ready)

    def _prepare(self, arm: Arm, needs: Needs, *, name: str) -> Prepared:
        where = f"{name}: {arm.name}"
        placed = place_inputs(arm.source or arm.root, arm.root, needs.inputs)
        if placed:
            self.progress(f"{where}: {placed} input path(s) placed in the worktree")
        info, python, extra = None, arm.python, {}
        if needs.environment is not None:
            info = envs.environment(arm.root, needs.environment, python=arm.python)
            how = f"built in {info.built_s:.1f} s ({info.tool})" if info.built_s else "reused"
            if info.note:
                self.progress(f"{where}: {info.note}")
            self.progress(f"{where}: environment {info.key[:10]} {how}")
            python, extra = info.python, envs.path_env(info.path / "bin")
        setup_s = None
        if needs.setup:
            dest = Path(tempfile.mkdtemp(prefix=f"setup-{arm.name}-", dir=self.workdir))
            python = envs.layer(python, dest / "venv")
            bins = [dest / "venv" / "bin"] + ([info.path / "bin"] if info else [])
            extra = envs.path_env(*bins)
            env = {**scrubbed(os.environ, keep=needs.pass_env), **needs.env, **arm.env, **extra}
            self.progress(f"{where}: setup `{shlex.join(needs.setup)}`")
            setup_s = run_setup(
                setup_argv(needs.setup, python),
                cwd=(arm.root / needs.cwd).resolve(),
                env=env,
                timeout_s=needs.setup_timeout_s,
                shown=shlex.join(needs.setup),
            )
            self.progress(f"{where}: setup done in {setup_s:.1f} s (not counted as TTFB)")
        ready = replace(arm, python=python)
        return Prepared(ready, extra, info, setup_s, needs.setup, placed)
