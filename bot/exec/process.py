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

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import probe
from ..credentials import scrubbed
from ..model import Job, Sample

STDERR_TAIL_LINES = 15
GROUP_GONE_WAIT_S = 5.0
REPORT_GRACE_S = 1.0  # after a first-batch report, how long the command may take to exit
POLL_S = 0.05


def clock_ns() -> int:
    """The clock shared with the probe: ``CLOCK_MONOTONIC`` is system-wide on Linux/macOS."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def probe_env(job: Job, out: Path, t0_ns: int) -> dict[str, str]:
    """The full environment for the measured process: inherited (minus ``job.unset`` and the
    credentials it does not keep, ``bot.credentials``) + job + the probe contract."""
    env = scrubbed(os.environ, keep=job.pass_env, drop=job.unset)
    env.update(job.env)
    existing = env.get("PYTHONPATH", "")
    site = probe.site_dir(job.argv[0] if job.argv else None)
    env["PYTHONPATH"] = str(site) + (os.pathsep + existing if existing else "")
    env[probe.ENV_OUT] = str(out)
    env[probe.ENV_T0] = str(t0_ns)
    env[probe.ENV_STOP] = job.stop
    env[probe.ENV_DETECT] = job.detect
    env[probe.ENV_ROOT] = str(job.root) if job.root else ""
    if job.importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    env[probe.ENV_OUTER_RANKS] = ",".join(
        f"{var}={os.environ[var]}" for var in probe.RANK_VARS if var in os.environ
    )
    return env


class ProcessExecutor:
    """Runs each sample as a real process (see the module docstring)."""

    def run(self, job: Job) -> Sample:
        with tempfile.TemporaryDirectory(prefix="ttfb-sample-") as tmp:
            return self._run(job, Path(tmp))

    def _run(self, job: Job, tmp: Path) -> Sample:
        out = tmp / "probe.json"
        stderr_path = tmp / "stderr"
        with open(tmp / "stdout", "wb") as stdout, open(stderr_path, "wb") as stderr:
            t0 = clock_ns()
            env = probe_env(job, out, t0)
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
            code, ended_early = _wait(proc, job, out)
            timed_out = code is None and not ended_early
            wall = (clock_ns() - t0) / 1e9
            survivors = end_group(proc.pid)
            if code is None:
                proc.wait()
        notes = [f"processes of the group survived SIGKILL: {survivors}"] if survivors else []
        if ended_early:
            notes.append(
                f"the command had not exited {REPORT_GRACE_S:g} s after the first batch was "
                "reported (by another rank, say); the rest of the job was ended"
            )
            code = 0
        report = _read_report(out, notes)
        tail = _tail(stderr_path)
        if timed_out:
            return Sample(
                status="timeout",
                wall_s=wall,
                error=f"no exit within the {job.timeout_s:g} s timeout; process group killed",
                notes=tuple(notes),
            )
        if code != 0:
            why = f"exit code {code}" if code is not None and code > 0 else _signal_name(code)
            return Sample(
                status="crashed",
                wall_s=wall,
                exit_code=code,
                error=f"{why}: {tail}" if tail else why,
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
            importtime=_importtime_lines(stderr_path) if job.importtime else None,
        )


def _wait(proc: subprocess.Popen[bytes], job: Job, out: Path) -> tuple[int | None, bool]:
    """(exit code, or None if it did not exit; whether a first-batch report ended the wait)."""
    deadline = time.monotonic() + job.timeout_s
    reported_at: float | None = None
    while True:
        try:
            return proc.wait(timeout=POLL_S), False
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if job.stop == "first_batch" and out.exists():
            reported_at = reported_at if reported_at is not None else now
            if now - reported_at >= REPORT_GRACE_S:
                return None, True
        if now >= deadline:
            return None, False


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _read_report(path: Path, notes: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        notes.append(f"unreadable probe report: {exc}")
        return None
    if not isinstance(data, dict) or data.get("version") != probe.REPORT_VERSION:
        notes.append(f"probe report of unknown version {data.get('version')!r}")
        return None
    return data


IMPORTTIME_MAX_BYTES = 16 * 1024 * 1024


def _importtime_lines(path: Path) -> str:
    """The ``import time:`` lines of a job's stderr (the rest is the job's own output)."""
    try:
        with open(path, "rb") as f:
            text = f.read(IMPORTTIME_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(line for line in text.splitlines() if line.startswith("import time:"))


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_bytes()[-8192:].decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(line.strip() for line in kept)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid`` (Linux: from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def end_group(pgid: int, wait_s: float = GROUP_GONE_WAIT_S) -> list[int]:
    """SIGKILL every process in group ``pgid``; return those still alive after ``wait_s``."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return []
    if not sys.platform.startswith("linux"):
        time.sleep(0.05)
        return []
    deadline = time.monotonic() + wait_s
    while True:
        left = _group_members(pgid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)
