"""``ttfb demo``: a real A/B on the bundled example, no GitHub needed.

It builds a temporary git repository from ``examples/`` with two commits:

- **base**: the example trainer as it ships;
- **head**: "Report click-log statistics to the metrics service", which adds a metrics call
  documented as fire-and-forget but that in fact waits ~200 ms for the collector's
  acknowledgement, in the ranker's dataset code only.

Then it compares base and head on ``ranker-cpu`` (affected) and ``cnn-cpu`` (not affected),
and writes ``results.json``, ``comment.md``, ``summary.md`` and one plot per scenario.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import arms, compare, git, outputs
from .errors import UsageError
from .measure import scenario_job
from .results import SampleLog
from .runner import plan_looks
from .sample import Executor, Job
from .scenarios import load_scenario
from .verdict import Policy

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
    root = Path(__file__).resolve().parents[1]
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


def run_demo(
    out_dir: Path,
    *,
    executor: Executor,
    max_pairs: int = 10,
    budget_s: float | None = 280.0,
    keep: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the repository, compare base and head, write the outputs; return the document."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ttfb-demo-"))
    try:
        repo = build_repo(work / "repo")
        if progress:
            progress(f"demo repository: {repo.path} (base {repo.base[:8]}, head {repo.head[:8]})")
        policy = Policy(looks=plan_looks(10, max_pairs))
        base_spec, head_spec = arms.ArmSpec(repo.base), arms.ArmSpec(repo.head)
        with arms.prepare(base_spec, head_spec, repo=repo.path) as (base, head):
            targets = []
            for name in DEMO_SCENARIOS:
                scenario = load_scenario(repo.path / "scenarios" / f"{name}.yaml")
                jobs = [
                    _labelled(scenario_job(scenario, root=arm.root, python=arm.python), arm.name)
                    for arm in (base, head)
                ]
                targets.append(
                    compare.Target(
                        name, jobs[0], jobs[1], scenario.floor_pct, description=scenario.description
                    )
                )
            out_dir.mkdir(parents=True, exist_ok=True)
            meta = {"command": "demo", "base": base.to_json(), "head": head.to_json()}
            with SampleLog(out_dir / "samples.jsonl", meta) as log:
                outcomes = compare.run_compare(
                    targets,
                    policy=policy,
                    executor=executor,
                    budget_s=budget_s,
                    log=log,
                    progress=progress,
                )
            doc = compare.results_document(
                outcomes,
                base=base,
                head=head,
                policy=policy,
                elapsed_s=time.monotonic() - started,
                extra={
                    "demo": {
                        "repository": str(repo.path) if keep else None,
                        "planted": f"synchronous metrics upload, "
                        f"{COLLECTOR_LATENCY_S * 1000:.0f} ms, ranker only",
                    }
                },
            )
        outputs.write_compare_outputs(doc, out_dir)
        return doc
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _labelled(job: Job, label: str) -> Job:
    return Job(**{**job.__dict__, "label": label})
