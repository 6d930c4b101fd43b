"""Every process a sample starts ends with the sample.

Killing the sample's process group is not enough: a ``setsid`` daemon or a double fork leaves
the group and would outlive the sample, and ``ttfb`` itself; on a persistent self-hosted
runner it could tamper with later steps and jobs (results files before upload, caches). So
each sample is contained, by the strongest means this host allows:

1. a **cgroup v2 of its own** when this process may create one under its own cgroup (root, or
   a delegated subtree): every descendant is in it, whatever it does with sessions and
   groups, and all of them are killed together (``cgroup.kill``, else each member);
2. otherwise this process is a **child subreaper** (``PR_SET_CHILD_SUBREAPER``), so orphans
   re-parent to it rather than to init, and every process started by the sample carries a
   **token** in its environment: after the sample, any live process whose environment holds
   the token is killed and reaped. A process that wipes its environment and escapes its
   session is caught only by the cgroup: the docs say so, and advise ephemeral runners.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sys
import time
from functools import cache
from pathlib import Path

TOKEN_ENV = "TTFB_LAB_SAMPLE"
PR_SET_CHILD_SUBREAPER = 36
KILL_WAIT_S = 5.0


@cache
def become_subreaper() -> bool:
    """Make this process the child subreaper of its descendants (Linux); whether it is."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@cache
def _cgroup_root() -> Path | None:
    """This process's own cgroup v2 directory, when a child cgroup can be made in it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        own = next(
            line.split("::", 1)[1].strip()
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        )
        mount = next(
            line.split()[4]
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if " - cgroup2 " in line
        )
    except (OSError, StopIteration, IndexError):
        return None
    base = Path(mount) / own.lstrip("/")
    probe = base / f"ttfb-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return base


class Containment:
    """One sample's processes (see the module docstring): ``env()`` for the child, ``adopt``
    its pid right after it starts, ``end()`` when the sample is over."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(12)
        self.cgroup: Path | None = None
        root = _cgroup_root()
        if root is not None:
            path = root / f"ttfb-{os.getpid()}-{self.token[:8]}"
            with contextlib.suppress(OSError):
                path.mkdir()
                self.cgroup = path
        if self.cgroup is None:
            become_subreaper()

    @property
    def how(self) -> str:
        return "cgroup" if self.cgroup is not None else "subreaper"

    def env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token}

    def adopt(self, pid: int) -> None:
        """Put the sample's first process (and so all it starts) in the sample's cgroup."""
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                (self.cgroup / "cgroup.procs").write_text(str(pid))

    def end(self) -> list[int]:
        """Kill every process of the sample and reap those that are ours; the pids still
        alive after ``KILL_WAIT_S`` (normally none)."""
        deadline = time.monotonic() + KILL_WAIT_S
        left = self.members()
        while left and time.monotonic() < deadline:
            self._kill(left)
            time.sleep(0.02)
            left = self.members()
        if self.cgroup is not None and not left:
            with contextlib.suppress(OSError):
                self.cgroup.rmdir()
        return left

    def members(self) -> list[int]:
        """Live processes of the sample: its cgroup's, and any carrying its token."""
        found: set[int] = set()
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                procs = (self.cgroup / "cgroup.procs").read_text().split()
                found.update(int(p) for p in procs if p.isdigit())
        found.update(_with_token(self.token))
        return sorted(p for p in found if _alive(p))

    def _kill(self, pids: list[int]) -> None:
        if self.cgroup is not None and (self.cgroup / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.cgroup / "cgroup.kill").write_text("1")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)  # ours once re-parented: reap it


def _with_token(token: str) -> list[int]:
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in os.listdir("/proc") if sys.platform.startswith("linux") else ():
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie (a zombie is dead; reaping it is its parent's business)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
