"""Instruction counts to the first batch: user-space instructions repeat to ~0.004% under
valgrind where wall-clock TTFB moves 5-18%. Backends (``Backend``, by mode name):

* ``perf``: ``perf stat -e instructions:u`` (~1.05x). A child's count is folded in when it
  exits: processes still running when the command exits (workers) are not counted.
* ``valgrind``: cachegrind ``--cache-sim=no`` (~25-40x), a file per process. Counted: each
  process from its exec to its exit, ``os._exit`` or catchable fatal signal. Not counted: the
  SIGKILLed (``lost``), work before an ``execve``, the kernel. A child forked without exec
  (DataLoader workers, ``multiprocessing``) starts from a copy of its parent's counts (``forked``).
* ``callgrind``: the same, but counts are dumped and reset before each ``fork()``, so each
  instruction is counted once (~1.5x cachegrind's time).
* ``cachegrind``: cachegrind on the measured process alone (children are not followed into
  an ``exec`` and a forked child's file is not read): the start-up of the job itself, the
  cheapest valgrind count. DataLoader workers' work is left to wall time.
"""

from __future__ import annotations

import itertools
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import Job
from . import spawn
from .backends import BACKENDS as BACKENDS  # re-exported: counters is where callers look
from .backends import CACHEGRIND as CACHEGRIND
from .backends import CALLGRIND as CALLGRIND
from .backends import MODES as MODES
from .backends import Backend as Backend
from .backends import Count as Count
from .backends import Perf as Perf
from .backends import Valgrind as Valgrind
from .backends import choose as choose
from .backends import parse_perf as parse_perf
from .backends import read_valgrind as read_valgrind
from .backends import run_check
from .contain import Containment

THREADS = ("OMP", "MKL", "OPENBLAS", "NUMEXPR")
THREAD_VARS = (*(f"{lib}_NUM_THREADS" for lib in THREADS), "VECLIB_MAXIMUM_THREADS")
QUIET_S = 0.5  # a group that used no CPU for this long has finished its assigned work
SETTLE_S = 30.0  # longest wait for the rest of the group to go quiet after the main exits
TERM_WAIT_S = 10.0  # how long SIGTERMed processes may take to write their counts and exit


@dataclass(frozen=True)
class Determinism:
    """What a counting run changes (``env`` overrides the job's values; the rest of its
    environment is unchanged) so that its count repeats; ``settings`` lists it for reports."""

    env: Mapping[str, str]
    prefix: tuple[str, ...]
    settings: tuple[str, ...]


@cache
def determinism(*, aslr: bool = True) -> Determinism:
    """Hash seed 0, one BLAS/OpenMP thread, and ASLR off by ``setarch <arch> -R`` where
    ``setarch -R true`` works (checked once)."""
    env = {"PYTHONHASHSEED": "0", **dict.fromkeys(THREAD_VARS, "1")}
    prefix: tuple[str, ...] = (shutil.which("setarch") or "setarch", platform.machine(), "-R")
    code, _, last = run_check([*prefix, "true"]) if aslr else (0, "", "")
    how = f"ASLR on (setarch -R failed ({code}): {last})" if code else "ASLR on (not asked)"
    how = f"ASLR off (setarch {platform.machine()} -R)" if aslr and not code else how
    prefix = prefix if aslr and not code else ()
    return Determinism(env, prefix, (*(f"{k}={v}" for k, v in env.items()), how))


class Counter:
    """Counts jobs with one backend, each sample in a fresh directory under ``workdir`` (kept:
    ``cg_annotate --diff`` shows where two counts differ). ``count(job) -> Count``."""

    def __init__(self, backend: Backend, *, workdir: Path, det: Determinism | None = None):
        self.backend, self.workdir = backend, workdir
        self.det = det if det is not None else determinism()
        self.name: str = backend.name
        self.slowdown: float = backend.slowdown
        self.settings: tuple[str, ...] = self.det.settings
        self._numbers = itertools.count(1)  # safe to draw from side-by-side counts

    def count(self, job: Job) -> Count:
        where = self.workdir / f"count-{next(self._numbers):03d}-{job.label or 'job'}"
        return count_sample(job, self.backend, workdir=where, det=self.det)


def end_group_gently(
    pgid: int, *, settle_s: float = SETTLE_S, term_wait_s: float = TERM_WAIT_S
) -> list[str]:
    """Let group ``pgid`` go quiet (no CPU for ``QUIET_S``, at most ``settle_s``), SIGTERM it,
    wait up to ``term_wait_s``, SIGKILL the rest (``end_group``); notes on what went wrong.
    Valgrind writes its counts on SIGTERM; a process that ignores it loses them."""
    notes = ["the group still used CPU when the settle wait ran out"] * _settle(pgid, settle_s)
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return notes
    deadline, left = time.monotonic() + term_wait_s, [pgid]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = spawn.group_members(pgid) if sys.platform.startswith("linux") else []
    notes += [f"processes ignored SIGTERM and were SIGKILLed: {left}"] * bool(left)
    survivors = spawn.end_group(pgid)
    return notes + [f"processes survived SIGKILL: {survivors}"] * bool(survivors)


def _settle(pgid: int, settle_s: float) -> bool:
    """Wait until the group's CPU time stops moving; True if it still moved at ``settle_s``."""
    deadline, quiet_since = time.monotonic() + settle_s, time.monotonic()
    last: tuple[tuple[int, ...], int] = ((), -1)
    linux = sys.platform.startswith("linux")
    while settle_s > 0 and linux and (members := tuple(spawn.group_members(pgid))):
        now = (members, sum(_cpu_ticks(pid) for pid in members))
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.1)
    return False


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def count_sample(
    job: Job, counter: Backend, *, workdir: Path, det: Determinism | None = None, **waits: float
) -> Count:
    """Run one sample of ``job`` under ``counter`` (timeout scaled by its slowdown) with the
    determinism settings (default ``determinism()``), end its group gently (``waits``: its
    ``settle_s``, ``term_wait_s``) and read the count. ``workdir`` (new or empty) keeps the
    probe report, stdout/stderr and the counter's files."""
    if set(waits) - {"settle_s", "term_wait_s"}:
        raise TypeError(f"count_sample: unexpected waits {sorted(waits)}")
    ok, why = counter.available()
    if not ok:
        raise UsageError(f"cannot count instructions with {counter.name}: {why}")
    det = det if det is not None else determinism()
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise ValueError(f"{workdir}: a counting sample needs an empty directory")
    out, stderr_path = workdir / "probe.json", workdir / "stderr"
    timeout_s = job.timeout_s * counter.slowdown
    contained = Containment()
    with open(workdir / "stdout", "wb") as stdout, open(stderr_path, "wb") as stderr:
        t0 = spawn.clock_ns()
        env = {**spawn.probe_env(job, out, t0), **det.env, **contained.env()}
        argv = [*det.prefix, *counter.wrap(job.argv, workdir)]
        streams: dict[str, Any] = dict(stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        proc: subprocess.Popen[bytes] | None = None
        code: int | None = None
        notes: list[str] = []
        try:  # interrupted or not, nothing of the count outlives it (the token finds it)
            try:
                proc = subprocess.Popen(
                    argv, cwd=job.cwd, env=env, start_new_session=True, **streams
                )
            except OSError as exc:
                return Count(status="crashed", error=f"cannot start {counter.name}: {exc}")
            contained.adopt(proc.pid)
            code = _wait(proc, out, timeout_s, spawn.REPORT_GRACE_S * counter.slowdown)
            wall = (spawn.clock_ns() - t0) / 1e9
            # Settle only after the command exited: one still running keeps the group busy.
            settle_s = waits.get("settle_s", SETTLE_S) if code is not None else 0.0
            term_wait_s = waits.get("term_wait_s", TERM_WAIT_S)
            notes = end_group_gently(proc.pid, settle_s=settle_s, term_wait_s=term_wait_s)
        finally:
            if proc is not None:
                spawn.end_group(proc.pid)
                if code is None:
                    proc.wait()
            left = contained.end()  # what left the group (setsid, double fork) ends here too
        notes += [f"processes of the count survived SIGKILL: {left}"] * bool(left)
    common: dict[str, Any] = dict(wall_s=wall, backend=counter.name, settings=det.settings)
    if code is None and not out.exists():
        error = f"no exit within the {timeout_s:g} s timeout ({job.timeout_s:g} s x slowdown)"
        return Count(status="timeout", error=error, **common)
    report = spawn.read_report(out, notes)
    tally = counter.read(workdir)
    common.update(processes=tally.processes, lost=tally.lost, forked=tally.forked)
    common.update(notes=(*notes, *tally.notes), instructions=None)
    if code not in (0, None):  # None: it reported its first batch and we ended it
        why = f"exit code {code}" if code > 0 else spawn.signal_name(code)
        tail = spawn.tail(stderr_path)
        return Count(status="crashed", error=f"{why}: {tail}" if tail else why, **common)
    if not report or report.get("first_batch_s") is None:
        error = f"no first batch was seen (detect mode {job.detect!r})"
        return Count(status="no_first_batch", error=error, **common)
    if tally.instructions is None:
        error = "no instruction count: " + "; ".join(tally.notes or ("no output files",))
        return Count(status="crashed", error=error, **common)
    return replace(Count("ok", **common), instructions=tally.instructions)


def _wait(proc: subprocess.Popen[bytes], out: Path, timeout_s: float, grace_s: float) -> int | None:
    """The exit code; None if the command did not exit by ``timeout_s``, or within
    ``grace_s`` of a first-batch report (written by another rank, say)."""
    deadline = time.monotonic() + timeout_s
    reported_at: float | None = None
    watch = spawn.FirstBatchWatch(out)  # a report written at exit does not end the wait
    while True:
        try:
            return proc.wait(timeout=spawn.POLL_S)
        except subprocess.TimeoutExpired:
            now = time.monotonic()
        if reported_at is None and watch.reported():
            reported_at = now
        if now >= deadline or (reported_at is not None and now - reported_at >= grace_s):
            return None


def spread_pct(values: Sequence[float]) -> float:
    """(max - min) / |mean| in percent: 0.0 for one or equal values, NaN for none or mean 0."""
    if not values or min(values) == max(values):
        return math.nan if not values else 0.0
    mean = math.fsum(values) / len(values)
    return math.nan if mean == 0 else (max(values) - min(values)) / abs(mean) * 100.0


def stable(values: Sequence[float], limit_pct: float = 0.1) -> bool:
    """At least two values whose ``spread_pct`` is within ``limit_pct``."""
    spread = spread_pct(values)
    return len(values) >= 2 and not math.isnan(spread) and spread <= limit_pct
