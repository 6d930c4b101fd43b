"""``ttfb history``: recent runs per scenario, trend plots, export and import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import history, results
from ..render import text_table
from ..report import fmt_ci, fmt_pct, fmt_s
from . import common


def run(args: argparse.Namespace) -> int:
    path = common.db_path(args, common.root(args))
    with history.History(path) as hist:
        if args.import_path:
            doc = results.read_json(args.import_path, known=history.EXPORT_VERSION)
            added = hist.load_export(doc, source=args.import_path)
            print(f"imported {added} new run(s) from {args.import_path} into {path}")
        if args.export:
            results.write_json(args.export, hist.export())
            print(f"exported to {args.export}", file=sys.stderr)
        if args.plot:
            from ..plots import write_trends

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
            results.write_json(
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


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    h = sub.add_parser("history", parents=parents, help="recent runs, trend plots, export/import")
    common.add_history_args(h)
    h.add_argument("--scenario", help="only this scenario")
    h.add_argument("--limit", type=common.positive_int, default=20)
    h.add_argument("--plot", metavar="DIR", help="write a PNG trend per scenario here")
    h.add_argument("--export", metavar="PATH", help="write the whole history as JSON")
    h.add_argument(
        "--import",
        dest="import_path",
        metavar="PATH",
        help="merge an exported history (runs already present are skipped)",
    )
    h.set_defaults(func=run)
