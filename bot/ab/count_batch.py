"""Running counting samples of one target's two jobs: up to ``jobs`` at a time, each bounded
by what is left of the cap, with a progress line every ``TICK_S`` while they run (see
``bot.ab.counting``, which plans and judges them)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ..model import Count, Counter, Job, Progress

TICK_S = 30.0  # how often a running count says how far it is


def minutes(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


class Batch:
    """Runs counting samples of a target's two jobs, up to ``jobs`` at a time, each bounded
    by what is left of the cap; remembers how many ran and the longest one's wall time."""

    def __init__(
        self,
        counter: Counter,
        jobs: dict[str, Job],
        parallel: int,
        *,
        name: str,
        progress: Progress | None,
    ) -> None:
        self.counter, self.jobs, self.name, self.progress = counter, jobs, name, progress
        self.parallel = parallel or os.cpu_count() or 1
        self.done = 0
        self.longest = 0.0

    def run(
        self, order: Sequence[str], cap_s: float, expected_s: float | None
    ) -> tuple[dict[str, list[int]], str | None]:
        """Counts for ``order`` (arm names), in that order of start; (counts per arm, why
        they failed, or None)."""
        got: dict[str, list[int]] = {"base": [], "head": []}
        deadline = time.monotonic() + cap_s
        ticker = _Ticker(self.name, expected_s, cap_s, self.progress)
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(order))) as pool, ticker:
            futures = [(arm, pool.submit(self._one, arm, deadline)) for arm in order]
            results = [(arm, f.result()) for arm, f in futures]
        for arm, (count, seconds) in results:
            self.done += 1
            self.longest = max(self.longest, seconds)
            if count.status == "timeout":
                return got, f"{arm} count ran past the cap of {minutes(cap_s)}"
            if count.status != "ok" or count.instructions is None:
                detail = f": {count.error}" if count.error else ""
                return got, f"{arm} counting sample {count.status}{detail}"
            got[arm].append(int(count.instructions))
        return got, None

    def _one(self, arm: str, deadline: float) -> tuple[Count, float]:
        left = deadline - time.monotonic()
        if left <= 0:
            return _Missed("timeout", None, "the cap was spent before it started"), 0.0
        # count_sample's timeout is the job's, times the counter's slowdown: make it the cap
        job = replace(self.jobs[arm], timeout_s=left / max(self.counter.slowdown, 1e-9))
        started = time.monotonic()
        count = self.counter.count(job)
        return count, time.monotonic() - started


@dataclass(frozen=True)
class _Missed:
    status: str
    instructions: int | None
    error: str | None = None


class _Ticker:
    """A progress line every ``TICK_S`` while counts run (elapsed, expected, cap)."""

    def __init__(
        self, name: str, expected_s: float | None, cap_s: float, progress: Progress | None
    ) -> None:
        self.name, self.expected, self.cap, self.progress = name, expected_s, cap_s, progress
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Ticker:
        if self.progress is not None:
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()

    def _tick(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(TICK_S):
            assert self.progress is not None
            expected = f" of ~{minutes(self.expected)}" if self.expected else ""
            self.progress(
                f"{self.name}: counting, {minutes(time.monotonic() - started)}{expected} "
                f"(cap {minutes(self.cap)})"
            )
