"""One bench job of the PR matrix (``ttfb gh run``): base vs head on one scenario, through the
one compare pipeline (``bot.pipeline.comparing``), into the results directory the report job
downloads. Runs with a read-only token and no secrets: it executes the pull request's code."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ..ab.arms import ArmSpec
from ..pipeline.comparing import compare
from ..pipeline.options import CompareOptions, CountingOptions, OutputPaths
from ..report.compare_view import render_compare_text
from ..scenarios import find
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
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
    run = compare(
        CompareOptions(
            root=ctx.root,
            base=ArmSpec(bench.base),
            head=ArmSpec(bench.head),
            scenarios=(find(bench.scenario, ctx.scenarios_dir),),
            store=ctx.store,
            policy=Policy(alpha=bench.alpha, looks=plan_looks(10, bench.max_pairs)),
            family_size=bench.family,
            counting=CountingOptions(ctx.instructions),
            outputs=OutputPaths(out_dir=ctx.out_dir),
            kind="bench",
        ),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
        executor=ctx.executor,
    )
    append_summary(ctx.env, (ctx.out_dir / "summary.md").read_text())
    return Outputs({}, render_compare_text(run.doc).rstrip("\n"))
