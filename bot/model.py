"""The types every layer shares: a job, its sample, a pair, the verdict, the executor protocol.

Pure: no I/O. ``check_version`` is the one rule for versioned documents (every JSON file the
tool writes carries ``"version"``; a newer one than this reader knows is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Protocol

from .errors import ResultsError

Progress = Callable[[str], None]
"""A line of progress for people (stderr in the CLI)."""

CountingMode = Literal["auto", "on", "off"]
"""Whether CPU work to first batch is counted: ``auto`` where a counter is available."""
COUNTING_MODES: tuple[CountingMode, ...] = ("auto", "on", "off")

CountUntil = Literal["first_forward", "first_batch"]
"""Where an instruction count ends: start-up (the first forward of any kind, a loader's first
batch, the mark), or the scenario's own first batch."""

SampleStatus = Literal["ok", "timeout", "crashed", "no_first_batch"]


COUNT_CAP_S = 300.0
"""The most time counting CPU work gets per scenario unless ``--count-cap-s`` says otherwise;
below that, at most the time its timed samples took (``bot.ab.counting``)."""


class Verdict(str, Enum):
    """What a comparison of one scenario concluded. The value is what files carry."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no_change"
    INCONCLUSIVE = "inconclusive"
    BROKEN = "broken"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value

    @property
    def moved(self) -> bool:
        """A confirmed change of TTFB, either way."""
        return self in (Verdict.REGRESSION, Verdict.IMPROVEMENT)

    @property
    def fails_gate(self) -> bool:
        """What fails ``--gate``, ``ttfb/pr`` and the release gate: a confirmed regression, or a
        scenario that could not be measured (never a silent pass)."""
        return self in (Verdict.REGRESSION, Verdict.BROKEN)

    @property
    def judged(self) -> bool:
        """A verdict reached by measuring both arms (not broken, not skipped)."""
        return self not in (Verdict.BROKEN, Verdict.SKIPPED)


SEVERITY = (
    Verdict.BROKEN,
    Verdict.REGRESSION,
    Verdict.INCONCLUSIVE,
    Verdict.IMPROVEMENT,
    Verdict.NO_CHANGE,
    Verdict.SKIPPED,
)
"""The order people must see verdicts in: worst first."""


@dataclass(frozen=True)
class Job:
    """Everything needed to start one sample."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)  # added to (and overriding) os.environ
    timeout_s: float = 300.0
    stop: str = "first_batch"  # probe stop mode: first_batch | steps:K | exit
    detect: str = "auto"
    root: Path | None = None  # repo root: files under it are listed as imported/opened
    unset: tuple[str, ...] = ()  # variables removed from the inherited environment
    pass_env: tuple[str, ...] = ()  # credentials the job may keep (bot.credentials)
    label: str = ""  # which arm this job belongs to ("base", "head"): logs and fake executors
    scenario: str = ""  # which scenario (or ad-hoc command) it measures
    shrink: Mapping[str, Any] | None = None  # what the shrinker changed (report), if anything
    importtime: bool = False  # run with PYTHONPROFILEIMPORTTIME=1 and keep its lines
    revision: str | None = None  # the commit its checkout is at, when it is a revision's
    source: Path | None = None  # the checkout a revision's worktree came from (input hints)


@dataclass(frozen=True)
class Sample:
    """The outcome of one process run. ``ttfb_s`` is set only when ``status == "ok"``.

    ``status`` is one of ``ok``, ``timeout``, ``crashed``, ``no_first_batch``.
    """

    status: str
    ttfb_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    phases: Mapping[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    exit_code: int | None = None
    error: str | None = None
    detected_by: str | None = None
    imported_files: tuple[str, ...] = ()
    opened_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    arm: str = ""
    probe_self_s: float | None = None  # time in probe code before the first batch, if asked
    torch: str | None = None  # torch version the measured process imported
    eval_forwards: int = 0  # eval / no-grad forwards before the first training forward
    # the cyclic garbage collector in the reporting process up to the first batch: seconds,
    # collections, and how many of those were full (oldest generation)
    gc_s: float | None = None
    gc_collections: int | None = None
    gc_full: int | None = None
    importtime: str | None = None  # the `import time:` lines, for an importtime job
    # for an importtime job, the seconds of garbage collection inside each module's import
    importtime_gc: Mapping[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["phases"] = dict(self.phases)
        data["importtime_gc"] = dict(self.importtime_gc)
        for key in ("imported_files", "opened_files", "notes"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sample:
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("imported_files", "opened_files", "notes"):
            kwargs[key] = tuple(kwargs.get(key, ()))
        kwargs["phases"] = dict(kwargs.get("phases", {}))
        kwargs["importtime_gc"] = dict(kwargs.get("importtime_gc", {}))
        return cls(**kwargs)


@dataclass(frozen=True)
class Pair:
    """Base and head samples from the same position of one ABBA (or BAAB) block."""

    base: Sample
    head: Sample
    block: int = 0

    def row(self, stage: str) -> dict[str, Any]:
        """The pair as the results document's per-sample list holds it."""
        return {
            "stage": stage,
            "block": self.block,
            "base_s": self.base.ttfb_s,
            "head_s": self.head.ttfb_s,
            "base_cpu_s": self.base.cpu_s,
            "head_cpu_s": self.head.cpu_s,
        }


CounterBackend = Literal["auto", "perf", "valgrind", "callgrind", "cachegrind"]
"""Which instruction counter: ``auto`` picks perf where the host has counters, else callgrind."""
COUNTER_BACKENDS: tuple[CounterBackend, ...] = (
    "auto",
    "perf",
    "valgrind",
    "callgrind",
    "cachegrind",
)


class Count(Protocol):
    """One counting sample: its status and, when ``ok``, the instructions to first batch."""

    @property
    def status(self) -> str: ...
    @property
    def instructions(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...


class Counter(Protocol):
    """Runs a job under an instruction counter (``bot.exec.counters``, or scripted counts)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> tuple[str, ...]: ...
    @property
    def slowdown(self) -> float: ...

    def count(self, job: Job) -> Count: ...


ProfilerTool = Literal["auto", "py-spy", "sampler"]
"""Which sampling profiler: ``auto`` takes py-spy where it attaches, else the probe's own."""
PROFILER_TOOLS: tuple[ProfilerTool, ...] = ("auto", "py-spy", "sampler")


@dataclass(frozen=True)
class ProfileSettings:
    """How profiling samples are taken: ``runs`` per arm (ABBA order), the sampling rate, and
    whether native frames and the job's other processes (DataLoader workers) are included."""

    runs: int = 5
    rate_hz: int = 250
    native: bool = False
    subprocesses: bool = False
    tool: ProfilerTool = "auto"


@dataclass(frozen=True)
class Profile:
    """One profiling sample: the sample as timed under the profiler, and its collapsed stacks
    (``"fn (path:line);…"`` root to leaf, the main thread of the process that reported the
    first batch) with their weights; ``error`` when no stacks came back."""

    sample: Sample
    stacks: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    # the sample's garbage collections: collapsed stacks they interrupted -> microseconds
    gc: Mapping[str, float] = field(default_factory=dict)


class Profiler(Protocol):
    """Runs a job under a sampling profiler until its first batch (``bot.exec.profiler``, or
    scripted stacks)."""

    @property
    def name(self) -> str: ...

    def profile(self, job: Job) -> Profile: ...

    def instead(self) -> Profiler | None:
        """The profiler to profile the target again with when this one could not record the
        job at all (py-spy that kept losing the race to attach to a short job: the in-process
        sampler), else None. Both arms are then profiled again, never one profiler per arm."""
        ...


class Executor(Protocol):
    """Runs a job and returns its sample: real processes, or scripted timings in tests.

    What an executor can do beyond timed samples is part of the protocol, so the engine never
    asks which kind it holds: ``attributes_imports`` (its samples can carry ``-X importtime``
    lines), ``counter`` (an instruction counter for its jobs, or None with the reason) and
    ``profiler`` (a sampling profiler for its jobs, or None with the reason).
    """

    def run(self, job: Job) -> Sample: ...

    def new_block(self) -> None:
        """An ABBA block starts (scripted and resampled executors draw the block's load)."""

    @property
    def attributes_imports(self) -> bool: ...

    def counter(self, backend: CounterBackend, workdir: Path) -> tuple[Counter | None, str]:
        """The counter for this executor's jobs and one line that says which and why; None
        (with the reason) where none is available."""
        ...

    def profiler(self, settings: ProfileSettings) -> tuple[Profiler | None, str]:
        """The sampling profiler for this executor's jobs and one line that says which and
        why; None (with the reason) where none is available."""
        ...


class TimedOnly:
    """A base for executors that return timed samples and nothing more (replays of recorded
    samples, test doubles): no import times, no instruction counter, no profiler, no block
    state."""

    attributes_imports = False

    def new_block(self) -> None:
        """Nothing to draw at a block's start."""

    def counter(self, backend: CounterBackend, workdir: Path) -> tuple[Counter | None, str]:
        return None, f"{type(self).__name__} has no instruction counter"

    def profiler(self, settings: ProfileSettings) -> tuple[Profiler | None, str]:
        return None, f"{type(self).__name__} has no profiler"


def check_version(data: Any, *, source: str | Path, known: int) -> dict[str, Any]:
    """Accept a decoded document only if it is an object of a version we can read."""
    if not isinstance(data, dict):
        raise ResultsError(f"{source}: expected a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultsError(f"{source}: version: missing or not an integer")
    if version > known:
        raise ResultsError(
            f"{source}: version: {version} is newer than this ttfb understands ({known}); "
            "upgrade ttfb-lab"
        )
    return data
