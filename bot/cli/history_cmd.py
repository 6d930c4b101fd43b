"""``ttfb history``: recent runs per scenario, trend plots, export and import."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..report.fmt import fmt_ci, fmt_pct, fmt_s, text_table
from ..store import export, history_db
from ..store.versioned import read_json, write_json
from . import common
from .args import Common, option, register


@dataclass(frozen=True, kw_only=True)
class Options(Common, common.Db):
    scenario: str | None = option("--scenario", help="only this scenario")
    limit: int = option("--limit", type=common.positive_int, default=20)
    plot: str | None = option("--plot", metavar="DIR", help="write a PNG trend per scenario here")
    export: str | None = option("--export", metavar="PATH", help="write the whole history as JSON")
    import_path: str | None = option(
        "--import",
        metavar="PATH",
        help="merge an exported history (runs already present are skipped)",
    )


def run(args: Options) -> int:
    path = common.store(common.root(args), db=args).db_path
    with history_db.History(path) as hist:
        if args.import_path:
            doc = read_json(args.import_path, known=export.EXPORT_VERSION)
            added = export.load_export(hist, doc, source=args.import_path)
            print(f"imported {added} new run(s) from {args.import_path} into {path}")
        if args.export:
            write_json(args.export, export.export(hist))
            print(f"exported to {args.export}", file=sys.stderr)
        if args.plot:
            from ..report.plots import write_trends

            for written in write_trends(hist, Path(args.plot), scenario=args.scenario):
                print(f"wrote {written}", file=sys.stderr)
        rows = [
            [
                "run",
                "when",
                "kind",
                "scenario",
                "head",
                "runner",
                "verdict",
                "Δ",
                "95% CI",
                "pairs/samples",
                "mean TTFB",
            ]
        ]
        for r in hist.recent(scenario=args.scenario, limit=args.limit):
            rows.append(
                [
                    str(r["id"]),
                    r["created"],
                    r["kind"],
                    r["scenario"] or "–",
                    (r["head_rev"] or "–")[:10],
                    r["runner"] or "–",
                    r["verdict"] or "–",
                    fmt_pct(r["delta_pct"]),
                    fmt_ci(r["ci_low_pct"], r["ci_high_pct"]),
                    str(r["pairs"] or r["samples"]),
                    fmt_s(r["mean_ttfb_s"]),
                ]
            )
        if args.json:
            write_json(
                args.json,
                {
                    "version": 1,
                    "kind": "ttfb-history-list",
                    "runs": hist.recent(scenario=args.scenario, limit=args.limit),
                },
            )
    if len(rows) == 1:
        print(f"no runs in {path}" + (f" for {args.scenario}" if args.scenario else ""))
    else:
        print(text_table(rows))
    return 0


NAME = "history"
HELP = "recent runs, trend plots, export/import"


def arguments(p: argparse.ArgumentParser) -> None:
    register(p, Options, run)
