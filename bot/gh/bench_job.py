"""One bench job of the PR matrix (``ttfb gh run``): base vs head on one scenario, through the
same session and ``compare`` as ``ttfb compare``, into the results directory the report job
downloads. Runs with a read-only token and no secrets: it executes the pull request's code."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..ab import session
from ..ab.arms import ArmSpec
from ..ab.counting import resolve_counting
from ..ab.results_doc import results_document
from ..report.compare_view import render_compare_text
from ..report.outputs import write_compare_outputs
from ..scenarios import find
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store import thresholds
from .context import Context, Outputs, append_summary


@dataclass(frozen=True)
class Bench:
    scenario: str
    base: str
    head: str
    family: int | None = None
    max_pairs: int = 40
    alpha: float = 0.01


def run_bench(bench: Bench, ctx: Context) -> Outputs:
    """Compare, write ``results.json``, the comment, the summary and plots; exit 0 whatever
    the verdict (the report job sets the status)."""
    scenario = find(bench.scenario, ctx.scenarios_dir)
    request = session.Request(
        ArmSpec(bench.base), ArmSpec(bench.head), (scenario,), family_size=bench.family
    )
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="ttfb-count-") as workdir:
        result = session.run(
            request,
            repo=ctx.root,
            policy=Policy(alpha=bench.alpha, looks=plan_looks(10, bench.max_pairs)),
            executor=ctx.executor,
            threshold=thresholds.resolver(ctx.history, ctx.runner),
            log_path=ctx.out_dir / "samples.jsonl",
            recorder=ctx.recorder,
            progress=progress,
            counting=resolve_counting(
                None if ctx.instructions == "auto" else ctx.instructions,
                (scenario,),
                executor=ctx.executor,
                workdir=Path(workdir),
            ),
        )
    doc = results_document(
        result.comparison,
        base=result.base,
        head=result.head,
        extra={"samples_log": str(result.log_path)},
    )
    write_compare_outputs(doc, ctx.out_dir)
    append_summary(ctx.env, (ctx.out_dir / "summary.md").read_text())
    return Outputs({}, render_compare_text(doc).rstrip("\n"))
