"""``ttfb measure``'s core: N fresh-process samples of one job, and the versioned document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..model import Executor, Job, Sample
from ..stats.summary import Summary
from ..store.files import SampleLog

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
