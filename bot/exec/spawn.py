"""Starting and ending measured processes: what the process executor and the instruction
counters share.

The probe contract (``probe_env``: the submit time, where to write the report, the stop and
detect modes), the shared clock, reading the probe's report and the stderr tail, and ending a
sample's whole process group (``end_group``), so that orphaned DataLoader workers cannot slow the
next sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import probe
from ..credentials import scrubbed
from ..model import Job
from . import host

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
    existing = rebased_path(env.get("PYTHONPATH", ""), job)
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


def rebased_path(value: str, job: Job) -> str:
    """A ``PYTHONPATH`` for a revision's worktree: an entry inside the user's checkout
    (``PYTHONPATH=$PWD`` so that ``import mingpt`` works from a subfolder) names the same
    folder in the worktree, else every arm would import the checkout's code, not its own."""
    if not value or job.source is None or job.root is None:
        return value
    source = job.source.resolve()
    out = []
    for entry in value.split(os.pathsep):
        here = Path(entry).resolve() if entry and Path(entry).is_absolute() else None
        if here is not None and here.is_relative_to(source):
            entry = str(job.root / here.relative_to(source))
        out.append(entry)
    return os.pathsep.join(out)


def signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def read_report(path: Path, notes: list[str]) -> dict[str, Any] | None:
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


def gc_fields(report: Mapping[str, Any]) -> dict[str, Any]:
    """The probe's garbage-collection figures (``Sample.gc_s``, ``gc_collections``,
    ``gc_full``), each dropped where it is not a plausible number (the report is the measured
    code's)."""
    out: dict[str, Any] = {}
    seconds, count, full = (report.get(k) for k in ("gc_s", "gc_collections", "gc_full"))
    if (gc_s := _seconds(seconds)) is not None:
        out["gc_s"] = gc_s
    for key, value in (("gc_collections", count), ("gc_full", full)):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9:
            out[key] = value
    return out


def _seconds(value: Any) -> float | None:
    """``value`` as a plausible duration in seconds, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e6:
        return float(value)
    return None


MAX_IMPORT_PAUSES = 20_000  # modules; a report is the measured code's, and may lie


def import_pauses(report: Mapping[str, Any]) -> dict[str, float]:
    """The probe's garbage collections by the module being imported (seconds), of an
    ``-X importtime`` sample; entries that are not a module name and a non-negative number
    are dropped."""
    raw = report.get("gc_imports_s")
    if not isinstance(raw, dict):
        return {}
    out: dict[str, float] = {}
    for name, seconds in list(raw.items())[:MAX_IMPORT_PAUSES]:
        value = _seconds(seconds)
        if isinstance(name, str) and len(name) <= 500 and value is not None:
            out[name] = value
    return out


class FirstBatchWatch:
    """Whether the probe has reported a first batch while the job still runs (another rank's,
    say): only then may the wait end before the job exits. The report the probe writes at exit
    does not count: the job is ending, perhaps with a crash whose exit code must be kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: int | None = None  # the mtime last read

    def reported(self) -> bool:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return False
        if mtime == self._seen:
            return False
        self._seen = mtime
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        return (
            isinstance(data, dict)
            and not data.get("at_exit")
            and data.get("first_batch_s") is not None
        )


IMPORTTIME_MAX_BYTES = 16 * 1024 * 1024


def importtime_lines(path: Path) -> str:
    """The ``import time:`` lines of a job's stderr (the rest is the job's own output)."""
    try:
        with open(path, "rb") as f:
            text = f.read(IMPORTTIME_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(line for line in text.splitlines() if line.startswith("import time:"))


# Terminal escapes (colours, OSC titles and clipboard writes) and other control characters:
# a sample's stderr is the measured code's, and its tail reaches terminals, logs and comments.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f]"
)


def printable(text: str) -> str:
    """``text`` without terminal escapes and control characters; a carriage return (a
    progress bar redrawing its line) ends a line."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = printable(path.read_bytes()[-8192:].decode("utf-8", "replace"))
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(line.strip() for line in kept)


EXCEPTION_LINE = re.compile(
    r"(?:\[[\w-]*\d+\]:\s*)?(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*(?:Error|Exception|Exit)): (\S.*)"
)


def root_cause(path: Path) -> str:
    """The last Python exception with a message in a sample's stderr (``ValueError: …``), or
    "". A launcher (``torchrun``) ends its stderr with its own summary, which names no cause:
    the tail alone would hide the worker's error."""
    try:
        text = printable(path.read_bytes()[-65536:].decode("utf-8", "replace"))
    except OSError:
        return ""
    found = [m for line in text.splitlines() if (m := EXCEPTION_LINE.fullmatch(line.strip()))]
    return f"{found[-1][1]}: {found[-1][2]}"[:300] if found else ""


OUTPUT_CAP_BYTES = 256 * 1024 * 1024  # a sample's stdout, stderr and report, together


def over_cap(scratch: Path, cap: int | None = None) -> str:
    """Why the files a sample writes in its scratch directory are over ``cap`` (default
    ``OUTPUT_CAP_BYTES``), or ""."""
    cap = OUTPUT_CAP_BYTES if cap is None else cap
    total = 0
    for path in scratch.iterdir():
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    if total <= cap:
        return ""
    return f"output over the cap of {cap // (1024 * 1024)} MB (stdout and stderr); sample ended"


MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def interpreter_hint(argv: Sequence[str], stderr_tail: str) -> str:
    """When a job failed because its interpreter lacks a module: which interpreter ran, which
    other one at hand has the module (the one ``PATH`` finds, the one running ttfb), and how
    to choose it; else ""."""
    found = MISSING_MODULE.search(stderr_tail)
    if not found or not argv:
        return ""
    ran = shutil.which(argv[0]) or argv[0]
    choose = "--python PATH (compare: --base-python/--head-python)"
    at_hand = [shutil.which(name) for name in host.BARE_PYTHONS] + [sys.executable]
    others = dict.fromkeys(p for p in at_hand if p and os.path.abspath(p) != os.path.abspath(ran))
    has = next((p for p in others if _finds_module(p, found[1])), None)
    if has:
        return f"{ran} cannot import {found[1]!r}; {has} can: choose it with {choose}"
    return (
        f"{ran} cannot import {found[1]!r}: choose the interpreter with {choose} or install it "
        "into that environment"
    )


def _finds_module(python: str, module: str) -> bool:
    """Whether ``python`` finds the top-level package of ``module`` (without importing it)."""
    check = "import importlib.util as u, sys; sys.exit(u.find_spec(sys.argv[1]) is None)"
    try:
        proc = subprocess.run(
            [python, "-I", "-c", check, module.partition(".")[0]],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


MISSING_FILE = re.compile(
    r"(?:FileNotFoundError|No such file or directory)[^'\"\n]*['\"]([^'\"\n]+)['\"]"
)


def input_hint(job: Job, stderr_tail: str) -> str:
    """When a revision's job failed on a file its worktree lacks but the user's checkout has
    (a dataset, a tokenizer: untracked or ignored by git, so no worktree holds it): which file,
    and how to link it into each arm; else ""."""
    if job.source is None or job.root is None:
        return ""
    for name in reversed(MISSING_FILE.findall(stderr_tail)):
        there = Path(os.path.normpath(job.cwd / name))  # an absolute name stays as it is
        if not there.is_relative_to(job.root):
            continue
        rel = there.relative_to(job.root).as_posix()
        if rel != "." and (job.source / rel).exists() and not there.exists():
            return (
                f"{rel} is in your checkout but not in this revision (untracked or ignored by "
                f"git): link it into each arm with --input {rel} (a scenario: inputs:)"
            )
    return ""


def group_members(pgid: int) -> list[int]:
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
        left = group_members(pgid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)
