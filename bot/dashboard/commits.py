"""What the repository says about the revisions in the history: each commit's date and
subject, and which commits are on the default branch's first-parent line.

Through ``bot.git.run`` (git's one caller). Revisions come from the history, which is data: only
full or abbreviated hexadecimal object names are ever passed to git, so a stored value can
never be read as an option. Revisions git does not know (a history from another clone, a
squashed-away branch) are simply left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import git
from ..errors import GitError

HEX = re.compile(r"^[0-9a-f]{7,64}$")
CHUNK = 500
FIELD, RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # committer date, ISO 8601
    subject: str


def lookup(revisions: Iterable[str | None], *, cwd: Path) -> dict[str, Commit]:
    """Date and subject of every revision git knows, by the revision as given."""
    wanted = sorted({r for r in revisions if r and HEX.match(r)})
    found: dict[str, Commit] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        try:
            out = git.run(
                [
                    "log",
                    "--no-walk=unsorted",
                    "--ignore-missing",
                    f"--format=%H{FIELD}%cI{FIELD}%s{RECORD}",
                    *chunk,
                ],
                cwd=cwd,
            )
        except GitError:
            continue
        for record in out.split(RECORD):
            parts = record.strip("\n").split(FIELD)
            if len(parts) == 3:
                sha, date, subject = parts
                found[sha] = Commit(sha, date, subject)
    by_given = {r: found[r] for r in wanted if r in found}
    for r in wanted:  # abbreviated names (rare: revisions are recorded in full)
        if r not in by_given:
            match = next((c for sha, c in found.items() if sha.startswith(r)), None)
            if match is not None:
                by_given[r] = match
    return by_given


def first_parent_line(branch: str | None, *, cwd: Path) -> tuple[str | None, set[str]]:
    """(branch name, the commits on its first-parent line); the default branch (``origin/HEAD``,
    else main/master/trunk) when ``branch`` is None; (None, empty) outside a repository."""
    try:
        name = branch or git.default_branch(cwd=cwd)
        if not name or name.startswith("-"):
            return None, set()
        out = git.run(["rev-list", "--first-parent", name, "--"], cwd=cwd)
    except GitError:
        return None, set()
    return name, set(out.split())
