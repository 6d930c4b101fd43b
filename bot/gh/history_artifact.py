"""Where the CI jobs get the calibrated history from: an artifact of the latest successful run
of ttfb-calibrate on the default branch (a scheduled run, or one a maintainer dispatched).

Never a cache: a pull request's code runs in the bench jobs, and a run of it (a dispatched rerun
runs in the default branch's cache scope) could save a cache entry under any key. An artifact is
tied to its run, and the run is found through the API and checked: this repository, the default
branch, a trusted event, a success. Then the export is size-limited, checked for its version
and kind, and merged into the job's own database.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..store.export import EXPORT_VERSION, load_export
from ..store.history_db import History
from ..store.versioned import read_json
from . import runs
from .context import Context, Outputs

CALIBRATE_WORKFLOW = "ttfb-calibrate.yml"
HISTORY_ARTIFACT = "ttfb-history"
EXPORT_FILE = "export.json"
TRUSTED_EVENTS = ("schedule", "workflow_dispatch")
MAX_HISTORY_BYTES = 200 * 1024 * 1024


def fetch_history(ctx: Context) -> Outputs:
    """Merge the latest trusted calibration history into the history database (``--db``)."""
    api = ctx.api()
    default_branch = api.default_branch
    run = runs.latest_trusted_run(
        api, CALIBRATE_WORKFLOW, branch=default_branch, events=TRUSTED_EVENTS
    )
    if run is None:
        return Outputs(
            {"run": ""},
            f"no successful {CALIBRATE_WORKFLOW} run on {default_branch} yet: "
            "thresholds are the scenarios' floors",
        )
    with tempfile.TemporaryDirectory(prefix="ttfb-history-") as tmp:
        (folder,) = runs.download(
            api,
            run.id,
            Path(tmp),
            pattern=HISTORY_ARTIFACT,
            max_count=1,
            max_bytes=MAX_HISTORY_BYTES,
        ) or (None,)
        if folder is None:
            return Outputs({"run": str(run.id)}, f"run {run.id} left no {HISTORY_ARTIFACT}")
        source = folder / EXPORT_FILE
        doc = read_json(source, known=EXPORT_VERSION, max_bytes=MAX_HISTORY_BYTES)
        with History(ctx.store.db_path) as h:
            added = load_export(h, doc, source=f"{HISTORY_ARTIFACT} of run {run.id}")
    return Outputs(
        {"run": str(run.id)},
        f"history from {CALIBRATE_WORKFLOW} run {run.id} ({run.head_sha[:10]}): "
        f"{added} run(s) merged into {ctx.store.db_path}",
    )
