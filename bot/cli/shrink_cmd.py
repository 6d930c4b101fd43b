"""``ttfb shrink``: a production config (or command) shrunk by rules and/or ``--auto``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

import yaml

from ..errors import ConfigError, UsageError
from ..shrink import apply as shrinkrun
from ..shrink.spec import ShrinkSpec
from ..store.versioned import write_json

SHRINK_REPORT_VERSION = 1


def _spec(args: argparse.Namespace) -> ShrinkSpec:
    data: dict[str, object] = {}
    if args.rules:
        try:
            loaded = yaml.safe_load(Path(args.rules).read_text())
        except FileNotFoundError:
            raise UsageError(f"--rules: {args.rules}: no such file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{args.rules}: YAML error: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{args.rules}: expected a mapping of rules")
        spec = ShrinkSpec.parse(loaded, source=args.rules)
        data = {
            "rules": spec.rules,
            "auto": spec.auto,
            "validate": list(spec.validate),
            "deterministic": spec.deterministic,
        }
        if spec.device:
            data["device"] = spec.device
    if args.auto:
        data["auto"] = True
    if args.device:
        data["device"] = args.device
    if args.validate:
        data["validate"] = shlex.split(args.validate)
    spec = ShrinkSpec.parse({"rules": {}, **data}, source=args.rules or "command line")
    if not spec.rules and not spec.auto and not spec.device:
        raise UsageError("shrink: give --rules FILE, --auto or --device")
    return spec


def run(args: argparse.Namespace) -> int:
    spec = _spec(args)
    items = list(args.items)
    config_mode = len(items) == 1 and Path(items[0]).suffix in (".yaml", ".yml", ".json")
    args.config = items[0] if config_mode else None
    argv = [] if config_mode else items
    if not items:
        raise UsageError("shrink: give a CONFIG file, or a command after --")
    root = Path.cwd()
    if args.config:
        if not args.output:
            raise UsageError("shrink: -o OUT is required with a CONFIG file")
        out = Path(args.output)
        with tempfile.TemporaryDirectory(prefix="ttfb-shrink-", dir=out.parent or None) as tmp:
            shrunk = shrinkrun.shrink_command(
                ["--config", args.config],
                spec,
                root=root,
                workdir=Path(tmp),
                python=sys.executable,
                name=Path(args.config).name,
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
    if not shrunk.result.changes:
        print("  nothing changed", file=sys.stderr)
    if args.json:
        report = {"version": SHRINK_REPORT_VERSION, "kind": "ttfb-shrink", **shrunk.to_json()}
        if args.config:
            report["file"] = str(args.output)
        report["command"] = list(shrunk.argv) if not args.config else None
        write_json(args.json, json.loads(json.dumps(report, default=str)))
    return 0


NAME = "shrink"
HELP = "shrink a production config or command to a CPU-sized run"
DESCRIPTION = (
    "Apply shrink rules (--rules FILE) and/or --auto heuristics to a YAML/JSON config "
    "(written atomically to -o OUT) or to a command's key=value overrides or --flags."
)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "items",
        nargs="*",
        metavar="CONFIG | -- CMD ARGS...",
        help="a YAML/JSON config file, or a command after --",
    )
    p.add_argument("--rules", metavar="FILE", help="YAML mapping of dotted paths to rules")
    p.add_argument("--auto", action="store_true", help="shrink recognised keys conservatively")
    p.add_argument("--device", metavar="DEV", help="force cuda/gpu device values to DEV")
    p.add_argument(
        "--validate", metavar="CMD", help="validation command; {config} is the shrunk file"
    )
    p.add_argument("-o", "--output", metavar="OUT", help="shrunk config file")
