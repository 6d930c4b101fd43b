"""``ttfb demo``: a real A/B on the bundled example, no GitHub needed.

It builds a temporary git repository from ``examples/`` with two commits:

- **base**: the example trainer as it ships;
- **head**: "Report click-log statistics to the metrics service", which adds a metrics call
  documented as fire-and-forget but that in fact waits ~200 ms for the collector's
  acknowledgement, in the ranker's dataset code only.

Then it compares base and head on ``ranker-cpu`` (affected) and ``cnn-cpu`` (not affected);
the command line writes ``results.json``, ``comment.md``, ``summary.md`` and one plot per
scenario.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import git
from ..errors import UsageError
from ..model import Executor, Progress
from ..scenarios import load_scenario
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store.recorder import Recorder
from . import session
from .arms import ArmSpec
from .session import Session
from .targets import floor_threshold

DEMO_SCENARIOS = ("ranker-cpu", "cnn-cpu")
COLLECTOR_LATENCY_S = 0.2

TELEMETRY_ADDITION = f'''

COLLECTOR_LATENCY_S = {COLLECTOR_LATENCY_S}  # round trip to the metrics service


def report_stats(name: str, **stats: Any) -> None:
    """Report dataset statistics to the metrics service (fire-and-forget)."""
    _upload([{{"event": "dataset_stats", "name": name, "time": time.time(), **stats}}])


def _upload(batch: list[dict[str, Any]]) -> None:
    # Stands in for an HTTP POST to the collector: it waits for the acknowledgement.
    time.sleep(COLLECTOR_LATENCY_S)
    for record in batch:
        _queue.put(record)
'''
RANKER_ANCHOR = "    return ClickLogDataset("
RANKER_ADDITION = (
    '    telemetry.report_stats("click_logs", rows=data.rows, tables=data.num_sparse)\n'
)
RANKER_IMPORT = (
    "from examples.trainer import preprocess, synth",
    "from examples.trainer import preprocess, synth, telemetry",
)


@dataclass(frozen=True)
class DemoRepo:
    path: Path
    base: str
    head: str


def source_root() -> Path:
    """The source checkout this bot runs from (the demo needs its ``examples/``)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "examples" / "trainer").is_dir() or not (root / "scenarios").is_dir():
        raise UsageError("demo: needs a source checkout of TTFB Lab (examples/ not found)")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise UsageError(f"demo: {path.name} changed; cannot plant the regression")
    path.write_text(text.replace(old, new, 1))


def build_repo(dest: Path, *, source: Path | None = None) -> DemoRepo:
    """The two-commit repository described in the module docstring."""
    source = source or source_root()
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        source / "examples", dest / "examples", ignore=shutil.ignore_patterns("__pycache__", "runs")
    )
    (dest / "scenarios").mkdir()
    for name in DEMO_SCENARIOS:
        shutil.copy2(source / "scenarios" / f"{name}.yaml", dest / "scenarios" / f"{name}.yaml")
    (dest / ".gitignore").write_text("runs/\n__pycache__/\n")
    git.init_repo(dest)
    base = git.commit_all(dest, "Example trainer")
    telemetry = dest / "examples" / "trainer" / "telemetry.py"
    telemetry.write_text(telemetry.read_text() + TELEMETRY_ADDITION)
    ranker = dest / "examples" / "trainer" / "datasets" / "ranker.py"
    _edit(ranker, *RANKER_IMPORT)
    _edit(ranker, RANKER_ANCHOR, RANKER_ADDITION + RANKER_ANCHOR)
    head = git.commit_all(
        dest,
        "Report click-log statistics to the metrics service\n\n"
        "report_stats() is fire-and-forget, so this costs nothing at start-up.",
    )
    return DemoRepo(dest, base, head)


@dataclass(frozen=True)
class Demo:
    session: Session
    repo: DemoRepo
    extra: dict[str, Any]


def run_demo(
    out_dir: Path,
    *,
    executor: Executor,
    max_pairs: int = 10,
    budget_s: float | None = 280.0,
    keep: bool = False,
    recorder: Recorder | None = None,
    progress: Progress | None = None,
) -> Demo:
    """Build the repository, compare base and head on the demo scenarios (samples logged to
    ``out_dir``); the repository is removed afterwards unless ``keep``."""
    work = Path(tempfile.mkdtemp(prefix="ttfb-demo-"))
    try:
        repo = build_repo(work / "repo")
        if progress:
            progress(f"demo repository: {repo.path} (base {repo.base[:8]}, head {repo.head[:8]})")
        scenarios = tuple(
            load_scenario(repo.path / "scenarios" / f"{name}.yaml") for name in DEMO_SCENARIOS
        )
        request = session.Request(
            ArmSpec(repo.base), ArmSpec(repo.head), scenarios, budget_s=budget_s, kind="demo"
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        result = session.run(
            request,
            repo=repo.path,
            policy=Policy(looks=plan_looks(10, max_pairs)),
            executor=executor,
            threshold=floor_threshold,
            log_path=out_dir / "samples.jsonl",
            recorder=recorder,
            progress=progress,
        )
        planted = f"synchronous metrics upload, {COLLECTOR_LATENCY_S * 1000:.0f} ms, ranker only"
        extra = {"demo": {"repository": str(repo.path) if keep else None, "planted": planted}}
        return Demo(result, repo, extra)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
