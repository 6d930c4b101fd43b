"""The only caller of git: revisions, worktrees, merge-bases, changed paths, commit lists."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import GitError


def run(args: list[str], *, cwd: str | Path, check: bool = True) -> str:
    """Run ``git args`` in ``cwd`` and return stdout; a failure is a one-line ``GitError``."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except NotADirectoryError:
        raise GitError(f"{cwd}: not a directory") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise GitError(f"git {' '.join(args[:3])} failed in {cwd}: {detail}")
    return proc.stdout


def toplevel(path: str | Path = ".") -> Path | None:
    """The root of the git work tree containing ``path``, or None outside any repository."""
    try:
        out = run(["rev-parse", "--show-toplevel"], cwd=path, check=False).strip()
    except GitError:
        return None
    return Path(out) if out else None
