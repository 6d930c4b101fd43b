"""``ttfb measure``'s core: N fresh-process samples of one job, and the versioned document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..model import Counter, Executor, Job, Sample
from ..stats import importtime, importtrace
from ..stats.instructions import spread_pct
from ..stats.summary import Summary
from ..store.versioned import SampleLog
from .attribution import gc_ms

MEASURE_VERSION = 1

SampleProgress = Callable[[int, int, Sample], None]
"""(sample number, samples planned, the sample): for a progress line per sample."""


def run_samples(
    job: Job,
    *,
    runs: int,
    warmup: int,
    executor: Executor,
    log: SampleLog | None = None,
    progress: SampleProgress | None = None,
) -> tuple[list[Sample], list[Sample]]:
    """Warm-up samples (discarded, but logged) then ``runs`` measured ones.

    A failed warm-up ends the run at once: the command is broken, and repeating it would only
    spend the budget. Returns ``(warmups, samples)``.
    """

    def one(warm: bool) -> Sample:
        sample = executor.run(job)
        if log:
            log.append(sample, warmup=warm)
        return sample

    warmups: list[Sample] = []
    for _ in range(warmup):
        warmups.append(one(True))
        if not warmups[-1].ok:
            return warmups, []
    samples: list[Sample] = []
    for i in range(runs):
        samples.append(one(False))
        if progress:
            progress(i + 1, runs, samples[-1])
    return warmups, samples


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


def count_instructions(counter: Counter, job: Job, *, runs: int = 2) -> str:
    """``measure --instructions``: one line on ``runs`` counts of ``job`` (a job that ends at
    start-up's end, ``bot.ab.counting.counted_job``, or at its first batch)."""
    what = "CPU work from start to the first " + ("forward" if job.detect == "startup" else "batch")
    counts = []
    for _ in range(runs):
        count = counter.count(job)
        if count.status != "ok" or count.instructions is None:
            return f"{what}: not counted ({count.status}: {count.error})"
        counts.append(count.instructions)
    median = sorted(counts)[len(counts) // 2]
    settings = "; ".join(counter.settings)
    return (
        f"{what}: {median:,} instructions ({runs} runs under {counter.name}, "
        f"spread {spread_pct(counts):.4f}%; {settings})"
    )


def import_profile(executor: Executor, job: Job, *, runs: int = 1, top: int = 15) -> str:
    """``measure --importtime``: the slowest imports, from samples under ``-X importtime``."""
    trees, samples = [], []
    for _ in range(runs):
        sample = executor.run(replace(job, importtime=True))
        if not sample.ok or not sample.importtime:
            return f"import profile: sample {sample.status}: {sample.error or 'no output'}"
        trees.append(importtrace.own_times(sample.importtime, sample.importtime_gc))
        samples.append(sample)
    gc = ""
    if any(s.importtime_gc for s in samples):
        gc = f"; garbage collection inside them, {gc_ms(samples):.0f} ms, not included"
    lines = [f"slowest imports (cumulative, -X importtime, {runs} sample(s){gc}):"]
    for imp in importtime.top_imports(trees, n=top):
        indent = "  " if imp.within else ""
        lines.append(f"  {imp.cumulative_s * 1000:8.0f} ms  {indent}{imp.name}")
    return "\n".join(lines)
