"""The only caller of git: revisions, worktrees, merge-bases, changed paths, commit lists."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def resolve(rev: str, *, cwd: str | Path, what: str = "revision") -> str:
    """The full commit id of ``rev``; an unknown one is a ``GitError`` naming ``what``."""
    out = run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=cwd, check=False)
    sha = out.strip()
    if not sha:
        raise GitError(f"{what}: unknown git revision {rev!r} in {cwd}")
    return sha


def short(sha: str, *, cwd: str | Path) -> str:
    return run(["rev-parse", "--short", sha], cwd=cwd).strip()


def default_branch(*, cwd: str | Path) -> str | None:
    """``origin/HEAD``'s target, else the first of main/master/trunk that exists."""
    out = run(["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"], cwd=cwd, check=False)
    if out.strip():
        return out.strip().removeprefix("refs/remotes/")
    for name in ("origin/main", "origin/master", "main", "master", "trunk"):
        if run(["rev-parse", "--verify", "--quiet", name], cwd=cwd, check=False).strip():
            return name
    return None


def is_shallow(*, cwd: str | Path) -> bool:
    """True in a shallow clone (``--depth``, as CI checkouts often are)."""
    out = run(["rev-parse", "--is-shallow-repository"], cwd=cwd, check=False)
    return out.strip() == "true"


def merge_base(a: str, b: str, *, cwd: str | Path) -> str:
    out = run(["merge-base", a, b], cwd=cwd, check=False).strip()
    if not out:
        raise GitError(f"no merge base between {a!r} and {b!r} in {cwd}")
    return out


def working_tree_commit(*, cwd: str | Path) -> tuple[str, int] | None:
    """A commit of the checkout's uncommitted changes to tracked files on top of ``HEAD``, and
    how many files they touch; None for a clean checkout. Made with ``git stash create``: no
    branch, stash, index or file of the checkout changes (untracked files are not in it)."""
    changed = run(["status", "--porcelain", "--untracked-files=no"], cwd=cwd).splitlines()
    if not changed:
        return None
    sha = run(["stash", "create", "uncommitted changes (the working tree)"], cwd=cwd).strip()
    return (sha, len(changed)) if sha else None


def subject(sha: str, *, cwd: str | Path) -> str:
    return run(["log", "-1", "--format=%s", sha], cwd=cwd).strip()


@contextmanager
def worktree(sha: str, *, cwd: str | Path, parent: str | Path | None = None) -> Iterator[Path]:
    """A detached worktree of ``sha`` in a temporary directory, removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="ttfb-wt-", dir=parent))
    path = base / sha[:12]
    try:
        run(["worktree", "add", "--detach", "--quiet", str(path), sha], cwd=cwd)
    except GitError as exc:  # which revision: the caller may have chosen it for the user
        shutil.rmtree(base, ignore_errors=True)
        raise GitError(f"checking out {sha[:12]}: {exc}") from None
    try:
        yield path
    finally:
        run(["worktree", "remove", "--force", str(path)], cwd=cwd, check=False)
        shutil.rmtree(base, ignore_errors=True)
        run(["worktree", "prune"], cwd=cwd, check=False)


IDENTITY = ("-c", "user.name=TTFB Lab demo", "-c", "user.email=demo@ttfb-lab.invalid")


def init_repo(path: str | Path) -> None:
    run(["init", "--quiet", "--initial-branch=main", str(path)], cwd=Path(path).parent)


def commit_all(path: str | Path, message: str) -> str:
    """Stage everything in ``path`` and commit it (a fixed identity); return the commit id."""
    run(["add", "--all"], cwd=path)
    run([*IDENTITY, "commit", "--quiet", "--no-verify", "-m", message], cwd=path)
    return run(["rev-parse", "HEAD"], cwd=path).strip()


def changed_paths(base: str, head: str, *, cwd: str | Path) -> list[tuple[str, str, str | None]]:
    """(status, path, old path) of every file that differs, renames detected (``-M``)."""
    out = run(["diff", "--name-status", "-z", "-M", base, head], cwd=cwd)
    fields = out.split("\0")
    changes: list[tuple[str, str, str | None]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] in "RC":
            changes.append((status[0], fields[i + 2], fields[i + 1]))
            i += 3
        else:
            changes.append((status[0], fields[i + 1], None))
            i += 2
    return changes


def head_revision(cwd: str | Path) -> str | None:
    out = run(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=cwd, check=False).strip()
    return out or None


def first_parent_range(good: str, bad: str, *, cwd: str | Path) -> list[str]:
    """``[good, c1, …, bad]``: the first-parent commits after ``good`` up to ``bad``, in order."""
    good_sha = resolve(good, cwd=cwd, what="--good")
    bad_sha = resolve(bad, cwd=cwd, what="--bad")
    out = run(["rev-list", "--first-parent", "--reverse", f"{good_sha}..{bad_sha}"], cwd=cwd)
    commits = out.split()
    if not commits:
        raise GitError(f"--bad: {bad} has no commits after {good} on its first-parent line")
    if commits[-1] != bad_sha:
        raise GitError(f"--good: {good} is not an ancestor of {bad} on its first-parent line")
    return [good_sha, *commits]


def previous_tag(head: str, *, cwd: str | Path, pattern: str = "v*") -> str | None:
    """The newest tag matching ``pattern`` reachable from ``head``'s parent (not ``head``)."""
    out = run(
        ["describe", "--tags", "--abbrev=0", f"--match={pattern}", f"{head}^"], cwd=cwd, check=False
    ).strip()
    return out or None
