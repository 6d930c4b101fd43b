"""One run's scratch space: every temporary directory, worktree and prepared arm, removed together.

A ``Workspace`` is a context manager. Everything a run makes on disk goes under its one
directory, and leaving the ``with`` block removes it all, worktrees first (``git worktree
remove``), on success, error or interrupt alike:

- ``dir(name)``: a fresh subdirectory (sample scratch, counter outputs, attribution files);
- ``worktree(repo, sha)``: one detached worktree per commit, made on first use and shared by
  every step that asks for the same commit (bisect steps, the release's two ends);
- ``shrunk``: where shrunk configs are written for the checkouts of this run;
- ``preparer``: arms made ready (inputs, per-arm environment, setup layers) once per run.

Environments built from dependency files live in the persistent cache (``bot.ab.envs``), not
here: building one costs seconds to minutes, and the cache is keyed by the files' contents.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path
from types import TracebackType

from .. import git
from ..model import Progress
from .prepare import Preparer


class Workspace:
    """See the module docstring. ``parent``: where the directory goes (default: the system's
    temporary directory)."""

    def __init__(self, *, progress: Progress | None = None, parent: Path | None = None) -> None:
        self.progress = progress
        self._parent = parent
        self._stack = ExitStack()
        self._trees: dict[tuple[Path, str], Path] = {}
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            raise RuntimeError("a Workspace is used inside its `with` block")
        return self._path

    def __enter__(self) -> Workspace:
        self._path = Path(tempfile.mkdtemp(prefix="ttfb-run-", dir=self._parent))
        self._stack.callback(shutil.rmtree, self._path, ignore_errors=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()  # worktrees first (last in, first out), then the directory
        self._path = None

    def dir(self, name: str) -> Path:
        """A new, empty subdirectory whose name starts with ``name``."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.path))

    def worktree(self, repo: Path, sha: str) -> Path:
        """A detached worktree of ``sha`` (a full commit id), one per commit and repository."""
        key = (repo.resolve(), sha)
        if key not in self._trees:
            self._trees[key] = self._stack.enter_context(
                git.worktree(sha, cwd=repo, parent=self.dir("wt"))
            )
        return self._trees[key]

    @cached_property
    def shrunk(self) -> Path:
        """Shrunk configs of this run's checkouts."""
        return self.dir("shrunk")

    @cached_property
    def preparer(self) -> Preparer:
        """Prepares arms once per run (inputs, environments, setup layers under this run)."""
        return Preparer(self.dir("prepare"), progress=self.progress)
