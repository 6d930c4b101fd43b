"""The process executor: one sample is a fresh process in its own process group.

This module is the only spawner of scenario processes. Each sample:

1. stamps the submit time (``CLOCK_MONOTONIC``) and passes it to the probe in the environment;
2. starts the command in a new session (its own process group) with stdout/stderr going to
   files, never pipes, so orphaned DataLoader workers holding them cannot make us wait;
3. waits for the command to exit, up to the hard timeout; with ``stop: first_batch``, a report
   written by a process other than the command itself (rank 0 under torchrun, say) ends the
   wait ``REPORT_GRACE_S`` later, so the other ranks do not train on;
4. SIGKILLs the whole group (workers included) and checks that no member of the group is left
   before the next sample starts.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from ..model import CounterBackend, Job, Profiler, ProfileSettings, Sample
from . import counters, profiler
from .contain import Containment
from .spawn import (
    POLL_S,
    REPORT_GRACE_S,
    FirstBatchWatch,
    clock_ns,
    end_group,
    gc_fields,
    import_pauses,
    importtime_lines,
    input_hint,
    interpreter_hint,
    over_cap,
    probe_env,
    read_report,
    root_cause,
    signal_name,
    tail,
)


class ProcessExecutor:
    """Runs each sample as a real process (see the module docstring)."""

    attributes_imports = True  # a Python job's stderr carries its -X importtime lines

    def new_block(self) -> None:
        """Real processes need nothing at a block's start."""

    def counter(
        self, backend: CounterBackend, workdir: Path
    ) -> tuple[counters.Counter | None, str]:
        """The host's instruction counter (``bot.exec.counters.choose``), or None and why."""
        chosen, why = counters.choose(backend)
        if chosen is None:
            return None, why
        return counters.Counter(chosen, workdir=workdir), why

    def profiler(self, settings: ProfileSettings) -> tuple[Profiler | None, str]:
        """py-spy where it attaches, else the probe's in-process sampler
        (``bot.exec.profiler.choose``), and the line that says which."""
        return profiler.choose(settings, self.run)

    def run(self, job: Job) -> Sample:
        with tempfile.TemporaryDirectory(prefix="ttfb-sample-") as tmp:
            return self._run(job, Path(tmp))

    def _run(self, job: Job, tmp: Path) -> Sample:
        out = tmp / "probe.json"
        stderr_path = tmp / "stderr"
        contained = Containment()
        with open(tmp / "stdout", "wb") as stdout, open(stderr_path, "wb") as stderr:
            t0 = clock_ns()
            env = {**probe_env(job, out, t0), **contained.env()}
            proc: subprocess.Popen[bytes] | None = None
            code: int | None = None
            # An interrupted ttfb (Ctrl-C, SIGTERM) leaves nothing of the sample, even when the
            # signal lands before the child is adopted: it carries the containment's token.
            try:
                try:
                    proc = subprocess.Popen(
                        list(job.argv),
                        cwd=job.cwd,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=stdout,
                        stderr=stderr,
                        start_new_session=True,
                    )
                except OSError as exc:
                    return Sample(status="crashed", error=f"cannot start {job.argv[0]}: {exc}")
                contained.adopt(proc.pid)
                code, ended_early, over = _wait(proc, job, out, tmp)
                wall = (clock_ns() - t0) / 1e9
            finally:
                survivors = end_group(proc.pid) if proc is not None else []
                if proc is not None and code is None:
                    proc.wait()
                survivors += contained.end()  # setsid daemons and double forks end here too
            timed_out = code is None and not ended_early and not over
        notes = [f"processes of the sample survived SIGKILL: {survivors}"] if survivors else []
        if over:
            return Sample(status="crashed", wall_s=wall, error=over, notes=tuple(notes))
        return _sample(job, tmp, code, wall, notes, timed_out=timed_out, ended_early=ended_early)


def _sample(
    job: Job,
    tmp: Path,
    code: int | None,
    wall: float,
    notes: list[str],
    *,
    timed_out: bool,
    ended_early: bool,
) -> Sample:
    """The sample a finished run makes, from its exit, its report and its stderr."""
    out, stderr_path = tmp / "probe.json", tmp / "stderr"
    if ended_early:
        notes.append(
            f"the command had not exited {REPORT_GRACE_S:g} s after the first batch was "
            "reported (by another rank, say); the rest of the job was ended"
        )
        code = 0
    report = read_report(out, notes)
    stderr_tail = tail(stderr_path)
    if timed_out:
        return Sample(
            status="timeout",
            wall_s=wall,
            error=f"no exit within the {job.timeout_s:g} s timeout; process group killed",
            notes=tuple(notes),
        )
    if code != 0:
        why = f"exit code {code}" if code is not None and code > 0 else signal_name(code)
        hint = interpreter_hint(job.argv, stderr_tail) or input_hint(job, stderr_tail)
        why = f"{why}: {hint}" if hint else why
        cause = root_cause(stderr_path)
        if cause and cause not in stderr_tail:
            why = f"{why}: {cause} …"
        return Sample(
            status="crashed",
            wall_s=wall,
            exit_code=code,
            error=f"{why}: {stderr_tail}" if stderr_tail else why,
            phases=report.get("phases", {}) if report else {},
            notes=tuple(notes),
        )
    if not report or report.get("first_batch_s") is None:
        return Sample(
            status="no_first_batch",
            wall_s=wall,
            exit_code=code,
            error=(
                f"exited with 0 but no first batch was seen (detect mode {job.detect!r}); "
                "is this a torch training command?"
            ),
            phases=report.get("phases", {}) if report else {},
            notes=tuple(notes),
        )
    return Sample(
        status="ok",
        ttfb_s=float(report["first_batch_s"]),
        cpu_s=report.get("cpu_s"),
        peak_rss_mb=report.get("peak_rss_mb"),
        phases={k: float(v) for k, v in report.get("phases", {}).items()},
        wall_s=wall,
        exit_code=code,
        detected_by=report.get("detected_by"),
        imported_files=tuple(report.get("imported_files", ())),
        opened_files=tuple(report.get("opened_files", ())),
        notes=tuple(notes + list(report.get("notes", ()))),
        probe_self_s=report.get("probe_self_s"),
        torch=report.get("torch"),
        eval_forwards=int(report.get("eval_forwards") or 0),
        **gc_fields(report),
        importtime=importtime_lines(stderr_path) if job.importtime else None,
        importtime_gc=import_pauses(report) if job.importtime else {},
    )


def _wait(
    proc: subprocess.Popen[bytes], job: Job, out: Path, scratch: Path
) -> tuple[int | None, bool, str]:
    """(exit code, or None if it did not exit; whether a first-batch report ended the wait;
    why the sample's output went over its cap, or "")."""
    deadline = time.monotonic() + job.timeout_s
    reported_at: float | None = None
    watch = FirstBatchWatch(out)
    checked = time.monotonic()
    while True:
        try:
            return proc.wait(timeout=POLL_S), False, ""
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if job.stop == "first_batch" and reported_at is None and watch.reported():
            reported_at = now
        if reported_at is not None and now - reported_at >= REPORT_GRACE_S:
            return None, True, ""
        if now - checked >= 1.0:
            checked = now
            over = over_cap(scratch)
            if over:
                return None, False, over
        if now >= deadline:
            return None, False, ""
