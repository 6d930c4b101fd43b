"""``ttfb demo``: the compare pipeline on the bundled example, then the dashboard of that run.

The repository (``bot.ab.demo_repo``) has a base commit and a head commit that plants a
synchronous metrics call in the ranker's data code. The demo compares the two on an affected
and an unaffected scenario through the one compare pipeline (``bot.pipeline.comparing``),
recording into a history of its own, and builds the dashboard from that history.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..ab.arms import ArmSpec
from ..ab.demo_repo import COLLECTOR_LATENCY_S, DEMO_SCENARIOS, DemoRepo, build_repo
from ..dashboard import site
from ..model import Progress
from ..scenarios import load_scenario
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from .comparing import CompareRun, compare
from .options import CompareOptions, DemoOptions, OutputPaths, StoreOptions


@dataclass(frozen=True)
class DemoRun:
    run: CompareRun
    repo: DemoRepo
    site: Path  # the dashboard's index.html


def demo(opts: DemoOptions, *, progress: Progress | None = None) -> DemoRun:
    """Build the repository, compare, build the dashboard; the repository is removed
    afterwards unless ``opts.keep``."""
    out = opts.out_dir
    out.mkdir(parents=True, exist_ok=True)
    # The demo's own history, fresh each time (its commits live in a temporary repository),
    # so that the dashboard shows exactly this run.
    db = out / "history.sqlite"
    db.unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ttfb-demo-"))
    try:
        repo = build_repo(work / "repo")
        if progress:
            progress(f"demo repository: {repo.path} (base {repo.base[:8]}, head {repo.head[:8]})")
        planted = f"synchronous metrics upload, {COLLECTOR_LATENCY_S * 1000:.0f} ms, ranker only"
        scenarios = tuple(
            load_scenario(repo.path / "scenarios" / f"{name}.yaml") for name in DEMO_SCENARIOS
        )
        run = compare(
            CompareOptions(
                root=repo.path,
                base=ArmSpec(repo.base),
                head=ArmSpec(repo.head),
                scenarios=scenarios,
                store=StoreOptions(repo.path, db=db, learn=False),
                policy=Policy(looks=plan_looks(10, opts.max_pairs)),
                budget_s=opts.budget_s,
                outputs=OutputPaths(out_dir=out),
                kind="demo",
                extra={
                    "demo": {
                        "repository": str(repo.path) if opts.keep else None,
                        "planted": planted,
                    }
                },
                fake=opts.fake,
            ),
            progress=progress,
        )
        built = site.build(db, out / "site", site.Options(root=repo.path, branch="main"))
        return DemoRun(run, repo, built.out / "index.html")
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
