"""The one target builder (``build_target``): "scenario × arms" → the jobs each arm runs.

Every caller (``compare``, ``ttfb gh run``, the release suite, bisect steps, the demo) turns its
scenarios and arms into targets here, so they all treat the same cases the same way:

- a scenario this machine cannot run (a GPU scenario without a GPU) is ``skipped``;
- a scenario whose arm cannot even be prepared (its shrunk config fails that checkout's own
  validation, say) is ``broken`` for that arm, never an error that aborts the whole run;
- an arm with its own command (``--base-cmd``) runs that command with the arm's interpreter.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError, UsageError
from ..exec import host
from ..model import CountingMode, CountUntil, Job
from ..scenarios import (
    DEFAULT_FLOOR_PCT,
    DEFAULT_INSTRUCTIONS_PCT,
    DEFAULT_TIMEOUT_S,
    Environment,
    Input,
    Scenario,
)
from ..shrink import apply as shrink_apply
from ..store.thresholds import Threshold
from . import envs
from .arms import Arm
from .prepare import Needs, Prepared, check_inputs
from .workspace import Workspace


@dataclass(frozen=True)
class Target:
    """One thing to compare: a scenario, or the arms' own commands."""

    name: str
    base: Job | None  # None: skipped or broken
    head: Job | None
    threshold_pct: float
    threshold_note: str = "floor"
    skipped: str | None = None
    description: str = ""
    broken: str | None = None  # the arms could not even be prepared (e.g. shrink validation)
    prepared: Mapping[str, Prepared] = field(default_factory=dict)  # "base"/"head" -> what
    instructions: CountingMode = "auto"  # count CPU work (the scenario's setting)
    instructions_pct: float = 1.0  # its threshold
    instructions_until: CountUntil = "first_forward"  # where a count ends
    profile: bool | None = None  # the scenario's ``profile:`` (None: when it has a finding)

    @property
    def runnable(self) -> bool:
        return self.base is not None and self.head is not None


@dataclass(frozen=True)
class Overrides:
    """Command-line settings that win over the scenario's own."""

    timeout_s: float | None = None
    stop: str | None = None
    detect: str | None = None
    inputs: tuple[Input, ...] = ()  # --input, added to a scenario's own
    setup: tuple[str, ...] = ()  # --setup, instead of a scenario's own
    arm_envs: bool = False  # --arm-envs: per-arm environments for every target
    env_files: tuple[str, ...] = ()  # --env-file: the dependency files (default: detected)
    instructions: CountingMode | None = None  # --instructions, over every scenario's own

    def apply(self, job: Job) -> Job:
        if self.timeout_s is not None:
            job = replace(job, timeout_s=self.timeout_s)
        if self.stop:
            job = replace(job, stop=self.stop)
        if self.detect:
            job = replace(job, detect=self.detect)
        return job


def needs_of(scenario: Scenario | None, overrides: Overrides, *, source: Path) -> Needs:
    """What a target asks of each arm before sampling: the scenario's fields and the flags."""
    environment = scenario.environment if scenario else None
    if overrides.env_files:
        environment = environment_of(overrides.env_files)
    elif overrides.arm_envs and environment is None:
        environment = envs.detect(source)
    needs = Needs(
        inputs=(*(scenario.inputs if scenario else ()), *overrides.inputs),
        setup=overrides.setup or (scenario.setup if scenario else ()),
        environment=environment,
    )
    if scenario is not None:
        needs = replace(
            needs,
            setup_timeout_s=scenario.setup_timeout_s,
            cwd=scenario.cwd,
            env=scenario.env,
            pass_env=scenario.pass_env,
        )
    return needs


def environment_of(files: Sequence[str]) -> Environment:
    """``--env-file`` names, sorted by kind: a uv.lock, a pyproject.toml, requirements."""
    locks = [f for f in files if Path(f).name.endswith(".lock")]
    projects = [f for f in files if Path(f).name == "pyproject.toml"]
    if len(locks) > 1 or len(projects) > 1:
        raise UsageError("--env-file: at most one lock file and one pyproject.toml")
    requirements = tuple(f for f in files if f not in locks and f not in projects)
    return Environment(requirements, projects[0] if projects else None, locks[0] if locks else None)


def scenario_job(
    scenario: Scenario,
    *,
    root: Path,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    workdir: Path,
) -> Job:
    """The job for one sample of ``scenario`` in the checkout at ``root``.

    A scenario with a ``shrink:`` block gets its production command shrunk for this checkout
    (``bot.shrink.apply``); the shrunk config goes to ``workdir`` (the run's
    ``Workspace.shrunk``). A shrink that fails the checkout's validation raises ``ConfigError``.
    """
    argv = scenario.command_for(python)
    base_env: dict[str, str] = {}
    report = None
    if scenario.shrink is not None:
        shrunk = shrink_apply.shrink_command(
            argv,
            scenario.shrink,
            root=root,
            workdir=workdir,
            python=python,
            name=scenario.name,
            cwd=(root / scenario.cwd).resolve(),
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
        pass_env=scenario.pass_env,
    )


def gpu_skip_reason(scenario: Scenario) -> str | None:
    """Why a GPU scenario cannot run here, or None when it can."""
    if not scenario.needs_gpu:
        return None
    info = host.gpus()
    if info.count >= scenario.resources.gpu:
        return None
    return (
        f"needs {scenario.resources.gpu} GPU(s) on runner "
        f"[{', '.join(scenario.resources.runner)}]; this machine has {info.count} ({info.how})"
    )


def missing_script(argv: Sequence[str], cwd: Path) -> str | None:
    """The script a ``python [options] SCRIPT.py …`` command names, when ``cwd`` lacks it."""
    if not argv or not Path(argv[0]).name.startswith("python"):
        return None
    for arg in argv[1:]:
        if arg in ("-m", "-c", "-"):
            return None
        if arg.startswith("-"):
            continue
        return arg if arg.endswith(".py") and not (cwd / arg).exists() else None
    return None


def arm_job(arm: Arm, scenario: Scenario | None, *, overrides: Overrides, workdir: Path) -> Job:
    """The job one sample of this arm runs: the scenario's, or the arm's own command. A
    script the command names that this arm's checkout lacks is a ``ConfigError`` (the target
    is then broken for this arm)."""
    if arm.argv is not None:
        argv = arm.argv
        if argv[0] in ("python", "python3"):
            argv = (arm.python, *argv[1:])
        job = Job(
            argv=argv,
            cwd=(arm.root / arm.where).resolve(),
            env=dict(arm.env),
            timeout_s=scenario.timeout_s if scenario else DEFAULT_TIMEOUT_S,
            stop=scenario.stop.env_value if scenario else "first_batch",
            detect=scenario.first_batch if scenario else "auto",
            root=arm.root.resolve(),
            scenario=scenario.name if scenario else "command",
        )
    elif scenario is None:
        raise UsageError("compare: give --scenario/--all, --base-cmd/--head-cmd, or -- CMD")
    else:
        job = scenario_job(scenario, root=arm.root, python=arm.python, env=arm.env, workdir=workdir)
    script = missing_script(job.argv, job.cwd)
    if script is not None:
        where = job.cwd.relative_to(job.root).as_posix() if job.root else str(job.cwd)
        at = f" at {arm.revision[:10]}" if arm.revision else ""
        raise ConfigError(f"{where}: no such file {script!r}{at}")
    job = replace(job, label=arm.name, revision=arm.revision, source=arm.source)
    return overrides.apply(job)


def build_target(
    scenario: Scenario | None,
    base: Arm,
    head: Arm,
    *,
    threshold: Threshold,
    overrides: Overrides = Overrides(),
    workspace: Workspace,
    name: str = "command",
) -> Target:
    """One scenario (or the arms' commands, ``scenario=None``) as a target of both arms.

    Each arm is prepared first (inputs, its environment, its setup: ``bot.ab.prepare``, once per
    run in ``workspace``); an input glob that matches nothing is a ``UsageError`` before
    anything runs.
    """
    name = scenario.name if scenario else name
    pct, note = threshold(name, scenario.floor_pct if scenario else DEFAULT_FLOOR_PCT)
    description = scenario.description if scenario else ""
    skip = gpu_skip_reason(scenario) if scenario else None
    if skip:
        return Target(name, None, None, pct, note, skipped=skip, description=description)
    source = base.source or base.root
    needs = needs_of(scenario, overrides, source=source)
    check_inputs(source, needs.inputs, where=f"{name}: inputs")
    jobs, prepared = [], {}
    for arm in (base, head):
        try:
            ready = workspace.preparer.prepare(arm, needs, name=name)
            prepared[arm.name] = ready
            jobs.append(arm_job(ready.arm, scenario, overrides=overrides, workdir=workspace.shrunk))
        except ConfigError as exc:  # a failing setup; a shrunk config this arm rejects
            broken = f"{arm.name}: {exc}"
            return Target(
                name,
                None,
                None,
                pct,
                note,
                broken=broken,
                description=description,
                prepared=prepared,
            )
    return Target(
        name,
        jobs[0],
        jobs[1],
        pct,
        note,
        description=description,
        prepared=prepared,
        instructions=overrides.instructions or (scenario.instructions if scenario else "auto"),
        instructions_pct=scenario.instructions_pct if scenario else DEFAULT_INSTRUCTIONS_PCT,
        instructions_until=scenario.instructions_until if scenario else "first_forward",
        profile=scenario.profile if scenario else None,
    )


def floor_threshold(name: str, floor: float) -> tuple[float, str]:
    """The scenario's own floor, when no calibration is consulted."""
    return floor, "floor"
