"""Atomic file writes: readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

STATE_DIR = ".ttfb"  # the history, sample logs and profiles kept in a checkout
STATE_IGNORE = "# TTFB Lab's own state (history, sample logs, profiles), not the project's\n*\n"


def make_parent(path: str | Path) -> None:
    """Create ``path``'s directory. A ``.ttfb`` state directory on the way gets a
    ``.gitignore`` of ``*`` (as pytest and mypy do for their caches), so a ``git add -A`` in the
    user's checkout never commits the history database or a sample log."""
    parent = Path(path).parent
    parent.mkdir(parents=True, exist_ok=True)
    state = next((p for p in (parent, *parent.parents) if p.name == STATE_DIR), None)
    if state is not None and not (state / ".gitignore").exists():
        (state / ".gitignore").write_text(STATE_IGNORE)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    make_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
