"""``ttfb demo``: the whole A/B flow on the bundled example, in a temporary git repository."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..ab import demo_repo
from ..ab.results_doc import results_document
from ..dashboard import site
from ..exec import host
from ..report.compare_view import render_compare_text
from ..report.outputs import exit_code, write_compare_outputs
from ..store import thresholds
from ..store.recorder import Recorder
from . import common


def run(args: argparse.Namespace) -> int:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The demo's own history (fresh each time: its commits live in a temporary repository),
    # so that the dashboard it writes shows exactly this run.
    db = out / "history.sqlite"
    db.unlink(missing_ok=True)
    recorder = Recorder(
        history=db, depmap=None, runner=thresholds.runner_label(None), machine=host.machine_facts()
    )
    result = demo_repo.run_demo(
        out,
        executor=common.executor(args),
        max_pairs=args.max_pairs,
        budget_s=args.budget_s,
        keep=True,  # the site reads commit messages from it; removed below unless --keep
        recorder=recorder,
        progress=common.say,
    )
    try:
        built = site.build(db, out / "site", site.Options(root=result.repo.path, branch="main"))
    finally:
        if not args.keep:
            shutil.rmtree(result.repo.path.parent, ignore_errors=True)
            result.extra["demo"]["repository"] = None
    s = result.session
    doc = results_document(s.comparison, base=s.base, head=s.head, extra=result.extra)
    write_compare_outputs(doc, out)
    print(render_compare_text(doc), end="")
    print(
        f"\nwrote {out}/results.json, comment.md, summary.md and plots ({doc['elapsed_s']:.0f} s)"
        f"\nwrote the dashboard: open {built.out / 'index.html'}"
    )
    return exit_code(doc, gate=False)


NAME = "demo"
HELP = "A/B a planted TTFB regression in the bundled example (no GitHub needed)"
DESCRIPTION = demo_repo.__doc__


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="out/demo", help="where results go (default out/demo)")
    p.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the last look (default 10: a single look)",
    )
    p.add_argument(
        "--budget-s",
        type=common.positive_float,
        default=280.0,
        help="wall-clock budget (default 280)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary git repository")
