"""Applying a scenario's shrink block to its command in one checkout (files, validation).

The production command is shrunk in the form it already has:

1. a config file (``--config PATH``, or ``shrink.config``): the file plus the command's own
   ``key=value`` overrides are merged, shrunk, validated and written atomically to a new
   file the command then points at (the overrides are folded into it);
2. otherwise ``key=value`` overrides in the command, rewritten in place;
3. otherwise ``--flag value`` arguments, rewritten in place.

A shrink that fails the project's own validation (``shrink.validate``) is an error, never a
silent fallback to the production size.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import probe
from ..atomic import write_text_atomic
from ..credentials import scrubbed
from ..errors import ConfigError
from . import argv as shrinkargs
from .auto import shrink
from .rules import ShrinkResult
from .spec import ShrinkSpec

DETERMINISTIC_ENV = {
    "PYTHONHASHSEED": "0",
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    probe.ENV_DETERMINISTIC: "1",
}
VALIDATE_TIMEOUT_S = 180


@dataclass(frozen=True)
class Shrunk:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    result: ShrinkResult
    form: str  # file | overrides | flags
    written: Path | None = None
    validated: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "file": str(self.written) if self.written else None,
            "validated": self.validated,
            **self.result.to_json(),
        }


def load_config(path: Path) -> Any:
    """A YAML or JSON config file; errors name the file (and the line for YAML)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem}") from None


def write_config(path: Path, config: Any) -> None:
    """Write YAML or JSON (by suffix) atomically."""
    text = (
        json.dumps(config, indent=2) + "\n"
        if path.suffix == ".json"
        else yaml.safe_dump(config, sort_keys=False)
    )
    write_text_atomic(path, text)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "scenario"


def shrink_command(
    argv: Sequence[str],
    spec: ShrinkSpec,
    *,
    root: Path,
    workdir: Path,
    python: str,
    name: str,
) -> Shrunk:
    """The shrunk command for one checkout (see the module docstring)."""
    env = dict(DETERMINISTIC_ENV) if spec.deterministic else {}
    relative = spec.config or shrinkargs.config_path(argv)
    if relative:
        if shrinkargs.config_path_index(argv) is None:
            raise ConfigError(
                f"{name}: shrink.config is set but the command has no --config argument "
                "to point at the shrunk file"
            )
        source = (root / relative) if not Path(relative).is_absolute() else Path(relative)
        config = load_config(source)
        if not isinstance(config, dict):
            raise ConfigError(f"{source}: expected a mapping at the top level")
        for key, value in shrinkargs.overrides(argv).items():
            shrinkargs.set_dotted(config, key, value)
        result = shrink(
            config, rules=spec.rules, auto=spec.auto, device=spec.device, source=str(relative)
        )
        target = workdir / f"{_slug(name)}-{os.getpid()}-{id(spec):x}{source.suffix or '.yaml'}"
        write_config(target, result.config)
        try:
            validated = _validate(spec, target, root=root, python=python, name=name)
        except ConfigError:
            target.unlink(missing_ok=True)
            raise
        new = shrinkargs.with_config_path(shrinkargs.without_overrides(argv), str(target))
        return Shrunk(tuple(new), env, result, "file", target, validated)
    in_place = (  # (form, what it is, the command as a config, how to write it back)
        (
            "overrides",
            "command overrides",
            shrinkargs.nest(shrinkargs.overrides(argv)),
            shrinkargs.with_overrides,
        ),
        ("flags", "command flags", shrinkargs.flags(argv), shrinkargs.with_flags),
    )
    for form, what, config, write_back in in_place:
        if not config:
            continue
        result = shrink(
            config, rules=spec.rules, auto=spec.auto, device=spec.device, source=f"{name}: {what}"
        )
        new = write_back(argv, result.config)
        validated = _validate(spec, None, root=root, python=python, name=name, argv=new)
        return Shrunk(tuple(new), env, result, form, None, validated)
    raise ConfigError(
        f"{name}: shrink: nothing to shrink in the command "
        "(no --config file, key=value overrides or --flags)"
    )


def _validate(
    spec: ShrinkSpec,
    config: Path | None,
    *,
    root: Path,
    python: str,
    name: str,
    argv: Sequence[str] = (),
) -> bool:
    """Run the project's own validation on the shrunk config; a failure is a ConfigError."""
    if not spec.validate:
        return False
    command = []
    for token in spec.validate:
        if token in ("python", "python3"):
            command.append(python)
        elif token == "{args}":
            command.extend(argv[1:] if argv else [])
        else:
            command.append(token.replace("{config}", str(config)) if config else token)
    try:
        proc = subprocess.run(
            command,
            cwd=root,
            env=scrubbed(os.environ),  # the project's own code: no credentials
            capture_output=True,
            text=True,
            timeout=VALIDATE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{name}: shrink validation could not run: {exc}") from None
    if proc.returncode != 0:
        tail = " | ".join(line for line in proc.stderr.strip().splitlines()[-3:] if line)
        raise ConfigError(
            f"{name}: the shrunk config fails the project's validation "
            f"({' '.join(spec.validate)}): {tail or f'exit {proc.returncode}'}"
        )
    return True
