"""Counting alone, for one scenario: the CI job that runs beside the timing job.

Counts are deterministic, so they can run on a runner of their own while the timed samples
run on another; the report job joins the two (``bot.results``' ``join_counts``), and a pull
request's signal arrives at max(timing, counting) instead of their sum. The job counts both
arms' CPU work to the end of start-up (1+1 counts side by side, 1+1 more to confirm a
finding), planned from one plain sample of head and bounded by ``cap_s`` (default 5 min), and
writes ``counts.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ab import arms
from ..ab.counting import DEFAULT_CAP_S, WorkRun, count_work, resolve_counting, startup_seconds
from ..ab.targets import build_target, floor_threshold
from ..ab.workspace import Workspace
from ..errors import UsageError
from ..model import CounterBackend, Executor, Progress
from ..scenarios import Scenario
from ..store.versioned import write_json
from .options import ArmSpec, executor_for

COUNTS_VERSION = 1
COUNTS_FILE = "counts.json"


@dataclass(frozen=True)
class CountOptions:
    root: Path
    base: str
    head: str
    scenario: Scenario
    out_dir: Path
    backend: CounterBackend = "auto"
    cap_s: float = DEFAULT_CAP_S
    jobs: int = 0
    fake: Path | None = None


def counts_json(scenario: str, base: str, head: str, run: WorkRun) -> dict[str, Any]:
    """The versioned ``counts.json`` of one scenario."""
    return {
        "version": COUNTS_VERSION,
        "kind": "ttfb-counts",
        "scenario": scenario,
        "base": base,
        "head": head,
        "covers": run.covers,
        "work": run.work.to_json() if run.work is not None else None,
        "note": run.note or None,
        "counts": run.counts,
        "seconds": round(run.seconds, 3),
    }


def count_only(
    opts: CountOptions, *, progress: Progress | None = None, executor: Executor | None = None
) -> dict[str, Any]:
    """Count ``opts.scenario``'s two arms and write ``counts.json``; its document."""
    executor = executor or executor_for(opts.fake)
    with Workspace(progress=progress) as ws:
        choice = resolve_counting(
            "on",
            (opts.scenario,),
            executor=executor,
            backend=opts.backend,
            workdir=ws.dir("counts"),
            cap_s=opts.cap_s,
            jobs=opts.jobs,
        )
        base, head = arms.resolve(
            ArmSpec(opts.base), ArmSpec(opts.head), repo=opts.root, worktree=ws.worktree
        )
        target = build_target(opts.scenario, base, head, threshold=floor_threshold, workspace=ws)
        if target.base is None or target.head is None or choice.counting is None:
            raise UsageError(f"count: {opts.scenario.name}: {target.skipped or target.broken}")
        if progress:
            progress(choice.line)
        plain = executor.run(target.head)  # plans the counts from a plain run's start-up
        run = count_work(
            choice.counting,
            target.base,
            target.head,
            name=target.name,
            cap_s=opts.cap_s,
            startup_s=startup_seconds([plain]),
            until=target.instructions_until,
            threshold_pct=target.instructions_pct,
            progress=progress,
        )
    doc = counts_json(opts.scenario.name, base.revision or "", head.revision or "", run)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(opts.out_dir / COUNTS_FILE, doc)
    return doc
