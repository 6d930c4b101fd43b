"""A scripted executor: deterministic timings for fast end-to-end tests (``--fake SPEC``).

The spec (YAML or JSON) describes each arm's phases as durations of consecutive segments, with
multiplicative lognormal noise per segment and a per-block "machine load" factor shared by both
arms of a pair (which is what pairing cancels on real shared runners)::

    version: 1
    seed: 7
    load_sd_pct: 4            # shared drift per ABBA block
    arms:
      base:
        segments: {interpreter_ready: 0.03, import_torch: 1.5, first_dataloader_batch: 0.4,
                   first_forward: 0.01}
        sd_pct: 3             # independent noise per segment
        cpu_fraction: 0.92    # cpu_s = fraction * ttfb (noise-free share)
      head:
        segments: {...}
        fail_at: 3            # optional: the 3rd sample of this arm is 'crashed'
        fail_status: crashed
        fail_error: "ValueError: boom"
        eval_forwards: 40       # optional: eval forwards before the training one (with a
                                # first_eval_forward segment)
        gc_fraction: 0.2        # optional: gc_s = fraction * ttfb (garbage collection)
        profile:                # optional: stacks for profiling samples, as shares of the
          sd_pct: 5             # sample's TTFB (lognormal noise per stack); {root} is the
          stacks:               # job's checkout
            "<module> ({root}/train.py:1);load ({root}/train.py:9)": 0.3
        instructions: 2.0e9     # optional: CPU work to first batch for `--instructions`
        instructions_sd_pct: 0.002
    count_slowdown: 30          # optional: how much slower a scripted count is said to run
                                # (what counting's cap plans with; default 1)

Arms not named in the spec reuse ``base``. Per-scenario arms go under
``scenarios: {NAME: {arms: {...}}}`` and win over the top-level ``arms`` for that scenario.
``revisions: {ARM: [COMMIT, ...]}`` picks the arm by the commit a job's checkout is at (a
prefix of the full id) instead of by its label: a history where some commits are slow, for
bisects and release suites. No process is started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ResultsError
from ..model import Counter, CounterBackend, Job, Profile, Profiler, ProfileSettings, Sample

FAKE_VERSION = 1


class ScriptedExecutor:
    """Returns scripted samples; the n-th call for an arm is reproducible from the seed."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if spec.get("version") != FAKE_VERSION:
            raise ResultsError(f"fake spec: version: expected {FAKE_VERSION}")
        arms = spec.get("arms", {})
        self.scenarios: dict[str, dict[str, Any]] = {
            name: sub.get("arms", {}) for name, sub in (spec.get("scenarios") or {}).items()
        }
        for where, table in [
            ("arms", arms),
            *((f"scenarios.{n}.arms", a) for n, a in self.scenarios.items()),
        ]:
            if table and "base" not in table:
                raise ResultsError(f"fake spec: {where}: needs at least a 'base' arm")
        if not arms and not self.scenarios:
            raise ResultsError("fake spec: arms: needs at least a 'base' arm")
        self.arms: dict[str, dict[str, Any]] = arms
        self.revisions: dict[str, tuple[str, ...]] = {
            str(arm): tuple(str(c) for c in commits)
            for arm, commits in (spec.get("revisions") or {}).items()
        }
        self.rng = np.random.default_rng(int(spec.get("seed", 0)))
        self.load_sd = float(spec.get("load_sd_pct", 0.0)) / 100
        self.count_slowdown = float(spec.get("count_slowdown", 1.0))
        self.calls: dict[str, int] = {}
        self._load = 1.0
        tables = [self.arms, *self.scenarios.values()]
        self.attributes_imports = any("importtime" in arm for t in tables for arm in t.values())

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedExecutor:
        try:
            spec = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ResultsError(f"{path}: cannot read fake spec: {exc}") from None
        if not isinstance(spec, dict):
            raise ResultsError(f"{path}: fake spec must be a mapping")
        return cls(spec)

    def new_block(self) -> None:
        """The scheduler starts a block: one ABBA block sees one machine state (load)."""
        self._load = float(np.exp(self.rng.normal(0.0, self.load_sd)))

    def counter(self, backend: CounterBackend, workdir: Path) -> tuple[Counter | None, str]:
        """Scripted counts where the spec scripts ``instructions`` for an arm."""
        if counts_instructions(self):
            return ScriptedCounter(self), "scripted counts (fake spec)"
        return None, "the fake spec scripts no instruction counts"

    def profiler(self, settings: ProfileSettings) -> tuple[Profiler | None, str]:
        """Scripted stacks where the spec scripts a ``profile`` for an arm."""
        tables = [self.arms, *self.scenarios.values()]
        if any("profile" in arm for table in tables for arm in table.values()):
            return ScriptedProfiler(self), "scripted stacks (fake spec)"
        return None, "the fake spec scripts no profile"

    def arm_name(self, job: Job) -> str:
        """The spec's arm for ``job``: by its commit (``revisions``), else by its label."""
        if job.revision:
            for name, commits in self.revisions.items():
                if any(job.revision.startswith(c) for c in commits):
                    return name
            if self.revisions:
                return "base"
        return job.label

    def _arm(self, job: Job) -> tuple[str, dict[str, Any]]:
        table = self.scenarios.get(job.scenario) or self.arms
        if not table:
            raise ResultsError(f"fake spec: no arms for scenario {job.scenario!r}")
        name = self.arm_name(job)
        return name, table[name if name in table else "base"]

    def run(self, job: Job) -> Sample:
        name, arm = self._arm(job)
        key = f"{job.scenario}:{name}"
        count = self.calls.get(key, 0) + 1
        self.calls[key] = count
        if arm.get("fail_at") == count:
            return Sample(
                status=str(arm.get("fail_status", "crashed")),
                exit_code=1,
                error=str(arm.get("fail_error", "scripted failure")),
                wall_s=0.5,
            )
        sd = float(arm.get("sd_pct", 0.0)) / 100
        t = 0.0
        phases: dict[str, float] = {}
        for name, duration in arm["segments"].items():
            noise = float(np.exp(self.rng.normal(0.0, sd))) if sd else 1.0
            t += float(duration) * noise * self._load
            phases[name] = round(t, 6)
        phases["first_batch"] = round(t, 6)
        cpu = t * float(arm.get("cpu_fraction", 0.9))
        return Sample(
            status="ok",
            ttfb_s=round(t, 6),
            cpu_s=round(cpu, 6),
            peak_rss_mb=float(arm.get("rss_mb", 300.0)),
            phases=phases,
            wall_s=round(t + 0.05, 6),
            exit_code=0,
            detected_by="forward",
            eval_forwards=int(arm.get("eval_forwards", 0)),
            gc_s=round(t * float(arm["gc_fraction"]), 6) if "gc_fraction" in arm else None,
            importtime=str(arm.get("importtime", "")) if job.importtime else None,
        )


@dataclass(frozen=True)
class ScriptedCount:
    status: str
    instructions: int | None
    error: str | None = None


class ScriptedCounter:
    """Instruction counts from the spec's ``instructions`` (lognormal ``instructions_sd_pct``)."""

    name = "scripted"
    settings: tuple[str, ...] = ()

    def __init__(self, executor: ScriptedExecutor) -> None:
        self.executor = executor
        self.slowdown = executor.count_slowdown

    def count(self, job: Job) -> ScriptedCount:
        _, arm = self.executor._arm(job)
        if "instructions" not in arm:
            return ScriptedCount("crashed", None, "fake spec: no 'instructions' for this arm")
        sd = float(arm.get("instructions_sd_pct", 0.0)) / 100
        noise = float(np.exp(self.executor.rng.normal(0.0, sd))) if sd else 1.0
        return ScriptedCount("ok", int(float(arm["instructions"]) * noise))


def counts_instructions(spec: ScriptedExecutor) -> bool:
    """Whether the spec scripts instruction counts for any arm."""
    tables = [spec.arms, *spec.scenarios.values()]
    return any("instructions" in arm for table in tables for arm in table.values())


class ScriptedProfiler:
    """Profiling samples: a scripted sample, and the arm's ``profile.stacks`` as weights (the
    share times the sample's TTFB in ms, each with lognormal ``profile.sd_pct`` noise)."""

    name = "scripted stacks"

    def __init__(self, executor: ScriptedExecutor) -> None:
        self.executor = executor

    def profile(self, job: Job) -> Profile:
        sample = self.executor.run(job)
        _, arm = self.executor._arm(job)
        spec = arm.get("profile") or {}
        if not sample.ok or sample.ttfb_s is None or not spec.get("stacks"):
            return Profile(sample, error=sample.error or "fake spec: no profile for this arm")
        sd = float(spec.get("sd_pct", 0.0)) / 100
        root = str(job.root or job.cwd)
        stacks = {}
        for stack, share in spec["stacks"].items():
            noise = float(np.exp(self.executor.rng.normal(0.0, sd))) if sd else 1.0
            stacks[str(stack).replace("{root}", root)] = float(share) * sample.ttfb_s * 1e3 * noise
        return Profile(sample, stacks)

    def instead(self) -> None:
        return None
