"""The instruction counters themselves: how each backend wraps a command and reads its count
back, and which one a host can use (``choose``). ``bot.exec.counters`` runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from ..errors import UsageError

FORK_FUNCTIONS = ("fork", "__libc_fork", "_Fork")  # glibc's names; an extra dump is harmless
MODES = ("auto", "perf", "valgrind", "callgrind", "cachegrind")


@dataclass(frozen=True)
class Count:
    """One counting sample: ``status`` as for ``Sample`` (``ok``, ``crashed``, ``timeout``,
    ``no_first_batch``); ``instructions`` only when ``ok``; ``processes`` counted (None: the
    backend cannot tell), ``lost`` (their counts), ``forked`` (children that re-count a parent).
    A backend's ``read`` fills in what its files say; ``count_sample`` the rest."""

    status: str
    instructions: int | None = None
    error: str | None = None
    wall_s: float = 0.0
    processes: int | None = None
    lost: int = 0
    forked: int = 0
    backend: str = ""
    settings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class Backend(Protocol):
    """Wraps a command so that its instructions are counted, and reads the count back.
    ``slowdown``: run-time factor against a plain run (timeouts and budgets scale by it);
    ``available()``: (usable here, one line: what it is, or why not and the fix), cached."""

    @property
    def name(self) -> str: ...
    @property
    def slowdown(self) -> float: ...
    def available(self) -> tuple[bool, str]: ...
    def wrap(self, argv: Sequence[str], out_dir: Path) -> list[str]: ...
    def read(self, out_dir: Path) -> Count: ...


@dataclass(frozen=True)
class Valgrind:
    """cachegrind (``tool="cachegrind"``) or fork-exact callgrind, following every exec."""

    name: str = "valgrind"
    tool: str = "cachegrind"
    slowdown: float = 30.0  # measured 25x on `import torch`
    main_only: bool = False  # the measured process alone

    @cache  # noqa: B019 - two module-level instances
    def available(self) -> tuple[bool, str]:
        exe, tool = shutil.which("valgrind"), self.tool
        if exe is None:
            return False, "valgrind not found: apt-get install valgrind"
        code, _, last = run_check([exe, f"--tool={tool}", f"--{tool}-out-file=/dev/null", "true"])
        if code != 0:
            return False, f"valgrind --tool={tool} true failed ({code}): {last}"
        return True, f"valgrind --tool={tool} ({exe})"

    def wrap(self, argv: Sequence[str], out_dir: Path) -> list[str]:
        trace = "no" if self.main_only else "yes"
        opts = [f"--tool={self.tool}", f"--trace-children={trace}"]
        opts += [f"--{self.tool}-out-file={out_dir}/cg.out.%p", f"--log-file={out_dir}/vg.log.%p"]
        if self.tool == "cachegrind":
            opts.append("--cache-sim=no")
        else:
            opts += [f"--dump-before={fn}" for fn in FORK_FUNCTIONS]
        return [shutil.which("valgrind") or "valgrind", *opts, "--", *argv]

    def read(self, out_dir: Path) -> Count:
        return read_valgrind(out_dir, fork_exact=self.tool == "callgrind", main_only=self.main_only)


@dataclass(frozen=True)
class Perf:
    """``perf stat -e instructions:u`` over the command and the children that exit before it."""

    name: str = "perf"
    slowdown: float = 1.05

    def available(self) -> tuple[bool, str]:
        return _perf_check()  # cached

    def wrap(self, argv: Sequence[str], out_dir: Path) -> list[str]:
        perf, out = shutil.which("perf") or "perf", str(out_dir / "perf.csv")
        return [perf, "stat", "-x,", "-e", "instructions:u", "--no-big-num", "-o", out, "--", *argv]

    def read(self, out_dir: Path) -> Count:
        out = out_dir / "perf.csv"
        value, raw = parse_perf(out.read_text() if out.exists() else "")
        return Count("ok", value, notes=(f"perf stat: {raw or 'no line'}",) * (value is None))


CALLGRIND = Valgrind("callgrind", "callgrind", 45.0)  # measured 38x on `import torch`
CACHEGRIND = Valgrind("cachegrind", "cachegrind", 32.0, main_only=True)  # measured 33x
BACKENDS: Mapping[str, Backend] = {
    "perf": Perf(),
    "valgrind": Valgrind(),
    "callgrind": CALLGRIND,
    "cachegrind": CACHEGRIND,
}


def parse_perf(text: str) -> tuple[int | None, str]:
    """(count, raw value) of the ``instructions`` line of ``perf stat -x,`` output; the count
    is None for ``<not supported>``/``<not counted>`` or when there is no such line."""
    for line in text.splitlines():
        fields = line.strip().split(",")
        if not line.startswith("#") and len(fields) > 2 and fields[2].startswith("instructions"):
            raw = fields[0].strip()
            return (int(raw) if raw.isdigit() else None), raw
    return None, ""


def read_valgrind(out_dir: Path, *, fork_exact: bool, main_only: bool = False) -> Count:
    """Sum ``Ir`` (the first event) over every ``cg.out.<pid>[.<part>]``: the last ``totals:``
    (callgrind) or ``summary:`` (cachegrind) line, written last. A process with a log but no
    complete final file lost its counts. Unless ``fork_exact``, a counted process whose log
    names a counted parent with the same command was forked without exec. ``main_only``: the
    one process whose parent was not counted (the measured process) alone."""
    totals: dict[int, int] = {}
    final: set[int] = set()
    for path in out_dir.glob("cg.out.*"):
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            tail = f.read().decode("utf-8", "replace")
        found = re.findall(r"^(?:totals|summary):\s*(\d+)", tail, re.M)
        name = re.fullmatch(r"cg\.out\.(\d+)(\.\d+)?", path.name)
        if name and found:
            totals[int(name[1])] = totals.get(int(name[1]), 0) + int(found[-1])
            final.update([int(name[1])] if name[2] is None else [])
    logs: dict[int, tuple[str, str]] = {}  # pid -> (command, parent pid)
    for log in (f for f in out_dir.glob("vg.log.*") if f.suffix[1:].isdigit()):
        text = log.read_text(errors="replace")
        cmd = re.search(r"^==\d+== Command: (.*)$", text, re.M)
        parent = re.search(r"^==\d+== Parent PID: (\d+)", text, re.M)
        logs[int(log.suffix[1:])] = (cmd[1] if cmd else "", parent[1] if parent else "")
    if main_only:
        roots = {p for p in totals if not _child_of_counted(logs, p)}
        totals = {p: n for p, n in totals.items() if p in roots}
        final &= roots
        logs = {p: v for p, v in logs.items() if p in roots}
    lost = sorted(set(logs) - final)
    forked = [] if fork_exact or main_only else [p for p in final if _forked(logs, p, final)]
    notes = [f"counts lost (SIGKILL?) of process(es) {lost}"] if lost else []
    notes += [
        f"{len(forked)} forked child(ren) re-count their parent's instructions up to the "
        "fork (cachegrind cannot reset at fork); mode 'callgrind' counts each once"
    ] * bool(forked)
    notes += [f"valgrind wrote no counts (see {out_dir}/vg.log.*)"] * (not totals)
    total, counted = (sum(totals.values()) if totals else None), len(totals)
    return Count(
        "ok", total, processes=counted, lost=len(lost), forked=len(forked), notes=(*notes,)
    )


def _child_of_counted(logs: Mapping[int, tuple[str, str]], pid: int) -> bool:
    parent = logs.get(pid, ("", ""))[1]
    return parent.isdigit() and int(parent) in logs


def _forked(logs: Mapping[int, tuple[str, str]], pid: int, counted: set[int]) -> bool:
    cmd, parent = logs.get(pid, ("", ""))
    return parent.isdigit() and int(parent) in counted and logs.get(int(parent), ("",))[0] == cmd


def run_check(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout + stderr, its last line) of a quick check; -1 if it did not run."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return -1, str(exc), str(exc)
    text = proc.stdout + proc.stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()] or ["no output"]
    return proc.returncode, text, lines[-1]


@cache
def _perf_check() -> tuple[bool, str]:
    exe = shutil.which("perf")
    if exe is None:
        return False, "perf not found: apt-get install linux-perf (Ubuntu: linux-tools-$(uname -r))"
    code, text, last = run_check([exe, "stat", "-x,", "-e", "instructions:u", "true"])
    value, raw = parse_perf(text)
    if value is not None and code == 0:
        return True, f"perf stat -e instructions:u ({exe})"
    if raw.startswith("<not supported>"):
        return False, "instructions:u <not supported> (no hardware counters: a VM?); use valgrind"
    knob = Path("/proc/sys/kernel/perf_event_paranoid")
    paranoid = knob.read_text().strip() if knob.exists() else ""
    if paranoid.isdigit() and int(paranoid) > 2:
        return False, f"perf_event_paranoid is {paranoid}: sudo sysctl kernel.perf_event_paranoid=2"
    return False, f"perf stat -e instructions:u failed ({code}): {raw or last}"


def choose(mode: str, backends: Mapping[str, Backend] = BACKENDS) -> tuple[Backend | None, str]:
    """The backend for ``mode`` and one line on why. ``auto``: perf if available, else
    ``cachegrind`` on the measured process (1.5x faster than callgrind on the bundled
    ranker's start-up, 121 s against 188 s a count, the same count to 0.07%; its workers'
    work is left to wall time), else (None, each reason and fix); a named one: it, or
    ``UsageError``."""
    if mode not in MODES:
        raise UsageError(f"--instructions-backend {mode}: expected one of {', '.join(MODES)}")
    reasons: list[str] = []
    for name in ("perf", "cachegrind") if mode == "auto" else (mode,):
        ok, why = backends[name].available()
        if ok:
            return backends[name], "; ".join([*reasons, f"using {why}"])
        reasons.append(f"{name} unavailable: {why}")
    if mode != "auto":
        raise UsageError(f"--instructions-backend {mode}: {reasons[0]}")
    return None, "no instruction counter: " + "; ".join(reasons)
