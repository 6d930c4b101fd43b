"""Which function the time went to: dedicated profiling samples of both arms, never the timed
ones, under a sampling profiler (``Executor.profiler``: py-spy, else the probe's in-process
sampler), each stopped by the probe at its first batch.

``settings.runs`` samples per arm in ABBA order (pair i runs base first when i is even), then
``bot.stats.profile.differential``: per function the change of its inclusive time, with a
bootstrap CI over the pairs and its share of the TTFB change, and the rows that name where
the change lives. By default a scenario with a confirmed finding is profiled (like import
attribution); ``--profile`` profiles every scenario, ``--no-profile`` none, and a scenario's
``profile: true|false`` decides for it where the command line does not. Profiling fits in
the time budget or is skipped, and the report says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Executor, Job, Profile, Profiler, ProfileSettings, Progress, Sample, Verdict
from ..stats import profile, stacks
from ..stats.profile import Differential, FrameChange
from .schedule import ABRun, planned_s
from .targets import Target

MAX_ROWS = 10
SLOWDOWN = 1.3  # a profiled sample's wall time, relative to a timed one (planning only)


@dataclass
class Profiling:
    """Whether to profile (``wanted`` None: the scenarios with a confirmed finding, unless a
    scenario's own ``profile:`` says otherwise) and how; the profiler is chosen once."""

    wanted: bool | None = None
    settings: ProfileSettings = field(default_factory=ProfileSettings)
    seed: int = 0
    _chosen: tuple[Profiler | None, str] | None = None

    def profiler(
        self, executor: Executor, progress: Progress | None
    ) -> tuple[Profiler | None, str]:
        if self._chosen is None:
            self._chosen = executor.profiler(self.settings)
            if progress:
                progress(f"profiler: {self._chosen[1]}")
        return self._chosen


def wants(target: Target, verdict: Verdict, choice: Profiling) -> bool:
    """The command line's ``--profile``/``--no-profile``, else the scenario's ``profile:``,
    else whether the scenario has a confirmed finding."""
    if target.base is None or target.head is None or not verdict.judged:
        return False
    wanted = choice.wanted if choice.wanted is not None else target.profile
    return verdict.moved if wanted is None else wanted


def profile_outcome(
    target: Target,
    primary: ABRun | None,
    executor: Executor,
    choice: Profiling,
    progress: Progress | None,
    *,
    deadline: float | None = None,
) -> dict[str, Any]:
    """The profile document of a target that ``wants`` one: its differential profile, or why
    there is none (``skipped``: the budget, no profiler; ``error``: a sample failed)."""
    runs = choice.settings.runs
    planned = planned_s(primary, runs, SLOWDOWN)
    if deadline is not None and planned is not None and time.monotonic() + planned > deadline:
        left = max(0.0, deadline - time.monotonic())
        return {
            "skipped": f"not profiled: {runs}+{runs} samples would take ~{planned:.0f} s, "
            f"{left:.0f} s of the budget left"
        }
    profiler, line = choice.profiler(executor, progress)
    if profiler is None:
        return {"skipped": f"not profiled: {line}"}
    assert target.base is not None and target.head is not None
    return profile_target(
        target.base,
        target.head,
        profiler,
        runs=runs,
        name=target.name,
        progress=progress,
        seed=choice.seed,
    )


def run_pairs(
    base: Job, head: Job, profiler: Profiler, runs: int
) -> tuple[list[Profile], list[Profile], str | None]:
    """``runs`` profiling samples per arm in ABBA order; the first failure ends them."""
    got: dict[str, list[Profile]] = {"base": [], "head": []}
    jobs = {"base": base, "head": head}
    for i in range(runs):
        for arm in ("base", "head") if i % 2 == 0 else ("head", "base"):
            p = profiler.profile(jobs[arm])
            if p.error or not p.sample.ok or p.sample.ttfb_s is None:
                return got["base"], got["head"], f"{arm} profiling sample: {_why(p)}"
            got[arm].append(p)
    return got["base"], got["head"], None


def _why(p: Profile) -> str:
    s: Sample = p.sample
    return p.error or s.error or s.status


def sampled_arm(profiles: Sequence[Profile], job: Job) -> list[stacks.Sampled]:
    """Each profiling sample's stacks, frames named from the arm's own checkout."""
    root = str(job.root or job.cwd)
    return [stacks.sampled(p.sample.ttfb_s or 0.0, p.stacks, root, p.gc) for p in profiles]


def profile_target(
    base: Job,
    head: Job,
    profiler: Profiler,
    *,
    runs: int,
    name: str,
    progress: Progress | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The profile document of one target (``{"error": …}`` when a sample failed)."""
    if progress:
        progress(f"{name}: profiling, {runs}+{runs} samples to the first batch")
    started = time.monotonic()
    got_base, got_head, error = run_pairs(base, head, profiler, runs)
    other = profiler.instead() if error else None
    if error and other is not None:
        if progress:
            progress(f"{name}: {error.split(':')[0]} failed; both arms again under {other.name}")
        profiler = other
        got_base, got_head, error = run_pairs(base, head, profiler, runs)
    elapsed = time.monotonic() - started
    if error:
        return {"profiler": profiler.name, "error": error, "elapsed_s": elapsed}
    diff = profile.differential(sampled_arm(got_base, base), sampled_arm(got_head, head), seed=seed)
    doc = profile_json(diff, profiler=profiler.name, runs=runs, elapsed_s=elapsed)
    if progress:
        rows = diff.rows
        top = f"top: {rows[0].frame.function} ({rows[0].frame.where})" if rows else "no row"
        progress(f"{name}: profile, {len(rows)} significant function(s); {top}")
    return doc


def _change_json(c: FrameChange) -> dict[str, Any]:
    """A frame's times per sample in each arm and its change with the CI, rounded to µs."""
    fields = ("base_ms", "head_ms", "delta_ms", "ci_low_ms", "ci_high_ms")
    return {k: round(getattr(c, k), 3) for k in fields}


def row_json(c: FrameChange) -> dict[str, Any]:
    f = c.frame
    row: dict[str, Any] = {
        "function": f.function,
        "file": f.file,
        "line": f.line,
        "repo": f.repo,
        **_change_json(c),
        "threshold_ms": round(c.threshold_ms, 3),
    }
    if c.share_pct is not None:
        row["share_pct"] = round(c.share_pct, 2)
    if c.library is not None:
        row["library"] = f"{c.library.function} ({c.library.file})"
    return row


def profile_json(d: Differential, *, profiler: str, runs: int, elapsed_s: float) -> dict[str, Any]:
    """The results document's ``profile`` of one scenario (``bot.results.ProfileResult``)."""
    return {
        "profiler": profiler,
        "runs": runs,
        "elapsed_s": round(elapsed_s, 3),
        "base_ttfb_ms": round(d.base_ttfb_ms, 3),
        "head_ttfb_ms": round(d.head_ttfb_ms, 3),
        "floor_ms": round(d.floor_ms, 3),
        "tested": d.tested,
        "rows": [row_json(c) for c in d.rows[:MAX_ROWS]],
        "flame": [_node(n) for n in d.flame],
        **({"gc": gc_json(d.gc, d.gc_placed_pct)} if d.gc is not None else {}),
    }


def gc_json(c: FrameChange, placed_pct: float | None) -> dict[str, Any]:
    """The garbage collections' change (``bot.results.GcChange``)."""
    doc: dict[str, Any] = {**_change_json(c), "significant": c.significant}
    if placed_pct is not None:
        doc["placed_pct"] = round(placed_pct, 1)
    return doc


def _node(n: stacks.FlameNode) -> list[Any]:
    f = n.frame
    return [n.parent, f.function, f.file, f.line, f.repo, round(n.base_ms, 3), round(n.head_ms, 3)]


def profile_one(
    job: Job, executor: Executor, settings: ProfileSettings, *, top: int = 10
) -> tuple[list[str], list[list[Any]]]:
    """``measure --profile``: ``settings.runs`` profiling samples of one job; the lines that
    name its top functions by self and by inclusive time, and its call tree (flame nodes,
    both arms the same)."""
    profiler, line = executor.profiler(settings)
    if profiler is None:
        return [f"not profiled: {line}"], []
    got = []
    for _ in range(settings.runs):
        p = profiler.profile(job)
        if p.error or not p.sample.ok:
            return [f"not profiled: profiling sample: {_why(p)}"], []
        got.append(p)
    samples = sampled_arm(got, job)
    mean = sum(s.ttfb_ms for s in samples) / len(samples)
    lines = [f"profile: {len(samples)} samples under {profiler.name}; mean TTFB {mean:.0f} ms"]
    for by in ("self", "inclusive"):
        lines.append(f"top functions by {by} time (ms per sample):")
        for r in stacks.top_frames(samples, by=by, n=top):
            ms = r.self_ms if by == "self" else r.inclusive_ms
            lines.append(f"  {ms:9.1f}  {r.frame.function}  {r.frame.where}")
    tree = stacks.flame_tree(samples, samples, min_ms=0.0025 * mean)
    return lines, [_node(n) for n in tree]
