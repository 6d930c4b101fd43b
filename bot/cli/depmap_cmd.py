"""``ttfb depmap``: record (``update``) or print (``show``) the scenario → files map."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..pipeline.measuring import measure
from ..pipeline.options import MeasureOptions, StoreOptions
from ..report.fmt import text_table
from ..store import depmap_db
from ..store.versioned import write_json
from . import common
from .args import Common, option, register


@dataclass(frozen=True, kw_only=True)
class UpdateOptions(Common, common.Depmap):
    scenario: list[str] | None = option(
        "--scenario", action="append", metavar="NAME", help="repeatable"
    )
    all: bool = option(
        "--all", default=False, action="store_true", help="every scenario (the default)"
    )
    runs: int = option("--runs", type=common.positive_int, default=1, help="samples per scenario")
    reset: bool = option(
        "--reset", default=False, action="store_true", help="forget the old map first"
    )


@dataclass(frozen=True, kw_only=True)
class ShowOptions(Common, common.Depmap):
    files: bool = option("--files", default=False, action="store_true", help="list every file")
    format: str = option("--format", choices=("text", "json"), default="text")


def _path(o: common.Depmap, root: Path) -> Path:
    return Path(o.depmap) if o.depmap else depmap_db.default_path(root)


def run_update(o: UpdateOptions) -> int:
    root = common.root(o)
    path = _path(o, root)
    if o.reset:
        depmap_db.reset(path)
    every = o.all or not o.scenario
    scenarios = common.chosen_scenarios(o, o.scenario, every, root, what="depmap update")
    # only the map is written: these samples are not a measurement worth keeping
    store = StoreOptions(root, record=False, depmap=path, runner="depmap")
    measured = measure(
        MeasureOptions(
            root=root,
            store=store,
            scenarios=scenarios,
            runs=o.runs,
            warmup=0,
            fake=common.path_or_none(o.fake),
            kind="depmap",
        ),
        progress=common.say,
    )
    failed = 0
    entries = depmap_db.load(path).entries
    for summary in measured.summaries:
        if summary.skipped:
            print(f"{summary.name}: {summary.skipped}", file=sys.stderr)
        elif not summary.ok:
            failed += 1
            why = summary.errors[0] if summary.errors else ""
            print(f"{summary.name}: no ok sample: {why}", file=sys.stderr)
        elif summary.name in entries:
            entry = entries[summary.name]
            print(
                f"{summary.name}: {len(entry.imported)} imported, "
                f"{len(entry.opened - entry.imported)} more opened"
            )
    print(f"wrote {path}", file=sys.stderr)
    return 1 if failed else 0


def run_show(args: ShowOptions) -> int:
    path = _path(args, common.root(args))
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


def arguments(d: argparse.ArgumentParser) -> None:
    dsub = d.add_subparsers(dest="depmap_cmd", required=True, metavar="ACTION")
    u = dsub.add_parser("update", help="measure scenarios to record their files")
    register(u, UpdateOptions, run_update)
    s = dsub.add_parser("show", help="print the map")
    register(s, ShowOptions, run_show)
