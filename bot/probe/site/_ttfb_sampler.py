"""The in-process sampling profiler: the fallback where no outside sampler (py-spy) can attach.

Standard library only, Python 3.8+. Started by the probe (``_ttfb_probe.install``) when the
runner asks for it (``TTFB_LAB_PROFILE_SAMPLER``: the interval in milliseconds), it runs a
thread that, at that interval, reads the main thread's frame (``sys._current_frames``) and
adds the time since its previous look to that stack. The weights are time, not counts:
a call that holds the GIL for 100 ms (a ``repr()`` of a large structure, say) keeps the
sampler waiting, and the whole wait is charged to the stack seen when it ends, the caller
still on it. ``write`` stops it and writes the stacks in the collapsed format py-spy writes
(``fn (path:firstline);… weight``, root to leaf, weights in microseconds).

``GcPauses`` records, in every profiling sample (py-spy's or this sampler's), each cyclic
garbage collection of the main thread's stack: how long it took and the stack it interrupted.
A collection runs when allocations cross a threshold, so a full one (100 ms and more once torch
is imported) lands on whichever function allocates at that moment; an unrelated change moves
it to another function, and a profiler charges the pause to that function. The runner moves
these pauses out of the functions into a frame of their own (``bot.stats.stacks``).
"""

from __future__ import annotations

import _thread
import gc
import os
import sys
import time
import types


def _stack(frame: types.FrameType | None) -> tuple:
    """``frame`` and its callers, leaf first, as (function, file, first line)."""
    key = []
    while frame is not None:
        code = frame.f_code
        name = getattr(code, "co_qualname", code.co_name)
        key.append((name, code.co_filename, code.co_firstlineno))
        frame = frame.f_back
    return tuple(key)


def _write_collapsed(stacks: dict, path: str) -> None:
    """``stacks`` (leaf-first stack -> seconds) in the collapsed format, atomically."""
    lines = []
    for stack, seconds in stacks.items():
        frames = ";".join(f"{name} ({file}:{line})" for name, file, line in reversed(stack))
        lines.append(f"{frames} {max(1, int(seconds * 1e6))}\n")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.replace(tmp, path)


class Sampler:
    """Samples the thread that created it until ``write`` is called."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = max(0.0002, interval_s)
        self.target = _thread.get_ident()
        self.stacks: dict = {}
        self.running = True
        self.last = time.perf_counter()
        _thread.start_new_thread(self._loop, ())

    def _loop(self) -> None:
        frames = sys._current_frames
        sleep = time.sleep
        clock = time.perf_counter
        stacks = self.stacks
        while self.running:
            sleep(self.interval_s)
            frame = frames().get(self.target)
            now = clock()
            weight = now - self.last
            self.last = now
            if frame is None or not self.running:
                continue
            stack = _stack(frame)
            stacks[stack] = stacks.get(stack, 0.0) + weight

    def write(self, path: str) -> None:
        """Stop sampling and write the collapsed stacks to ``path`` (atomically)."""
        self.running = False
        _write_collapsed(dict(self.stacks), path)


def _importing(frame: types.FrameType | None) -> str | None:
    """The module whose import ``frame`` is part of: the innermost ``_find_and_load`` on the
    stack, which is what ``-X importtime`` times (a module's body, and the search for and
    loading of its imports until each of them has its own line)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_find_and_load" and code.co_filename.startswith("<frozen importlib"):
            name = frame.f_locals.get("name")
            return name if isinstance(name, str) else None
        frame = frame.f_back
    return None


class GcPauses:
    """Times each garbage collection from the moment this is made until ``write``, charged to
    the main thread's stack where it stood (a collection that another thread triggers, this
    sampler's included, holds the main thread where it was). ``by_import``: charged instead to
    the module being imported then (``-X importtime`` samples), collections outside any
    import left out."""

    def __init__(self, *, by_import: bool = False) -> None:
        self.main = _thread.get_ident()
        self.by_import = by_import
        self.pauses: dict = {}
        self.started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        if not self.started:
            return
        took = time.perf_counter() - self.started
        self.started = 0.0
        # sys._getframe(1): the frame that allocated (the collection itself has no frame)
        frame: types.FrameType | None = None
        if _thread.get_ident() == self.main:
            frame = sys._getframe(1)
        else:
            frame = sys._current_frames().get(self.main)
        key = _importing(frame) if self.by_import else _stack(frame)
        if key is not None:
            self.pauses[key] = self.pauses.get(key, 0.0) + took

    def stop(self) -> dict:
        """Stop timing; the pauses so far."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        return dict(self.pauses)

    def write(self, path: str) -> None:
        """Stop timing and write the pauses by stack (collapsed, microseconds) to ``path``."""
        _write_collapsed(self.stop(), path)
