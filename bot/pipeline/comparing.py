"""The one compare pipeline: run a comparison and write every output it has.

``ttfb compare``, the PR bench job (``ttfb gh run``), the release suite and ``ttfb demo`` all
call ``compare``; none of them runs the engine or writes a results file itself, so they cannot
drift apart (the release path once counted no instructions and attributed no imports while the
PR path did both). In order:

1. a ``Workspace`` for the run (worktrees, prepared arms, shrunk configs, counter outputs);
2. the instruction counter, from ``--instructions``, else ``$TTFB_LAB_INSTRUCTIONS``, else each
   scenario's own setting (``bot.ab.counting.resolve_counting``);
3. the session (``bot.ab.session``): arms, targets, the engine's ``compare``, attribution of a
   finding's imports, its differential profile (``--profile``/``--no-profile``, each
   scenario's ``profile:``), and a history record of every outcome as it is decided;
4. the results document (``bot.ab.results_doc``) and its files: ``--json``, and in
   ``--out-dir`` ``results.json``, ``comment.md``, ``summary.md``, one plot per scenario, a
   differential flame graph per profiled scenario and the JSONL sample log.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ab import session
from ..ab.counting import resolve_counting
from ..ab.profiling import Profiling
from ..ab.results_doc import results_document
from ..ab.workspace import Workspace
from ..atomic import STATE_DIR
from ..errors import UsageError
from ..model import COUNTING_MODES, CountingMode, Executor, Progress, Verdict
from ..report.outputs import write_compare_outputs
from ..store.versioned import write_json
from .options import CompareOptions, OutputPaths, executor_for

COUNTING_ENV = "TTFB_LAB_INSTRUCTIONS"
"""Counting for every compare in this environment (``auto``, ``on``, ``off``), unless
``--instructions`` says otherwise; a scenario's own setting applies when neither is set."""


@dataclass(frozen=True)
class CompareRun:
    """What a compare produced: the session (typed outcomes), its results document, and the
    files written."""

    session: session.Session
    doc: dict[str, Any]
    written: tuple[Path, ...]

    def fails_gate(self) -> bool:
        """A confirmed regression or a broken scenario (``--gate``, the release gate)."""
        return any(o.verdict.fails_gate for o in self.session.comparison.outcomes)

    @property
    def verdicts(self) -> tuple[tuple[str, Verdict], ...]:
        return tuple((o.name, o.verdict) for o in self.session.comparison.outcomes)


def counting_mode(explicit: CountingMode | None) -> CountingMode | None:
    """``--instructions``, else ``$TTFB_LAB_INSTRUCTIONS``, else None (each scenario's own)."""
    if explicit is not None:
        return explicit
    value = os.environ.get(COUNTING_ENV, "").strip()
    if not value:
        return None
    for mode in COUNTING_MODES:
        if mode == value:
            return mode
    raise UsageError(f"${COUNTING_ENV}: expected auto, on or off, got {value!r}")


def sample_log_path(
    outputs: OutputPaths, kind: str, name: str, *, root: Path, several: bool = False
) -> Path:
    """``--samples``, else ``samples.jsonl`` in ``--out-dir``, else next to ``--json``, else
    a time-stamped file under the repository's ``.ttfb/samples/`` (where its history is, from
    whichever folder ttfb runs); with ``several`` logs in one run (measure of several
    scenarios), each given file name gets ``-NAME`` added."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:48] or "command"
    given = outputs.samples
    if given is None and outputs.out_dir is not None:
        given = outputs.out_dir / "samples.jsonl"
    if given is None and outputs.json is not None:
        given = outputs.json.with_suffix(".samples.jsonl")
    if given is not None:
        return given.with_name(f"{given.stem}-{safe}{given.suffix}") if several else given
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return root / STATE_DIR / "samples" / f"{kind}-{safe}-{stamp}.jsonl"


def compare(
    opts: CompareOptions, *, progress: Progress | None = None, executor: Executor | None = None
) -> CompareRun:
    """Run the comparison ``opts`` describes and write its outputs (see the module docstring).

    ``executor``: what runs the samples (default: real processes, or ``opts.fake``'s script).
    """
    executor = executor or executor_for(opts.fake)
    log_path = sample_log_path(opts.outputs, "compare", opts.name, root=opts.root)
    request = session.Request(
        opts.base,
        opts.head,
        opts.scenarios,
        name=opts.name,
        overrides=opts.overrides,
        budget_s=opts.budget_s,
        family_size=opts.family_size,
        kind=opts.kind,
        where=opts.where,
    )
    with Workspace(progress=progress) as workspace:
        counting = resolve_counting(
            counting_mode(opts.counting.mode),
            opts.scenarios,
            executor=executor,
            backend=opts.counting.backend,
            workdir=workspace.dir("counts"),
            cap_s=opts.counting.cap_s,
            jobs=opts.counting.jobs,
        )
        result = session.run(
            request,
            repo=opts.root,
            policy=opts.policy,
            executor=executor,
            threshold=opts.store.threshold(opts.threshold_pct),
            log_path=log_path,
            workspace=workspace,
            recorder=opts.store.recorder(),
            progress=progress,
            counting=counting,
            attribute=opts.attribute,
            profile=Profiling(opts.profile.wanted, opts.profile.settings, seed=opts.policy.seed),
        )
    spent = result.comparison.elapsed_s
    if progress and opts.budget_s and spent > 1.05 * opts.budget_s:
        progress(
            f"the compare took {spent:.0f} s, over its --budget-s of {opts.budget_s:.0f} s: "
            "each scenario's first look runs whole, as a verdict needs it"
        )
    doc = results_document(
        result.comparison,
        base=result.base,
        head=result.head,
        extra={"samples_log": str(log_path), **opts.extra},
    )
    return CompareRun(result, doc, write_outputs(doc, opts.outputs))


def write_outputs(doc: dict[str, Any], outputs: OutputPaths) -> tuple[Path, ...]:
    """``--json`` and the ``--out-dir`` files of one results document."""
    written: list[Path] = []
    if outputs.json is not None:
        write_json(outputs.json, doc)
        written.append(outputs.json)
    if outputs.out_dir is not None:
        written.extend(write_compare_outputs(doc, outputs.out_dir))
    return tuple(written)
