"""Applying a scenario's shrink block to its command in one checkout (files, validation).

The production command is shrunk in the form it already has:

1. a YAML/JSON config file (``--config PATH``, or ``shrink.config``): the file plus the
   command's own ``key=value`` overrides are merged, shrunk, validated and written atomically
   to a new file the command then points at (the overrides are folded into it); its
   ``--flags`` are shrunk in place;
2. otherwise the command's own arguments, in place, one at a time, each in its own syntax:
   ``key=value`` Hydra overrides, ``--flag value``/``--flag=value`` (HF, LightningCLI,
   argparse), ``--name=value`` Python literals for nanoGPT's configurator; names found only in
   the files the program reads (its module-level defaults, a ``.py`` config argument, a Hydra
   config) get a new override appended (``bot.shrink.cmdline``, ``bot.shrink.sources``).

Arguments no rule touched are kept byte for byte.

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
from . import cmdline, sources
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
    form: str  # file | overrides | flags | python | mixed
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
    cwd: Path | None = None,
) -> Shrunk:
    """The shrunk command for one checkout (see the module docstring).

    ``cwd`` is where the command runs (a scenario's ``cwd``; default ``root``): the files it
    names (script, ``.py`` configs, Hydra configs, ``--config``) are looked up there first;
    ``shrink.config`` and validation are relative to ``root``."""
    env = dict(DETERMINISTIC_ENV) if spec.deterministic else {}
    python_config = spec.config if spec.config and spec.config.endswith(".py") else None
    relative = (None if python_config else spec.config) or shrinkargs.config_path(argv)
    found = sources.find(argv, cwd=cwd or root, root=root, python_config=python_config)
    if relative:
        source = _resolve(relative, cwd=cwd or root, root=root, named=not spec.config)
        return _file_form(
            argv,
            spec,
            found,
            relative=relative,
            source=source,
            env=env,
            root=root,
            workdir=workdir,
            python=python,
            name=name,
        )
    if not found.slots and not found.sources:
        raise ConfigError(
            f"{name}: shrink: nothing to shrink in the command (no --config file, "
            "key=value overrides, --flags or Python/Hydra config it reads)"
        )
    done = cmdline.rewrite(
        argv,
        found.slots,
        found.sources,
        rules=spec.rules,
        auto=spec.auto,
        device=spec.device,
        source=f"{name}: command",
    )
    validated = _validate(spec, None, root=root, python=python, name=name, argv=done.argv)
    return Shrunk(done.argv, env, done.result, _form(done.styles), None, validated)


def _resolve(relative: str, *, cwd: Path, root: Path, named: bool) -> Path:
    """A config file's path: absolute as is; named by the command, in ``cwd`` if it is there;
    else (and for ``shrink.config``) in the checkout ``root``."""
    if Path(relative).is_absolute():
        return Path(relative)
    if named and (cwd / relative).is_file():
        return cwd / relative
    return root / relative


def _form(styles: Sequence[str]) -> str:
    """What a report calls the command's form: python, overrides, flags or mixed."""
    found = set(styles)
    if found & {"python-override", "script-defaults", "python-config"}:
        return "python"
    hydra = {"hydra-override", "hydra-config"}
    if found <= hydra:
        return "overrides"
    return "mixed" if found & hydra else "flags"


def _file_form(
    argv: Sequence[str],
    spec: ShrinkSpec,
    found: sources.Found,
    *,
    relative: str,
    source: Path,
    env: dict[str, str],
    root: Path,
    workdir: Path,
    python: str,
    name: str,
) -> Shrunk:
    """The --config file, with the command's key=value overrides folded in, shrunk and
    written to a new file; the command's --flags shrunk in place."""
    if shrinkargs.config_path_index(argv) is None:
        raise ConfigError(
            f"{name}: shrink.config is set but the command has no --config argument "
            "to point at the shrunk file"
        )
    config = load_config(source)
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    for key, value in shrinkargs.overrides(argv).items():
        shrinkargs.set_dotted(config, key, value)
    done = cmdline.rewrite(
        argv,
        [s for s in found.slots if s.style != "hydra-override"],  # folded into the file
        base=config,
        base_label=str(relative),
        rules=spec.rules,
        auto=spec.auto,
        device=spec.device,
        source=str(relative),
    )
    target = workdir / f"{_slug(name)}-{os.getpid()}-{id(spec):x}{source.suffix or '.yaml'}"
    write_config(target, done.base)
    try:
        validated = _validate(spec, target, root=root, python=python, name=name)
    except ConfigError:
        target.unlink(missing_ok=True)
        raise
    new = shrinkargs.with_config_path(shrinkargs.without_overrides(done.argv), str(target))
    return Shrunk(tuple(new), env, done.result, "file", target, validated)


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
