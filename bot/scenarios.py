"""Scenario files: ``scenarios/*.yaml`` into frozen dataclasses, validated strictly.

The schema lives in ``bot/schemas/scenario.schema.json`` (JSON Schema draft 7, checked with
``jsonschema``); every error is one line naming the file and the dotted field.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError, ScenarioError
from .model import COUNTING_MODES, CountingMode, CountUntil
from .shrink.spec import ShrinkSpec

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_FLOOR_PCT = 2.0
DEFAULT_INSTRUCTIONS_PCT = 1.0  # CPU work: its noise is ~1000x smaller than wall time's
DEFAULT_RUNNER = ("ubuntu-latest",)
GPU_RUNNER = ("self-hosted", "gpu")
SUFFIXES = (".yaml", ".yml")

# Human descriptions for fields whose schema is a ``oneOf`` (jsonschema's message is unreadable).
_EXPECTED = {
    "command": "expected a non-empty list of strings, or a command string",
    "setup": "expected a non-empty list of strings, or a command string",
    "stop": "expected 'first_batch', 'exit' or {steps: N} with N >= 1",
}


@dataclass(frozen=True)
class Stop:
    """When a sample ends: right after the first batch, after k more optimizer steps, or at exit."""

    mode: str = "first_batch"  # first_batch | steps | exit
    steps: int = 0

    @property
    def env_value(self) -> str:
        return f"steps:{self.steps}" if self.mode == "steps" else self.mode

    def __str__(self) -> str:
        return f"{self.steps} steps after the first batch" if self.mode == "steps" else self.mode


@dataclass(frozen=True)
class Resources:
    runner: tuple[str, ...] = DEFAULT_RUNNER
    gpu: int = 0
    est_seconds: float = 10.0


@dataclass(frozen=True)
class Input:
    """Untracked or ignored files a command needs, by glob relative to the repository root."""

    glob: str
    copy: bool = False  # copy into each arm's worktree instead of linking


@dataclass(frozen=True)
class Environment:
    """The dependency files an arm's virtual environment is built from (paths in the checkout)."""

    requirements: tuple[str, ...] = ()
    project: str | None = None  # a pyproject.toml: its [project] dependencies
    lock: str | None = None  # a uv.lock (needs uv on PATH)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f for f in (*self.requirements, self.project, self.lock) if f)


DEFAULT_SETUP_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Scenario:
    """One measured training command and how to run, stop, judge and schedule it."""

    name: str
    command: tuple[str, ...]
    description: str = ""
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)
    pass_env: tuple[str, ...] = ()  # credentials the measured job may keep
    inputs: tuple[Input, ...] = ()
    setup: tuple[str, ...] = ()  # run once per arm before the warm-up
    setup_timeout_s: float = DEFAULT_SETUP_TIMEOUT_S
    environment: Environment | None = None
    paths: tuple[str, ...] = ()
    shrink: ShrinkSpec | None = None
    resources: Resources = Resources()
    stop: Stop = Stop()
    first_batch: str = "auto"
    instructions: CountingMode = "auto"  # count CPU work to first batch
    instructions_until: CountUntil = "first_forward"  # where a count ends
    profile: bool | None = None  # differential profile: None when a finding is confirmed
    timeout_s: float = DEFAULT_TIMEOUT_S
    floor_pct: float = DEFAULT_FLOOR_PCT
    instructions_pct: float = DEFAULT_INSTRUCTIONS_PCT
    tags: tuple[str, ...] = ()
    source: Path | None = None  # the YAML file, when loaded from one

    @property
    def needs_gpu(self) -> bool:
        return self.resources.gpu > 0

    def command_for(self, python: str) -> list[str]:
        """The command with a leading ``python``/``python3`` replaced by the arm's interpreter."""
        argv = list(self.command)
        if argv and re.fullmatch(r"python(3(\.\d+)?)?", argv[0]):
            argv[0] = python
        return argv


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("bot").joinpath("schemas/scenario.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _field(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Turn a jsonschema error into (dotted field, short message)."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return _field([*path, extra[0]]), f"unknown key (allowed: {allowed})"
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return _field([*path, *missing[:1]]), "required field is missing"
    name = _field(path)
    if error.validator == "pattern" and "\\.\\." in str(error.validator_value):
        return name, (
            f"expected a path relative to the repository root (no leading / or ~, no ..), "
            f"got {error.instance!r}"
        )
    top = str(path[0]) if path else ""
    if error.validator == "oneOf" and top in _EXPECTED and len(path) == 1:
        return name, f"{_EXPECTED[top]}, got {error.instance!r}"
    return name, error.message


def parse_scenario(data: Any, *, source: str | Path = "<scenario>") -> Scenario:
    """Validate a decoded scenario document and build the dataclass."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level")
    validator = jsonschema.Draft7Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        name, message = _describe(error)
        raise ScenarioError(f"{source}: {name}: {message}")

    command = _argv(data["command"], "command", source)
    setup = _argv(data["setup"], "setup", source) if data.get("setup") else ()
    shrink_spec = None
    if data.get("shrink"):
        try:
            shrink_spec = ShrinkSpec.parse(data["shrink"], source=str(source))
        except ConfigError as exc:
            raise ScenarioError(str(exc)) from None
    res = data.get("resources", {})
    gpu = int(res.get("gpu", 0))
    runner = tuple(res.get("runner", GPU_RUNNER if gpu else DEFAULT_RUNNER))
    stop_raw = data.get("stop", "first_batch")
    stop = Stop("steps", int(stop_raw["steps"])) if isinstance(stop_raw, dict) else Stop(stop_raw)
    return Scenario(
        name=data["name"],
        command=tuple(command),
        description=data.get("description", ""),
        cwd=_workdir(data, source),
        env={str(k): _env_str(v) for k, v in data.get("env", {}).items()},
        pass_env=tuple(data.get("pass_env", ())),
        inputs=tuple(
            Input(i) if isinstance(i, str) else Input(i["glob"], bool(i.get("copy", False)))
            for i in data.get("inputs", ())
        ),
        setup=setup,
        setup_timeout_s=float(data.get("setup_timeout_s", DEFAULT_SETUP_TIMEOUT_S)),
        environment=_environment(data.get("environment")),
        paths=tuple(data.get("paths", ())),
        shrink=shrink_spec,
        resources=Resources(
            runner=runner, gpu=gpu, est_seconds=float(res.get("est_seconds", 10.0))
        ),
        stop=stop,
        first_batch=data.get("first_batch", "auto"),
        instructions=_on_off(data.get("instructions", "auto")),
        instructions_until="first_batch"
        if data.get("instructions_until") == "first_batch"
        else "first_forward",
        instructions_pct=float(
            data.get("threshold", {}).get("instructions_pct", DEFAULT_INSTRUCTIONS_PCT)
        ),
        profile=data.get("profile"),
        timeout_s=float(data.get("timeout_s", DEFAULT_TIMEOUT_S)),
        floor_pct=float(data.get("threshold", {}).get("floor_pct", DEFAULT_FLOOR_PCT)),
        tags=tuple(data.get("tags", ())),
        source=Path(source) if not isinstance(source, Path) else source,
    )


def _argv(value: str | list[str], key: str, source: str | Path) -> tuple[str, ...]:
    """A command given as a list, or as a string split the shell's way."""
    if not isinstance(value, str):
        return tuple(value)
    try:
        argv = shlex.split(value)
    except ValueError as exc:
        raise ScenarioError(f"{source}: {key}: cannot split: {exc}") from exc
    if not argv:
        raise ScenarioError(f"{source}: {key}: empty")
    return tuple(argv)


def _environment(data: Mapping[str, Any] | None) -> Environment | None:
    if not data:
        return None
    requirements = data.get("requirements", ())
    return Environment(
        requirements=(requirements,) if isinstance(requirements, str) else tuple(requirements),
        project=data.get("project"),
        lock=data.get("lock"),
    )


def _workdir(data: dict[str, Any], source: str | Path) -> str:
    """``workdir`` (or its older name ``cwd``): where the command runs, from the root."""
    if "workdir" in data and "cwd" in data:
        raise ScenarioError(f"{source}: workdir: give workdir or its older name cwd, not both")
    return str(data.get("workdir", data.get("cwd", "."))) or "."


def _on_off(value: str | bool) -> CountingMode:
    """``on``/``off`` as written, or as YAML 1.1 reads them unquoted (true/false); the schema
    has already refused anything else."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return next(m for m in COUNTING_MODES if m == value)


def _env_str(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; YAML syntax errors name the line and column."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ScenarioError(f"{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: YAML error: {exc}") from None
    return parse_scenario(data, source=path)


def load_all(directory: str | Path) -> list[Scenario]:
    """Every scenario in ``directory`` (``*.yaml``/``*.yml``), sorted by name; names are unique."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ScenarioError(
            f"{directory}: scenario directory not found (write a first scenario with "
            "`ttfb init -- CMD ARGS` where you run the job, or pass --scenarios-dir DIR)"
        )
    found: dict[str, Scenario] = {}
    for path in sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES):
        scenario = load_scenario(path)
        if scenario.name in found:
            other = found[scenario.name].source
            raise ScenarioError(f"{path}: name: {scenario.name!r} is also used by {other}")
        found[scenario.name] = scenario
    return [found[name] for name in sorted(found)]


def find(name_or_path: str, directory: str | Path) -> Scenario:
    """A scenario by file path, or by name among those in ``directory``."""
    candidate = Path(name_or_path)
    if candidate.suffix in SUFFIXES or candidate.is_file():
        return load_scenario(candidate)
    scenarios = load_all(directory)
    for scenario in scenarios:
        if scenario.name == name_or_path:
            return scenario
    names = ", ".join(s.name for s in scenarios) or "none"
    raise ScenarioError(f"--scenario: no scenario named {name_or_path!r} in {directory} ({names})")
