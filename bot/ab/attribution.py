"""Which import it was: dedicated attribution samples of both arms, under ``-X importtime``.

They are never the timed samples: ``PYTHONPROFILEIMPORTTIME`` adds its own cost. ``runs``
samples per arm, alternating, each keeping its ``import time:`` lines and the garbage
collections the probe timed inside each import, which are taken out of the modules' times (a
collection lands on whichever import allocates when it runs: ``importtime.without_gc``); then
``bot.stats.importtime`` finds what head newly imports (and no longer imports), with the first
repository file on the import chain (from the files the probe saw imported), and the paired
change of cumulative import time per top-level package. Runs by default for a scenario with a
finding, and for every scenario on request (``--attribute``).
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from ..model import Executor, Job, Progress, Sample
from ..stats import importtime, importtrace

DEFAULT_RUNS = 3
SLOWDOWN = 1.2  # an attribution sample's wall time, relative to a timed one (planning only)


def script_of(job: Job) -> str | None:
    """The repository file the job runs as ``__main__`` (``python x.py`` or ``-m pkg.mod``)."""
    argv = list(job.argv)
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "-m" and i + 1 < len(argv):
            return argv[i + 1].replace(".", "/") + ".py"
        if arg.endswith(".py") and not arg.startswith("-"):
            path = (job.cwd / arg).resolve()
            root = (job.root or job.cwd).resolve()
            return path.relative_to(root).as_posix() if path.is_relative_to(root) else arg
        if not arg.startswith("-"):
            return None
    return None


def attribute(
    base: Job,
    head: Job,
    executor: Executor,
    *,
    name: str,
    runs: int = DEFAULT_RUNS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The attribution document of one target (``{"error": …}`` when the samples failed)."""
    if progress:
        progress(f"{name}: attributing imports, {runs}+{runs} samples under -X importtime")
    jobs = {"base": replace(base, importtime=True), "head": replace(head, importtime=True)}
    got: dict[str, list[Sample]] = {"base": [], "head": []}
    for i in range(runs):
        for arm in ("base", "head") if i % 2 == 0 else ("head", "base"):
            sample = executor.run(jobs[arm])
            if not sample.ok or not sample.importtime:
                why = sample.error or (
                    "no import-time output (not a Python process?)" if sample.ok else sample.status
                )
                return {"error": f"{arm} attribution sample: {why}"}
            got[arm].append(sample)
    files = {f for s in got["base"] + got["head"] for f in s.imported_files}
    module_files = importtime.module_names_for_files(files)
    script = script_of(head)
    if script and script.endswith(".py") and not (head.root or head.cwd).joinpath(script).exists():
        script = module_files.get(script[:-3].replace("/", "."), script)
    result = importtime.attribute(
        [importtrace.own_times(s.importtime or "", s.importtime_gc) for s in got["base"]],
        [importtrace.own_times(s.importtime or "", s.importtime_gc) for s in got["head"]],
        module_files=module_files,
        script=script,
    )
    doc = result.to_json()
    doc["sentences"] = result.sentences()
    doc["runs"] = runs
    if any(s.importtime_gc for s in got["base"] + got["head"]):
        for arm in ("base", "head"):
            doc[f"gc_{arm}_ms"] = round(gc_ms(got[arm]), 3)
    return doc


def gc_ms(samples: list[Sample]) -> float:
    """The median milliseconds of garbage collection inside imports, over ``samples``."""
    return statistics.median(sum(s.importtime_gc.values()) for s in samples) * 1000
