"""``ttfb shrink``: a production config (or command) shrunk by rules and/or ``--auto``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigError, UsageError
from ..shrink import apply as shrinkrun
from ..shrink.spec import ShrinkSpec
from ..store.versioned import write_json
from . import args
from .args import Common, option

SHRINK_REPORT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Options(Common):
    items: list[str] = option(
        nargs="*",
        metavar="CONFIG | -- CMD ARGS...",
        help="a YAML/JSON config file, or a command after --",
    )
    rules: str | None = option(
        "--rules", metavar="FILE", help="YAML mapping of dotted paths to rules"
    )
    auto: bool = option(
        "--auto",
        default=False,
        action="store_true",
        help="shrink recognised keys conservatively",
    )
    device: str | None = option(
        "--device", metavar="DEV", help="force cuda/gpu device values to DEV"
    )
    validate: str | None = option(
        "--validate", metavar="CMD", help="validation command; {config} is the shrunk file"
    )
    output: str | None = option("-o", "--output", metavar="OUT", help="shrunk config file")


def _spec(o: Options) -> ShrinkSpec:
    data: dict[str, object] = {}
    if o.rules:
        try:
            loaded = yaml.safe_load(Path(o.rules).read_text())
        except FileNotFoundError:
            raise UsageError(f"--rules: {o.rules}: no such file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{o.rules}: YAML error: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{o.rules}: expected a mapping of rules")
        spec = ShrinkSpec.parse(loaded, source=o.rules)
        data = {
            "rules": spec.rules,
            "auto": spec.auto,
            "validate": list(spec.validate),
            "deterministic": spec.deterministic,
        }
        if spec.device:
            data["device"] = spec.device
    if o.auto:
        data["auto"] = True
    if o.device:
        data["device"] = o.device
    if o.validate:
        data["validate"] = shlex.split(o.validate)
    spec = ShrinkSpec.parse({"rules": {}, **data}, source=o.rules or "command line")
    if not spec.rules and not spec.auto and not spec.device:
        raise UsageError("shrink: give --rules FILE, --auto or --device")
    return spec


def run(o: Options) -> int:
    spec = _spec(o)
    items = list(o.items or [])
    config_mode = len(items) == 1 and Path(items[0]).suffix in (".yaml", ".yml", ".json")
    config = items[0] if config_mode else None
    argv = [] if config_mode else items
    if not items:
        raise UsageError("shrink: give a CONFIG file, or a command after --")
    root = Path.cwd()
    if config:
        if not o.output:
            raise UsageError("shrink: -o OUT is required with a CONFIG file")
        out = Path(o.output)
        with tempfile.TemporaryDirectory(prefix="ttfb-shrink-", dir=out.parent or None) as tmp:
            shrunk = shrinkrun.shrink_command(
                ["--config", config],
                spec,
                root=root,
                workdir=Path(tmp),
                python=sys.executable,
                name=Path(config).name,
            )
            assert shrunk.written is not None
            shrunk.written.replace(out)
        print(f"wrote {out}", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory(prefix="ttfb-shrink-") as tmp:
            shrunk = shrinkrun.shrink_command(
                argv, spec, root=root, workdir=Path(tmp), python=sys.executable, name="command"
            )
            if shrunk.form == "file":
                raise UsageError("shrink: the command has --config; shrink that file instead")
        print(shlex.join(shrunk.argv))
    for change in shrunk.result.changes:
        print(f"  {change.line()}", file=sys.stderr)
    for kept in shrunk.result.kept:
        print(f"  kept {kept}", file=sys.stderr)
    if not shrunk.result.changes:
        print(
            f"  nothing changed: {_seen(shrunk.result.config, bool(shrunk.result.kept))}",
            file=sys.stderr,
        )
    if o.json:
        report = {"version": SHRINK_REPORT_VERSION, "kind": "ttfb-shrink", **shrunk.to_json()}
        if config:
            report["file"] = str(o.output)
        report["command"] = list(shrunk.argv) if not config else None
        write_json(o.json, json.loads(json.dumps(report, default=str)))
    return 0


def _seen(config: object, kept: bool) -> str:
    """What the shrinker saw when it changed nothing."""
    if kept:
        return "every value it knows is already small (kept, above)"
    names = sorted(str(k) for k in config) if isinstance(config, dict) else []
    if not names:
        return "the command sets no value and names no file the shrinker reads"
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return f"saw {shown}; none is a name --auto knows (give --rules FILE for them)"


NAME = "shrink"
HELP = "shrink a production config or command to a CPU-sized run"
DESCRIPTION = (
    "Apply shrink rules (--rules FILE) and/or --auto heuristics to a YAML/JSON config "
    "(written atomically to -o OUT) or to a command's key=value overrides or --flags."
)


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
