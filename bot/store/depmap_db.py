"""Where the dependency map is kept: in the history database, or in a versioned JSON file.

The map lives in the history database (one row per scenario, so it travels with the history's
cache and export); a path ending in ``.json`` is read and written as the versioned JSON file
earlier versions kept. Writes are atomic: a transaction in the database, a lock and an atomic
replace for the JSON file. ``bot.store.recorder`` is the only writer during runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..atomic import make_parent
from ..model import Verdict
from ..selection.depmap_model import DEPMAP_VERSION, DepMap
from ..selection.plan import FileMap, Learned, files_of
from .history_db import History
from .history_db import default_path as history_path
from .versioned import read_json, write_json


def _is_json(path: Path) -> bool:
    return path.suffix == ".json"


def load(path: str | Path) -> DepMap:
    """The map at ``path`` (a history database, or a ``.json`` file); missing is empty."""
    path = Path(path)
    if not path.exists():
        return DepMap()
    if _is_json(path):
        return DepMap.from_json(read_json(path, known=DEPMAP_VERSION), source=str(path))
    with History(path) as h:
        return h.depmap()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    make_parent(path)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def updated(
    dm: DepMap,
    scenario: str,
    *,
    imported: Iterable[str],
    opened: Iterable[str],
    revision: str | None,
    verdict: Verdict | None,
    changed: Iterable[str],
) -> DepMap:
    """``dm`` with one run's files merged in, and its verdict counted if it judged a change."""
    new = dm.merged(scenario, imported=imported, opened=opened, revision=revision)
    if verdict is not None and verdict.judged:
        new = new.with_verdict(scenario, moved=verdict.moved, changed=changed)
    return new


def record(
    path: str | Path,
    scenario: str,
    *,
    imported: Iterable[str],
    opened: Iterable[str],
    revision: str | None,
    verdict: Verdict | None = None,
    changed: Iterable[str] = (),
) -> DepMap:
    """Merge one scenario's files (and its verdict, with the changed paths it judged) into the
    stored map, atomically."""
    path = Path(path)

    def update(dm: DepMap) -> DepMap:
        return updated(
            dm,
            scenario,
            imported=imported,
            opened=opened,
            revision=revision,
            verdict=verdict,
            changed=changed,
        )

    if _is_json(path):
        with _locked(path):
            new = update(load(path))
            write_json(path, new.to_json())
        return new
    with History(path) as h, h.transaction():
        new = update(h.depmap())
        h.put_depmap_entry(scenario, new.entries[scenario])
    return new


def reset(path: str | Path) -> None:
    """Forget the stored map."""
    path = Path(path)
    if _is_json(path):
        path.unlink(missing_ok=True)
    elif path.exists():
        with History(path) as h:
            h.clear_depmap()


def default_path(root: Path) -> Path:
    """``$TTFB_LAB_DEPMAP``, else the history database."""
    return Path(os.environ.get("TTFB_LAB_DEPMAP") or history_path(root))


def selection_inputs(path: str | Path) -> tuple[FileMap, Learned]:
    """What selection reads from the stored map: the files each scenario used, and what past
    compares taught about them. ``ttfb select`` and the CI select job both read it here."""
    dm = load(path)
    return files_of(dm), Learned.from_depmap(dm)
