"""``ttfb measure``'s pipeline: N fresh-process samples of each scenario, or of one command.

Each thing to measure goes through the one target builder (``bot.ab.targets.build_target``)
with the same arm on both sides, so a scenario this machine cannot run is skipped, one whose
arm cannot be prepared is broken, and inputs, environments, setup and shrinking behave as they
do in a compare. Samples are logged as they finish; each measured scenario is recorded in the
history; ``--instructions`` and ``--importtime`` add a line each.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import git
from ..ab.arms import Arm
from ..ab.counting import counted_job, resolve_counting
from ..ab.profiling import profile_one
from ..ab.sampling import count_instructions, import_profile, measurement_json, run_samples
from ..ab.targets import Target, build_target, floor_threshold
from ..ab.workspace import Workspace
from ..atomic import STATE_DIR, write_text_atomic
from ..exec import host
from ..model import CountUntil, Executor, Job, Progress, Sample
from ..report.flame import flame, render_html
from ..stats.summary import Summary, summarize
from ..store.records import RunRecord, SampleRow
from ..store.versioned import SampleLog, write_json
from .comparing import sample_log_path
from .options import MeasureOptions, executor_for

SampleShown = Callable[[str, int, int, Sample], None]
"""(name, sample number, samples planned, the sample): a progress line per sample."""


@dataclass(frozen=True)
class Measured:
    """What ``measure`` found: a summary per target, the samples, the extra lines."""

    summaries: tuple[Summary, ...]
    samples: Mapping[str, tuple[Sample, ...]]
    extras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.summaries)


def command_label(argv: tuple[str, ...]) -> str:
    label = shlex.join([Path(argv[0]).name, *argv[1:]])
    return label if len(label) <= 60 else label[:57] + "..."


def _arms(opts: MeasureOptions) -> list[tuple[str, Arm]]:
    """(name, arm) per thing to measure: the command where the user stands, or scenarios."""
    python = opts.python
    if opts.command is not None:
        argv = opts.command
        python = python or host.typed_python(argv[0])  # what the unmodified command runs
        where = opts.cwd.resolve()
        root = opts.root.resolve()
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else "."
        arm_root = root if where.is_relative_to(root) else where
        label = command_label(argv)
        arm = Arm("measure", label, arm_root, python or sys.executable, argv=argv, where=rel)
        return [(label, arm)]
    return [
        (s.name, Arm("measure", s.name, opts.root, python or sys.executable))
        for s in opts.scenarios
    ]


def measure(
    opts: MeasureOptions,
    *,
    progress: Progress | None = None,
    shown: SampleShown | None = None,
    executor: Executor | None = None,
) -> Measured:
    """Measure every scenario (or the command) ``opts`` names; see the module docstring."""
    executor = executor or executor_for(opts.fake)
    recorder = opts.store.recorder() if opts.command is None else None
    summaries: list[Summary] = []
    samples: dict[str, tuple[Sample, ...]] = {}
    extras: dict[str, tuple[str, ...]] = {}
    scenarios = opts.scenarios or (None,)
    with Workspace(progress=progress) as ws:
        arms = _arms(opts)
        for (name, arm), scenario in zip(arms, scenarios, strict=True):
            target = build_target(
                scenario,
                arm,
                arm,
                threshold=floor_threshold,
                overrides=opts.overrides,
                workspace=ws,
                name=name,
            )
            got = _measure_target(opts, target, executor, shown, len(arms) > 1, progress)
            summaries.append(summarize(name, got, skipped=target.skipped))
            samples[name] = got
            if recorder is not None and target.base is not None and got:
                rows = tuple(SampleRow("", "sample", i, s) for i, s in enumerate(got))
                revision = git.head_revision(opts.root)
                recorder.record(RunRecord(opts.kind, name, head_rev=revision, samples=rows))
            if target.base is not None and any(s.ok for s in got):
                extras[name] = _extras(
                    opts, executor, target.base, ws, progress, target.instructions_until
                )
    measured = Measured(tuple(summaries), samples, extras)
    if opts.outputs.json is not None:
        meta = {"root": str(opts.root), "runs": opts.runs, "warmup": opts.warmup}
        write_json(opts.outputs.json, measurement_json(summaries, samples, meta))
    return measured


def _measure_target(
    opts: MeasureOptions,
    target: Target,
    executor: Executor,
    shown: SampleShown | None,
    several: bool,
    progress: Progress | None,
) -> tuple[Sample, ...]:
    """The measured samples (or the failed warm-up); a broken target is one crashed sample."""
    if target.broken:
        return (Sample("crashed", error=target.broken),)
    job = target.base
    if job is None:  # skipped
        return ()
    log_path = sample_log_path(
        opts.outputs, "measure", target.name, root=opts.root, several=several
    )
    meta = {"command": "measure", "name": target.name, "argv": list(job.argv), "cwd": str(job.cwd)}
    with SampleLog(log_path, meta) as log:
        warmups, got = run_samples(
            job,
            runs=opts.runs,
            warmup=opts.warmup,
            executor=executor,
            log=log,
            progress=(lambda i, n, s: shown(target.name, i, n, s)) if shown else None,
        )
    if progress:
        progress(f"{target.name}: samples in {log_path}")
    return tuple(got) or tuple(w for w in warmups if not w.ok)


def _extras(
    opts: MeasureOptions,
    executor: Executor,
    job: Job,
    ws: Workspace,
    progress: Progress | None,
    until: CountUntil = "first_forward",
) -> tuple[str, ...]:
    """The ``--instructions`` and ``--importtime`` lines for one measured job."""
    lines = []
    if opts.instructions:
        choice = resolve_counting(
            "on", [None], executor=executor, backend=opts.backend, workdir=ws.dir("counts")
        )
        if choice.line and progress:
            progress(choice.line)
        if choice.counting is not None:
            lines.append(count_instructions(choice.counting.counter, counted_job(job, until)))
    if opts.importtime:
        lines.append(import_profile(executor, job))
    if opts.profile is not None:
        lines.extend(_profile(opts, executor, job, progress))
    return tuple(lines)


def _profile(
    opts: MeasureOptions, executor: Executor, job: Job, progress: Progress | None
) -> list[str]:
    """``--profile``: the top functions, and the flame graph written to ``--profile-out``
    (else a time-stamped file under ``.ttfb/profiles/``)."""
    assert opts.profile is not None
    if progress:
        progress(f"{job.scenario}: profiling, {opts.profile.runs} samples to the first batch")
    lines, nodes = profile_one(job, executor, opts.profile)
    if nodes:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", job.scenario).strip("_") or "command"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = opts.profile_out or opts.root / STATE_DIR / "profiles" / f"{safe}-{stamp}.html"
        graph = flame(
            nodes,
            title=f"{job.scenario}: where the time to first batch went",
            subtitle=lines[0],
            differential=False,
        )
        write_text_atomic(path, render_html(graph))
        lines.append(f"flame graph: {path}")
    return lines
