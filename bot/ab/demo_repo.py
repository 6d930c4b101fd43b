"""``ttfb demo``: a real A/B on the bundled example, no GitHub needed.

It builds a temporary git repository from ``examples/`` with two commits:

- **base**: the example trainer as it ships;
- **head**: "Report click-log statistics to the metrics service", which adds a metrics call
  documented as fire-and-forget but that in fact waits ~200 ms for the collector's
  acknowledgement, in the ranker's dataset code only.

``bot.pipeline.demo_run`` then compares base and head on ``ranker-cpu`` (affected) and
``cnn-cpu`` (not affected) and writes every output a compare writes, plus the dashboard.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import git
from ..errors import UsageError

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
