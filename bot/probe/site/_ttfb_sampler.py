"""The in-process sampling profiler: the fallback where no outside sampler (py-spy) can attach.

Standard library only, Python 3.8+. Started by the probe (``_ttfb_probe.install``) when the
runner asks for it (``TTFB_LAB_PROFILE_SAMPLER``: the interval in milliseconds), it runs a
thread that, at that interval, reads the main thread's frame (``sys._current_frames``) and
adds the time since its previous look to that stack. The weights are time, not counts:
a call that holds the GIL for 100 ms (a ``repr()`` of a large structure, say) keeps the
sampler waiting, and the whole wait is charged to the stack seen when it ends, the caller
still on it. ``write`` stops it and writes the stacks in the collapsed format py-spy writes
(``fn (path:firstline);… weight``, root to leaf, weights in microseconds).
"""

import _thread
import os
import sys
import time


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
            key = []
            while frame is not None:
                code = frame.f_code
                name = getattr(code, "co_qualname", code.co_name)
                key.append((name, code.co_filename, code.co_firstlineno))
                frame = frame.f_back
            stack = tuple(key)
            stacks[stack] = stacks.get(stack, 0.0) + weight

    def write(self, path: str) -> None:
        """Stop sampling and write the collapsed stacks to ``path`` (atomically)."""
        self.running = False
        taken = dict(self.stacks)
        lines = []
        for stack, weight in taken.items():
            frames = ";".join(f"{name} ({file}:{line})" for name, file, line in reversed(stack))
            lines.append(f"{frames} {max(1, int(weight * 1e6))}\n")
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.replace(tmp, path)
