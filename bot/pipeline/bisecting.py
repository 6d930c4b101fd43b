"""``ttfb bisect``'s pipeline: every first-parent commit between good and bad, a real compare at
each step (``bot.bisect.steps``), logged as each sample ends and recorded in the history."""

from __future__ import annotations

from typing import Any

from .. import git
from ..ab.workspace import Workspace
from ..bisect import search
from ..bisect.search import BisectError as BisectError
from ..bisect.steps import run_bisect
from ..model import Executor, Progress
from ..store.versioned import SampleLog, write_json
from .comparing import sample_log_path
from .options import BisectOptions, executor_for

METHOD = search.__doc__
"""How the search works (the command's help)."""


def bisect(
    opts: BisectOptions, *, progress: Progress | None = None, executor: Executor | None = None
) -> dict[str, Any]:
    """The bisect document of ``opts``; ``BisectError`` when too many commits fail to run."""
    commits = git.first_parent_range(opts.good, opts.bad, cwd=opts.root)
    name = opts.scenario.name if opts.scenario else "command"
    if progress:
        progress(
            f"{name}: bisecting {len(commits) - 1} commits ({commits[0][:10]}..{commits[-1][:10]})"
        )
    log_path = sample_log_path(opts.outputs, "bisect", name, root=opts.root)
    meta = {"command": "bisect", "good": commits[0], "bad": commits[-1], "scenario": name}
    with Workspace(progress=progress) as ws, SampleLog(log_path, meta) as log:
        doc = run_bisect(
            commits,
            repo=opts.root,
            scenario=opts.scenario,
            command=opts.command,
            executor=executor or executor_for(opts.fake),
            workspace=ws,
            size=opts.size,
            max_skips=opts.max_skips,
            subjects={c: git.subject(c, cwd=opts.root) for c in commits},
            detect=opts.detect,
            log=log,
            recorder=opts.store.recorder(),
            progress=progress,
            where=opts.where,
        )
    if opts.outputs.json is not None:
        write_json(opts.outputs.json, doc)
    return doc
