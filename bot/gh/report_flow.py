"""The report job (``workflow_run`` of ttfb-pr): whose run it was, what it measured, and the
one sticky comment, the ``ttfb/pr`` status and the job summary.

Everything in the artifacts is untrusted: a pull request's code ran in the bench jobs of the
run, and a fork can even edit ``ttfb-pr.yml`` in its own branch. So:

- **Identity comes from the event and the API.** A ``pull_request`` run reports on the open
  pull request whose head is the run's ``head_sha`` in the run's ``head_repository``; the
  status goes on that ``head_sha`` only. A ``workflow_dispatch`` run (a ``/ttfb rerun`` of a
  same-repository pull request) must be a run of the default branch of this repository, and
  its plan's pull request must be open, from this repository, and still at the head the plan
  names; the run's name (``display_title``, set by the trusted workflow from the dispatch's
  inputs) must name that pull request and head. The artifacts' own ``pr``/``head`` are claims:
  when they disagree, nothing is posted.
- **A fork's verdict is advisory.** It goes under its own context, ``ttfb/pr (fork, advisory)``,
  never under ``ttfb/pr``, so a required ``ttfb/pr`` cannot be turned green by a fork's jobs.
- **Fail closed.** Anything short of "the run succeeded and every planned scenario left a valid
  result" sets ``ttfb/pr`` to ``error`` (the check could not judge) or ``failure`` (a regression
  or a broken scenario), with a description that says which.
- **Artifacts are data**: only ``ttfb-*`` ones, counted and size-checked before download,
  unpacked within limits, and every file schema-checked before anything is posted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GitHubError, ResultsError
from ..report import compare_view as report
from ..report.fmt import fmt_pct
from ..report.outputs import write_flame_graphs
from ..report.plan_view import selection_markdown
from ..results import Results
from ..scenarios import load_all
from . import artifacts, runs
from .api import STATUS_PR, STATUS_PR_FORK, GitHubAPI, rerun_title
from .context import PLAN_FILE, RESULTS_FILE, Context, Outputs, append_summary, run_url
from .counts_join import join_counts, load_counts
from .events import Event
from .router import router

FLAME_DIR = "flame-graphs"  # under the out dir; the report workflow uploads it


@dataclass(frozen=True)
class Identity:
    """The pull request a run measured, as the event and the API say."""

    number: int
    head_sha: str  # where ttfb/pr goes
    fork: bool
    dispatched: bool


def load_artifacts(directory: Path) -> tuple[Results | None, dict[str, Any] | None]:
    """(merged results, plan) from downloaded artifacts, the counting jobs' counts joined in;
    every file validated as data."""
    if not directory.is_dir():
        return None, None
    docs = [artifacts.read_results(p) for p in sorted(directory.rglob(RESULTS_FILE))]
    plans = sorted(directory.rglob(PLAN_FILE))
    if len(plans) > 1:
        raise ResultsError(f"{directory}: {len(plans)} plans; a run has one select job")
    plan = artifacts.read_artifact(plans[0], schema="plan") if plans else None
    merged = artifacts.merge_results(docs) if docs else None
    counts = load_counts(directory)
    if counts and merged is None:
        raise ResultsError(f"{directory}: counts without timed results")
    return (join_counts(merged, counts) if merged and counts else merged), plan


def check_known(doc: Results | None, plan: Mapping[str, Any] | None, scenarios_dir: Path) -> None:
    """Every scenario the artifacts name is one of the trusted checkout's: a job that ran the
    pull request's code cannot add scenarios of its own to the report."""
    known = {s.name for s in load_all(scenarios_dir)} if scenarios_dir.is_dir() else set()
    named = {s.name for s in doc.scenarios} if doc is not None else set()
    for entry in (plan or {}).get("selected", ()):
        named.add(str(entry.get("scenario")))
    unknown = sorted(named - known)
    if unknown:
        raise ResultsError(f"artifacts: scenario {unknown[0]!r} is not in {scenarios_dir}")


def identify(
    run: Mapping[str, Any], *, api: GitHubAPI, default_branch: str, plan: Mapping[str, Any] | None
) -> Identity:
    """The pull request of this run (see the module docstring); a mismatch is an error."""
    head_sha = str(run.get("head_sha") or "")
    head_repo = (run.get("head_repository") or {}).get("full_name")
    event = run.get("event")
    if event == "pull_request":
        pr = api.open_pull_for_head(
            head_sha=head_sha, head_repo=head_repo, head_branch=run.get("head_branch")
        )
        if pr is None:
            raise GitHubError(f"no open pull request has head {head_sha[:10]} in {head_repo}")
        if plan and (plan.get("pr") != pr.number or plan.get("head") != head_sha):
            raise ResultsError(
                f"the artifacts claim #{plan.get('pr')} at {str(plan.get('head'))[:10]}, but "
                f"run {run.get('id')} is #{pr.number} at {head_sha[:10]}; nothing posted"
            )
        return Identity(pr.number, head_sha, head_repo != api.repository, False)
    if event == "workflow_dispatch":
        if head_repo != api.repository or run.get("head_branch") != default_branch:
            raise GitHubError(
                f"run {run.get('id')}: a dispatched run of {head_repo}:{run.get('head_branch')}, "
                f"not of {api.repository}:{default_branch}; nothing posted"
            )
        if not plan:
            raise ResultsError(f"run {run.get('id')}: a dispatched run left no plan")
        title = rerun_title(plan.get("pr", ""), str(plan.get("head", "")))
        if run.get("display_title") != title:
            raise ResultsError(
                f"run {run.get('id')} is named {str(run.get('display_title'))[:80]!r}, but its "
                f"artifacts claim {title!r}; nothing posted"
            )
        pr = api.pull(int(plan["pr"]))
        if pr.state != "open" or pr.head_repo != api.repository:
            raise GitHubError(f"#{pr.number} is not an open same-repository pull request")
        if pr.head_sha != plan["head"]:
            raise GitHubError(
                f"#{pr.number} moved on to {pr.head_sha[:10]} since the rerun of "
                f"{str(plan['head'])[:10]}; its own run reports on it"
            )
        return Identity(pr.number, pr.head_sha, False, True)
    raise GitHubError(f"run {run.get('id')}: event {event!r} is not one ttfb-pr reports on")


def check_claims(doc: Results | None, plan: Mapping[str, Any]) -> list[str]:
    """What is wrong with the results against the plan: missing or unplanned scenarios,
    revisions other than the plan's. Empty when everything planned has a result."""
    planned = {p["scenario"] for p in plan.get("selected", [])}
    got = {s.name for s in doc.scenarios} if doc is not None else set()
    problems = []
    if planned - got:
        problems.append(f"no result for {', '.join(sorted(planned - got))}")
    if got - planned:
        problems.append(f"results for unplanned {', '.join(sorted(got - planned))}")
    if doc is not None:
        for arm, measured in (("base", doc.base), ("head", doc.head)):
            claimed = measured.revision
            if claimed != plan.get(arm):
                problems.append(f"the results measured {arm} {str(claimed)[:10]}, not the plan's")
    return problems


def status_for(doc: Results | None, problems: Sequence[str], *, advisory: bool) -> tuple[str, str]:
    """``ttfb/pr``: error when the run could not judge, failure on a regression or a broken
    scenario, success otherwise; fork results are marked advisory."""
    suffix = " (advisory: the fork's code measured itself)" if advisory else ""
    if problems:
        return "error", ("; ".join(problems))[:120]
    if doc is None:
        return "success", "no scenario affected by this change" + suffix
    bad = [s for s in doc.scenarios if s.verdict.fails_gate]
    if bad:
        w = report.worst(bad)
        assert w is not None
        detail = f"{w.name} {fmt_pct(w.delta_pct)}" if w.delta_pct is not None else w.name
        return "failure", f"{len(bad)} regression/broken: {detail}"
    return "success", report.headline(doc) + suffix


def _problems(run: Mapping[str, Any], doc: Results | None, plan: Any) -> list[str]:
    conclusion = run.get("conclusion")
    if conclusion == "action_required":
        return ["the run waits for a maintainer's approval (action_required): no verdict yet"]
    if conclusion != "success":
        return [f"the bench run ended {conclusion}: no verdict"]
    if plan is None:
        return ["the select job left no plan: no verdict"]
    return check_claims(doc, plan)


def _body(
    doc: Results | None, plan: Any, problems: Sequence[str], context: Mapping[str, Any]
) -> str:
    warning = f"⚠️ **No verdict**: {report.md_text('; '.join(problems))}.\n\n" if problems else ""
    if doc is None:
        return (
            f"{report.COMMENT_MARKER}\n## TTFB Lab: nothing to run\n\n{warning}"
            "No scenario is affected by this change.\n\n" + context["selection"]
        )
    return report.render_comment(doc, context={**context, "problem": warning.strip()})


def _completed(event: Event) -> tuple[bool, str]:
    run = event.payload.get("workflow_run") or {}
    if event.action == "completed":
        return True, f"workflow run {run.get('id')} completed"
    return False, f"ignored: workflow_run action {event.action!r}"


@router.register("workflow_run", mode="report", check=_completed)
def report_flow(event: Event, ctx: Context) -> Outputs:
    """Identify the pull request, validate the artifacts, then comment, status and summary."""
    api = ctx.api()
    run = event.payload["workflow_run"]
    default_branch = (event.payload.get("repository") or {}).get("default_branch") or "main"
    with tempfile.TemporaryDirectory(prefix="ttfb-artifacts-") as tmp:
        folder = ctx.artifacts
        if folder is None:
            folder = Path(tmp)
            runs.download(api, int(run["id"]), folder)
        doc, plan = load_artifacts(folder)  # before any write: bad data posts nothing
    check_known(doc, plan, ctx.scenarios_dir)
    who = identify(run, api=api, default_branch=default_branch, plan=plan)
    problems = _problems(run, doc, plan)
    url = run_url(ctx.env, run.get("id")) or run.get("html_url")
    context = {
        "selection": selection_markdown(plan),
        "summary_url": url,
        "rerun_by": (plan or {}).get("requested_by") or None,
    }
    # Flame graphs drawn here, from the validated call trees: the report run publishes pages
    # it rendered itself (artifact ttfb-flame-graphs), never an HTML file the measured run wrote.
    if doc is not None and write_flame_graphs(doc, ctx.out_dir / FLAME_DIR):
        here = run_url(ctx.env)
        context["artifacts_url"] = f"{here}#artifacts" if here else None
    body = _body(doc, plan, problems, context)
    if doc is not None:
        append_summary(ctx.env, report.render_summary(doc, context=context))
    _, created = api.upsert_comment(who.number, body, marker=report.COMMENT_MARKER)
    state, description = status_for(doc, problems, advisory=who.fork)
    status = STATUS_PR_FORK if who.fork else STATUS_PR
    api.set_status(
        who.head_sha, state=state, context=status, description=description, target_url=url
    )
    verb = "created" if created else "updated"
    return Outputs(
        {"pr": str(who.number), "state": state},
        f"#{who.number}: comment {verb}; {status} = {state} ({description})",
    )
