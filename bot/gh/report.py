"""The report job (``workflow_run`` of ttfb-pr): validate the artifacts as data, then upsert the
one sticky comment, set the ``ttfb/pr`` status and write the job summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import GitHubError
from ..model import Verdict
from ..report import compare as report
from ..report.fmt import fmt_pct
from ..report.plan import selection_markdown
from ..selection.plan import PLAN_VERSION
from ..store.files import read_json
from . import artifacts
from .api import STATUS_PR
from .context import PLAN_FILE, RESULTS_FILE, Context, Outputs, append_summary, run_url
from .events import Event
from .router import router


def load_artifacts(directory: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(merged results, plan) from the downloaded artifacts; each file validated as data."""
    if not directory.is_dir():
        return None, None
    docs = [artifacts.read_artifact(p) for p in sorted(directory.rglob(RESULTS_FILE))]
    plan = None
    plans = sorted(directory.rglob(PLAN_FILE))
    if plans:
        plan = read_json(plans[0], known=PLAN_VERSION, max_bytes=artifacts.MAX_ARTIFACT_BYTES)
    return (artifacts.merge_results(docs) if docs else None), plan


def status_for(doc: Mapping[str, Any] | None) -> tuple[str, str]:
    if doc is None:
        return "success", "no scenario affected by this change"
    bad = [s for s in doc["scenarios"] if Verdict(s["verdict"]).fails_gate]
    if bad:
        w = report.worst(bad)
        assert w is not None
        detail = (
            f"{w['name']} {fmt_pct(w['delta_pct'])}" if w["delta_pct"] is not None else w["name"]
        )
        return "failure", f"{len(bad)} regression/broken: {detail}"
    return "success", report.headline(doc)


def _completed(event: Event) -> tuple[bool, str]:
    run = event.payload.get("workflow_run") or {}
    if event.action == "completed":
        return True, f"workflow run {run.get('id')} completed"
    return False, f"ignored: workflow_run action {event.action!r}"


@router.register("workflow_run", mode="report", check=_completed)
def report_flow(event: Event, ctx: Context) -> Outputs:
    """Validate the artifacts, then upsert the comment, set ``ttfb/pr`` and the summary."""
    api = ctx.api()
    env = ctx.env
    run = event.payload["workflow_run"]
    doc, plan = load_artifacts(ctx.artifacts)  # before any write: bad data posts nothing
    head_sha = run["head_sha"]
    number: int | None = None
    if plan and plan.get("pr"):
        number = int(plan["pr"])
    elif run.get("pull_requests"):
        number = int(run["pull_requests"][0]["number"])
    else:
        owner = (run.get("head_repository") or {}).get("owner", {}).get("login")
        number = api.find_pull(
            head_sha=head_sha, head_owner=owner, head_branch=run.get("head_branch")
        )
    if plan and plan.get("head"):
        head_sha = plan["head"]
    url = run_url(env, run.get("id")) or run.get("html_url")
    selection_md = selection_markdown(plan)
    context = {
        "selection": selection_md,
        "summary_url": url,
        "rerun_by": (plan or {}).get("requested_by") or None,
    }
    if doc is None:
        if run.get("conclusion") not in ("success", None) and plan and plan.get("selected"):
            api.set_status(
                head_sha,
                state="error",
                context=STATUS_PR,
                description="the TTFB bench jobs failed before reporting",
                target_url=url,
            )
            return Outputs({}, f"bench jobs failed ({run.get('conclusion')}); status set")
        body = (
            f"{report.COMMENT_MARKER}\n## TTFB Lab: nothing to run\n\n"
            "No scenario is affected by this change.\n\n" + selection_md
        )
    else:
        body = report.render_comment(doc, context=context)
        append_summary(env, report.render_summary(doc, context=context))
    if number is None:
        raise GitHubError(f"no open pull request found for {head_sha[:10]}")
    _, created = api.upsert_comment(number, body, marker=report.COMMENT_MARKER)
    state, description = status_for(doc)
    api.set_status(
        head_sha, state=state, context=STATUS_PR, description=description, target_url=url
    )
    verb = "created" if created else "updated"
    return Outputs(
        {"pr": str(number), "state": state},
        f"#{number}: comment {verb}; {STATUS_PR} = {state} ({description})",
    )
