"""Profiling samples: a job run under a sampling profiler until its first batch.

Never the timed samples: a profiler adds its own cost. ``choose`` picks, once per run:

- **py-spy** (``record --format raw``: collapsed stacks, ``--idle`` so that waits count as
  wall time, ``--function`` so a frame is a function, full file names, ``--native`` on
  request). It starts the job itself, so the job needs no change. It records the job's
  processes (``--subprocesses``) and keeps the main thread of the one that reported the first
  batch: the job's own process, or rank 0 under ``torchrun`` or any other launcher; a
  DataLoader worker is left out. ``--profile-subprocesses`` keeps every process's main thread.
  Where that process was not seen (a shell wrapper that runs Python with ``exec`` hides it from
  py-spy's view of subprocesses), the sample is taken again of the main process alone.
- Where py-spy is missing or cannot attach (no ptrace), the probe's **in-process sampler**
  (``bot/probe/site/_ttfb_sampler.py``): a thread of the measured process that samples its
  main thread.

Either way the stacks are those of the main thread of the process that reported the first
batch (the probe writes its pid), up to the first batch, and the run says which profiler took
them. ``TTFB_LAB_PROFILER`` (``auto``, ``py-spy``, ``sampler``) overrides the choice.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path

from .. import probe
from ..errors import UsageError
from ..model import PROFILER_TOOLS, Job, Profile, Profiler, ProfileSettings, Sample
from . import spawn

Run = Callable[[Job], Sample]
TOOL_ENV = "TTFB_LAB_PROFILER"
ATTACH_TIMEOUT_S = 30.0
ATTACH_TRIES = 3
# Runs of a job for one in-process profiling sample, when its sampler thread saw nothing
SAMPLER_TRIES = 3
_THREAD = re.compile(r"(?:^|;)thread \((?P<tid>\w+)\)(?::[^;]*)?(?=;|$)")
_PROCESS = re.compile(r'(?:^|;)process (?P<pid>\d+):"')


def find_py_spy() -> str | None:
    """py-spy on ``PATH``, else beside this interpreter (a virtual environment's ``bin``)."""
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


@cache
def attaches(exe: str) -> tuple[str, str]:
    """(py-spy's version, "") where it records a tiny Python process here, else ("", why).
    A failed try is tried again (up to ``ATTACH_TRIES``): py-spy's attach to a process that
    has only just started can lose a race (seen here as a panic in a thread of its own), and
    one lost race would otherwise put the whole run on the in-process sampler."""
    why = ""
    for _ in range(ATTACH_TRIES):
        version, why = _record_once(exe)
        if not why or why.startswith("py-spy cannot run"):
            return version, why
    return "", why


def _record_once(exe: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="ttfb-pyspy-check-") as tmp:
        out = Path(tmp) / "raw.txt"
        argv = [exe, "record", "--format", "raw", "--rate", "200", "--idle", "--output"]
        argv += [str(out), "--", sys.executable, "-c", "import time; time.sleep(0.2)"]
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, timeout=ATTACH_TIMEOUT_S, check=False
            )
            version = subprocess.run(
                [exe, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            return "", f"py-spy cannot run: {exc}"
        if proc.returncode != 0 or not out.exists() or not out.read_text().strip():
            lines = [x for x in spawn.printable(proc.stderr or "").splitlines() if x.strip()]
            return "", f"py-spy cannot attach here: {lines[-1] if lines else proc.returncode}"
        return version or "py-spy", ""


def tool_from_env() -> str | None:
    value = os.environ.get(TOOL_ENV, "").strip()
    if value and value not in PROFILER_TOOLS:
        raise UsageError(f"${TOOL_ENV}: expected auto, py-spy or sampler, got {value!r}")
    return value or None


def choose(settings: ProfileSettings, run: Run) -> tuple[Profiler | None, str]:
    """The profiler for this host (see the module docstring) and one line saying which."""
    tool = tool_from_env() or settings.tool
    why = "asked for"
    if tool != "sampler":
        exe = find_py_spy()
        version, why = attaches(exe) if exe else ("", "py-spy not found (pip install py-spy)")
        if exe and not why:
            spy = PySpy(exe, version, settings, run)
            return spy, spy.name
        if tool == "py-spy":
            return None, why
    sampler = InProcess(settings, run, why)
    return sampler, sampler.name


def records(text: str) -> Iterator[tuple[str, int]]:
    """``(stack, count)`` per record of a raw (collapsed) file; a process frame's command
    line may hold newlines, so a record ends at the first line that ends with a count."""
    held = ""
    for line in text.split("\n"):
        held = f"{held}\n{line}" if held else line
        stack, _, count = held.rpartition(" ")
        if count.isdigit() and stack:
            yield stack, int(count)
            held = ""


def main_thread_stacks(text: str, pid: int | None, *, every_process: bool) -> dict[str, float]:
    """The Python frames of each record of py-spy's raw output (``--threads``) that belong to
    the main thread of process ``pid`` (every process's main thread with ``every_process``);
    py-spy's own process and thread frames removed."""
    if pid is None:  # the probe's pid file is missing: the lowest thread id is the main one
        tids = [int(m["tid"]) for m in _THREAD.finditer(text) if m["tid"].isdigit()]
        pid = min(tids) if tids else None
    out: dict[str, float] = {}
    for stack, count in records(text):
        threads = list(_THREAD.finditer(stack))
        if not threads:
            continue
        thread = threads[-1]
        owners = [int(m["pid"]) for m in _PROCESS.finditer(stack[: thread.start() + 1])]
        owner = owners[-1] if owners else pid
        tid = thread["tid"]
        if not tid.isdigit() or owner is None or int(tid) != owner:
            continue  # not a main thread (or thread ids this reader cannot match)
        if not every_process and pid is not None and owner != pid:
            continue
        frames = stack[thread.end() + 1 :]
        out[frames] = out.get(frames, 0.0) + count
    return out


def collapsed(text: str) -> dict[str, float]:
    """The in-process sampler's file: ``stack weight`` per line."""
    return {stack: float(count) for stack, count in records(text)}


def gc_pauses(folder: Path) -> dict[str, float]:
    """The garbage collections the probe timed in the reporting process (``gc.txt``: the
    stacks they interrupted, microseconds); empty where it wrote none (an older probe, a job
    that reported from elsewhere)."""
    path = folder / "gc.txt"
    return collapsed(path.read_text(errors="replace")) if path.exists() else {}


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _attach_failed(sample: Sample) -> bool:
    """Whether py-spy itself failed (it could not attach), rather than the job."""
    error = sample.error or ""
    return not sample.ok and ("py_spy::" in error or "Error: Failed to" in error)


def _profiled_job(job: Job, folder: str, env: dict[str, str]) -> Job:
    """The job as a profiling sample: stopped at its first batch, no import-time output."""
    return replace(
        job,
        env={**job.env, probe.ENV_PROFILE: folder, **env},
        stop="first_batch",
        importtime=False,
    )


_PYTHON_NAME = re.compile(r"^(?:.*/)?(?:python|pypy)[\d.]*$")


@cache
def direct_interpreter(first: str, cwd: str, env: tuple[tuple[str, str], ...]) -> str:
    """The interpreter a command's ``python`` runs, when that ``python`` is a script rather
    than the interpreter itself: a version manager's shim (pyenv, asdf) spends up to a second
    choosing a version before it runs Python, longer than py-spy waits for an interpreter to
    appear in the process it started ("No python processes found"). The shim is asked once,
    where and with the environment the job runs with, which interpreter it chose."""
    if not _PYTHON_NAME.match(first):
        return first
    found = shutil.which(first, path=dict(env).get("PATH"))
    try:
        with open(found or first, "rb") as f:
            if f.read(4) == b"\x7fELF":
                return first
    except OSError:
        return first
    try:
        proc = subprocess.run(
            [first, "-c", "import sys; print(sys.executable)"],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=ATTACH_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return first
    chosen = proc.stdout.strip().splitlines()[-1:] if proc.returncode == 0 else []
    return chosen[0] if chosen and Path(chosen[0]).is_file() else first


class PySpy:
    """Profiling samples under py-spy (see the module docstring)."""

    def __init__(self, exe: str, version: str, settings: ProfileSettings, run: Run) -> None:
        self.exe, self.settings, self.run = exe, settings, run
        self.lost_race = False
        parts = [version, f"{settings.rate_hz} Hz", "wall clock (idle included)"]
        parts.append(
            "every process's main thread"
            if settings.subprocesses
            else "the main thread of the process that reached the first batch"
        )
        if settings.native:
            parts.append("native frames")
        self.name = ", ".join(parts)

    def argv(self, job: Job, out: Path, *, children: bool = True) -> tuple[str, ...]:
        argv = [self.exe, "record", "--format", "raw", "--rate", str(self.settings.rate_hz)]
        argv += ["--idle", "--threads", "--full-filenames", "--function", "--output", str(out)]
        if children:
            argv.append("--subprocesses")
        if self.settings.native:
            argv.append("--native")
        env = tuple(sorted({**os.environ, **job.env}.items()))
        first = direct_interpreter(job.argv[0], str(job.cwd), env)
        return (*argv, "--", first, *job.argv[1:])

    def profile(self, job: Job) -> Profile:
        """One profiling sample; py-spy losing the race to attach to a process that starts
        (and, for a short job, ends) at once is retried."""
        probe.site_dir(job.argv[0])  # the probe compiled for the job's own interpreter
        for _ in range(ATTACH_TRIES):
            got = self._once(job)
            if not _attach_failed(got.sample):
                break
        self.lost_race = _attach_failed(got.sample)
        if got.sample.ok and not got.stacks and not self.settings.subprocesses:
            return self._once(job, children=False)
        return got

    def instead(self) -> InProcess | None:
        """The in-process sampler, once py-spy has lost the race to attach to one of the job's
        samples ``ATTACH_TRIES`` times in a row (a job that reaches its first batch within
        py-spy's attach time on a loaded host)."""
        if not self.lost_race:
            return None
        why = f"py-spy lost the race to attach to this job {ATTACH_TRIES} times in a row"
        return InProcess(self.settings, self.run, why)

    def _once(self, job: Job, *, children: bool = True) -> Profile:
        with tempfile.TemporaryDirectory(prefix="ttfb-profile-") as tmp:
            folder = Path(tmp)
            raw = folder / "py-spy.txt"
            argv = self.argv(job, raw, children=children)
            stop = {probe.ENV_PROFILE_STOP: Path(self.exe).name[:15]}  # its /proc comm
            wrapped = replace(_profiled_job(job, tmp, stop), argv=argv)
            sample = self.run(wrapped)
            if not sample.ok:
                return Profile(sample, error=sample.error or sample.status)
            text = raw.read_text(errors="replace") if raw.exists() else ""
            pid = _pid(folder)
            stacks = main_thread_stacks(text, pid, every_process=self.settings.subprocesses)
            pauses = gc_pauses(folder)
        if not stacks:
            return Profile(sample, error=f"py-spy recorded no stacks of process {pid}")
        return Profile(sample, stacks, gc=pauses)


class InProcess:
    """Profiling samples taken by the probe's own sampler thread."""

    def __init__(self, settings: ProfileSettings, run: Run, why: str) -> None:
        self.settings, self.run = settings, run
        self.interval_ms = 1000.0 / max(1, settings.rate_hz)
        self.name = (
            f"in-process sampler (a probe thread, every {self.interval_ms:g} ms, "
            f"time-weighted, main thread; py-spy: {why})"
        )

    def profile(self, job: Job) -> Profile:
        """One profiling sample; taken again (up to ``SAMPLER_TRIES`` runs in all) when the
        sampler saw nothing: on a loaded machine a short job can reach its first batch before
        the sampler's thread first gets the CPU and the GIL (seen once in a run of the test
        suite: a job of under 0.1 s on a busy host)."""
        env = {probe.ENV_PROFILE_SAMPLER: f"{self.interval_ms:g}"}
        for _ in range(SAMPLER_TRIES):
            with tempfile.TemporaryDirectory(prefix="ttfb-profile-") as tmp:
                sample = self.run(_profiled_job(job, tmp, env))
                if not sample.ok:
                    return Profile(sample, error=sample.error or sample.status)
                path = Path(tmp) / "stacks.txt"
                stacks = collapsed(path.read_text(errors="replace")) if path.exists() else {}
                pauses = gc_pauses(Path(tmp))
            if stacks:
                return Profile(sample, stacks, gc=pauses)
        why = f"the in-process sampler wrote no stacks in {SAMPLER_TRIES} runs of the job"
        return Profile(sample, error=why)

    def instead(self) -> None:
        return None
