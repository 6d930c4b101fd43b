"""The release suite's measuring half: baseline vs release head on every release scenario
through the one compare pipeline, then a bisect of each confirmed regression over the
first-parent commits between them. Notifying and gating are the GitHub flow's
(``bot.gh.release_flow``); nothing here needs a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import git
from ..ab.arms import ArmSpec
from ..ab.counting import resolve_counting
from ..ab.engine import ScenarioOutcome
from ..ab.workspace import Workspace
from ..bisect import bisect_doc
from ..bisect.search import BisectError
from ..bisect.steps import StepSize, run_bisect
from ..model import Executor, Progress, Verdict
from ..scenarios import Scenario
from ..stats.verdict import Policy
from ..store.versioned import SampleLog
from .comparing import CompareRun, compare, counting_mode
from .options import CompareOptions, OutputPaths, StoreOptions, executor_for


@dataclass(frozen=True)
class ReleaseOptions:
    root: Path
    baseline: str
    head: str
    scenarios: tuple[Scenario, ...]
    store: StoreOptions
    out_dir: Path
    policy: Policy = field(default_factory=Policy)
    step_size: StepSize = field(default_factory=StepSize)
    fake: Path | None = None


@dataclass(frozen=True)
class SuiteRun:
    compare: CompareRun
    bisects: tuple[dict[str, Any], ...]


def run_suite(
    opts: ReleaseOptions, *, progress: Progress | None = None, executor: Executor | None = None
) -> SuiteRun:
    """Compare the two ends (every output in ``out_dir``), then bisect each regression."""
    executor = executor or executor_for(opts.fake)
    run = compare(
        CompareOptions(
            root=opts.root,
            base=ArmSpec(opts.baseline),
            head=ArmSpec(opts.head),
            scenarios=opts.scenarios,
            store=opts.store,
            policy=opts.policy,
            outputs=OutputPaths(out_dir=opts.out_dir),
            kind="release",
            fake=opts.fake,
        ),
        progress=progress,
        executor=executor,
    )
    regressed = [o for o in run.session.comparison.outcomes if o.verdict is Verdict.REGRESSION]
    return SuiteRun(run, tuple(_bisect(opts, regressed, executor, progress)) if regressed else ())


def _bisect(
    opts: ReleaseOptions,
    regressed: Sequence[ScenarioOutcome],
    executor: Executor,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    commits = git.first_parent_range(opts.baseline, opts.head, cwd=opts.root)
    subjects = {c: git.subject(c, cwd=opts.root) for c in commits}
    by_name = {s.name: s for s in opts.scenarios}
    out: list[dict[str, Any]] = []
    log_path = opts.out_dir / "bisect-samples.jsonl"
    with (
        Workspace(progress=progress) as ws,
        SampleLog(log_path, {"command": "release-bisect"}) as log,
    ):
        counting = resolve_counting(
            counting_mode(None),
            tuple(by_name[o.name] for o in regressed),
            executor=executor,
            workdir=ws.dir("counts"),
        ).counting
        for outcome in regressed:
            if progress:
                progress(f"{outcome.name}: bisecting {len(commits) - 1} commits")
            try:
                out.append(
                    run_bisect(
                        commits,
                        repo=opts.root,
                        scenario=by_name[outcome.name],
                        command=None,
                        executor=executor,
                        workspace=ws,
                        size=opts.step_size,
                        bad_end=outcome,
                        subjects=subjects,
                        log=log,
                        recorder=opts.store.recorder(),
                        progress=progress,
                        counting=counting,
                    )
                )
            except BisectError as exc:
                out.append(bisect_doc.error_json(outcome.name, str(exc)))
    return out
