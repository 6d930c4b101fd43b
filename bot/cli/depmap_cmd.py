"""``ttfb depmap``: record (``update``) or print (``show``) the scenario → files map."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import git
from ..ab.sampling import run_samples
from ..ab.targets import gpu_skip_reason, scenario_job
from ..errors import UsageError
from ..report.fmt import text_table
from ..scenarios import find, load_all
from ..store import depmap_db
from ..store.recorder import Recorder
from ..store.records import RunRecord, SampleRow
from ..store.versioned import write_json
from . import common


def _path(args: argparse.Namespace) -> Path:
    return Path(args.depmap) if args.depmap else depmap_db.default_path(common.root(args))


def run_update(args: argparse.Namespace) -> int:
    root = common.root(args)
    path = _path(args)
    if args.reset:
        depmap_db.reset(path)
    if args.all or not args.scenario:
        scenarios = load_all(args.scenarios_dir)
    else:
        scenarios = [find(name, args.scenarios_dir) for name in args.scenario]
    executor = common.executor(args)
    # only the map is written: these samples are not a measurement worth keeping
    recorder = Recorder(history=None, depmap=path, runner="depmap")
    failed = 0
    for scenario in scenarios:
        skip = gpu_skip_reason(scenario)
        if skip:
            print(f"{scenario.name}: {skip}", file=sys.stderr)
            continue
        job = scenario_job(scenario, root=root)
        _, samples = run_samples(job, runs=args.runs, warmup=0, executor=executor)
        if not any(s.ok for s in samples):
            failed += 1
            print(
                f"{scenario.name}: no ok sample: {samples[0].error if samples else ''}",
                file=sys.stderr,
            )
            continue
        rows = tuple(SampleRow("", "depmap", i, s) for i, s in enumerate(samples))
        revision = git.head_revision(root)
        recorder.record(RunRecord("depmap", scenario.name, head_rev=revision, samples=rows))
        entry = depmap_db.load(path).entries[scenario.name]
        print(
            f"{scenario.name}: {len(entry.imported)} imported, "
            f"{len(entry.opened - entry.imported)} more opened"
        )
    print(f"wrote {path}", file=sys.stderr)
    return 1 if failed else 0


def run_show(args: argparse.Namespace) -> int:
    path = _path(args)
    dm = depmap_db.load(path)
    if not dm.entries:
        raise UsageError(f"depmap: {path}: no map yet; run `ttfb depmap update`")
    doc = dm.to_json()
    if args.json:
        write_json(args.json, doc)
    if args.format == "json":
        print(json.dumps(doc, indent=2))
        return 0
    rows = [["scenario", "imported", "opened", "revision", "updated", "compares", "moved"]]
    for name, e in sorted(dm.entries.items()):
        rows.append(
            [
                name,
                str(len(e.imported)),
                str(len(e.opened - e.imported)),
                (e.revision or "–")[:10],
                e.updated or "–",
                str(e.compares),
                str(e.moved),
            ]
        )
    print(text_table(rows))
    for name, e in sorted(dm.entries.items()):
        if args.files:
            for f in sorted(e.imported):
                print(f"  {name}  import  {f}")
            for f in sorted(e.opened - e.imported):
                print(f"  {name}  open    {f}")
    return 0


NAME = "depmap"
HELP = "the learned map of scenario → repository files"
NESTED = True  # subcommands, each with the shared options


def arguments(d: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    dsub = d.add_subparsers(dest="depmap_cmd", required=True, metavar="ACTION")
    u = dsub.add_parser("update", parents=parents, help="measure scenarios to record their files")
    u.add_argument("--scenario", action="append", metavar="NAME", help="repeatable")
    u.add_argument("--all", action="store_true", help="every scenario (the default)")
    u.add_argument("--runs", type=common.positive_int, default=1, help="samples per scenario")
    u.add_argument("--reset", action="store_true", help="forget the old map first")
    common.add_depmap_args(u, record=False)
    u.set_defaults(func=run_update)
    s = dsub.add_parser("show", parents=parents, help="print the map")
    common.add_depmap_args(s, record=False)
    s.add_argument("--files", action="store_true", help="list every file")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=run_show)
