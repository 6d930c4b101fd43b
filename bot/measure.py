"""``ttfb measure``: N fresh-process samples of one scenario or ad-hoc command, summarised."""

from __future__ import annotations

import atexit
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import hostinfo, shrinkrun
from .results import SampleLog
from .sample import Executor, Job, Sample
from .scenarios import Scenario

MEASURE_VERSION = 1

ProgressFn = Callable[[int, int, Sample], None]


def scenario_job(
    scenario: Scenario,
    *,
    root: Path,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    workdir: Path | None = None,
) -> Job:
    """The job for one sample of ``scenario`` in the checkout at ``root``.

    A scenario with a ``shrink:`` block gets its production command shrunk for this checkout
    (``shrinkrun``); the shrunk config goes to ``workdir`` (a temporary directory by default).
    """
    argv = scenario.command_for(python)
    base_env: dict[str, str] = {}
    report = None
    if scenario.shrink is not None:
        shrunk = shrinkrun.shrink_command(
            argv,
            scenario.shrink,
            root=root,
            workdir=workdir or _workdir(),
            python=python,
            name=scenario.name,
        )
        argv, base_env, report = list(shrunk.argv), dict(shrunk.env), shrunk.to_json()
    return Job(
        argv=tuple(argv),
        cwd=(root / scenario.cwd).resolve(),
        env={**base_env, **scenario.env, **(env or {})},
        shrink=report,
        timeout_s=timeout_s if timeout_s is not None else scenario.timeout_s,
        stop=scenario.stop.env_value,
        detect=scenario.first_batch,
        root=root.resolve(),
        scenario=scenario.name,
    )


@cache
def _workdir() -> Path:
    """A temporary directory for shrunk configs, removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix="ttfb-shrunk-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def gpu_skip_reason(scenario: Scenario) -> str | None:
    """Why a GPU scenario cannot run here, or None when it can."""
    if not scenario.needs_gpu:
        return None
    info = hostinfo.gpus()
    if info.count >= scenario.resources.gpu:
        return None
    return (
        f"needs {scenario.resources.gpu} GPU(s) on runner "
        f"[{', '.join(scenario.resources.runner)}]; this machine has {info.count} ({info.how})"
    )


def run_samples(
    job: Job,
    *,
    runs: int,
    warmup: int,
    executor: Executor,
    log: SampleLog | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[Sample], list[Sample]]:
    """Warm-up samples (discarded, but logged) then ``runs`` measured ones.

    A failed warm-up ends the run at once: the command is broken, and repeating it would only
    spend the budget. Returns ``(warmups, samples)``.
    """
    warmups: list[Sample] = []
    for _ in range(warmup):
        sample = executor.run(job)
        warmups.append(sample)
        if log:
            log.append(sample, warmup=True)
        if not sample.ok:
            return warmups, []
    samples: list[Sample] = []
    for i in range(runs):
        sample = executor.run(job)
        samples.append(sample)
        if log:
            log.append(sample, warmup=False)
        if progress:
            progress(i + 1, runs, sample)
    return warmups, samples


@dataclass(frozen=True)
class Spread:
    """Median and spread of one quantity over the ok samples."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        if not values:
            return None
        if len(values) == 1:
            v = values[0]
            return cls(1, v, v, v, v, v)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), q1, q3, min(values), max(values))

    def to_json(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("n", "median", "q1", "q3", "low", "high")}


@dataclass(frozen=True)
class Summary:
    """What ``measure`` prints: TTFB, CPU, RSS and per-phase spreads, and the failures."""

    name: str
    ok: int
    failed: int
    statuses: Mapping[str, int]
    ttfb: Spread | None
    cpu: Spread | None
    rss_mb: Spread | None
    phases: Mapping[str, Spread] = field(default_factory=dict)
    detected_by: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        def spread(s: Spread | None) -> dict[str, float] | None:
            return s.to_json() if s else None

        return {
            "name": self.name,
            "ok": self.ok,
            "failed": self.failed,
            "statuses": dict(self.statuses),
            "ttfb_s": spread(self.ttfb),
            "cpu_s": spread(self.cpu),
            "peak_rss_mb": spread(self.rss_mb),
            "phases": {k: v.to_json() for k, v in self.phases.items()},
            "detected_by": dict(self.detected_by),
            "errors": list(self.errors),
            "skipped": self.skipped,
        }


def summarize(name: str, samples: Sequence[Sample], skipped: str | None = None) -> Summary:
    """Spreads over the ok samples; phases in order of their median time since submit."""
    ok = [s for s in samples if s.ok]
    phase_values: dict[str, list[float]] = {}
    for s in ok:
        for phase, t in s.phases.items():
            phase_values.setdefault(phase, []).append(t)
    phases = {k: Spread.of(v) for k, v in phase_values.items()}
    ordered = dict(sorted(((k, v) for k, v in phases.items() if v), key=lambda kv: kv[1].median))
    errors = tuple(dict.fromkeys(s.error for s in samples if not s.ok and s.error))
    return Summary(
        name=name,
        ok=len(ok),
        failed=len(samples) - len(ok),
        statuses=dict(Counter(s.status for s in samples)),
        ttfb=Spread.of([s.ttfb_s for s in ok if s.ttfb_s is not None]),
        cpu=Spread.of([s.cpu_s for s in ok if s.cpu_s is not None]),
        rss_mb=Spread.of([s.peak_rss_mb for s in ok if s.peak_rss_mb is not None]),
        phases=ordered,
        detected_by=dict(Counter(s.detected_by for s in ok if s.detected_by)),
        errors=errors,
        skipped=skipped,
    )


def measurement_json(
    summaries: Sequence[Summary],
    samples: Mapping[str, Sequence[Sample]],
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    """The versioned ``--json`` document of ``ttfb measure``.

    With one target the document has top-level ``samples`` and ``summary``; every target is
    also listed under ``targets``.
    """
    targets = [
        {
            "name": s.name,
            "summary": s.to_json(),
            "samples": [x.to_json() for x in samples.get(s.name, ())],
        }
        for s in summaries
    ]
    doc: dict[str, Any] = {"version": MEASURE_VERSION, **meta, "targets": targets}
    if len(targets) == 1:
        doc["samples"] = targets[0]["samples"]
        doc["summary"] = targets[0]["summary"]
    return doc
