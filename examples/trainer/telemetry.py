"""A small fire-and-forget metrics client.

``emit(event, **fields)`` only puts a record on an in-memory queue and returns; a daemon
thread started by ``start(path)`` drains the queue and appends each record as one JSON line
to ``path``. The training loop therefore never waits on metrics I/O. ``shutdown()`` flushes
what is queued and stops the thread. Records emitted before ``start`` wait in the queue.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

_STOP = object()
_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
_thread: threading.Thread | None = None


def emit(event: str, **fields: Any) -> None:
    """Queue one metrics record; never blocks on I/O."""
    _queue.put({"event": event, "time": time.time(), **fields})


def start(path: str | Path) -> None:
    """Start the background writer appending JSON lines to ``path`` (idempotent)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _thread = threading.Thread(target=_drain, args=(target,), name="telemetry", daemon=True)
    _thread.start()


def shutdown(timeout: float = 5.0) -> None:
    """Write out every queued record, then stop the writer thread."""
    global _thread
    if _thread is None:
        return
    _queue.put(_STOP)
    _thread.join(timeout)
    _thread = None


def _drain(path: Path) -> None:
    """Writer thread: append queued records to ``path`` until the stop marker arrives."""
    with path.open("a", encoding="utf-8") as out:
        while True:
            record = _queue.get()
            if record is _STOP:
                return
            out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            if _queue.empty():
                out.flush()
