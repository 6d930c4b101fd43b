"""The select job (``pull_request``, or a rerun dispatched by ``/ttfb``): which scenarios run,
on which runners, for which base and head. Selection ranks with the dependency map and the
per-file history the calibrate and compare runs stored, exactly as ``ttfb select`` does.

The matrix comes in two parts: GitHub-hosted runners (``matrix``) and everything else
(``self_hosted_matrix``), which the workflow runs only for same-repository pull requests. A
fork's plan never holds a self-hosted label, whatever its letter case."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .. import git
from ..errors import GitHubError
from ..pipeline.selecting import SelectOptions, select
from ..scenarios import load_all
from ..selection import candidates
from ..selection import plan as selection
from ..store.versioned import write_json
from .context import PLAN_FILE, Context, Outputs
from .events import PR_ACTIONS, Event
from .router import router


@dataclass(frozen=True)
class Revisions:
    """The pull request a select job plans for, from the event (and the API for reruns)."""

    number: int
    base: str
    head: str
    from_fork: bool
    requested: tuple[str, ...] = ()
    requested_by: str = ""
    runs: str = ""


def _revisions(event: Event, ctx: Context) -> Revisions:
    p = event.payload
    if event.name == "pull_request":
        pr = p["pull_request"]
        head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
        base_repo = ((pr.get("base") or {}).get("repo") or {}).get("full_name")
        return Revisions(
            int(pr["number"]), pr["base"]["sha"], pr["head"]["sha"], head_repo != base_repo
        )
    inputs = p.get("inputs") or {}
    api = ctx.api()
    number = int(inputs["pr"])
    info = api.pull(number)
    if info.head_repo != api.repository:
        raise GitHubError(
            f"#{number} comes from a fork: it is never rerun by dispatch (a dispatched run has "
            "the default branch's context); /ttfb rerun re-runs its own run instead"
        )
    return Revisions(
        number,
        info.base_sha,
        inputs.get("sha") or info.head_sha,
        info.head_repo != api.repository,
        tuple(str(inputs.get("scenarios") or "").split()),
        str(inputs.get("requested_by") or ""),
        str(inputs.get("runs") or ""),
    )


def _plan(rev: Revisions, merge_base: str, ctx: Context) -> selection.Plan:
    scenarios = load_all(ctx.scenarios_dir)
    return select(
        SelectOptions(
            root=ctx.root,
            base=merge_base,
            head=rev.head,
            scenarios=tuple(s for s in scenarios if rev.requested or "pr" in s.tags),
            depmap=ctx.store.depmap,
            budget_cpu_s=ctx.budget_cpu_s,
            budget_gpu_s=ctx.budget_gpu_s,
            counting=ctx.instructions,
            requested=rev.requested,
            requested_by=rev.requested_by,
        )
    )


def _pull_request(event: Event) -> tuple[bool, str]:
    number = event.payload.get("pull_request", {}).get("number")
    if event.action in PR_ACTIONS:
        return True, f"pull request #{number} {event.action}"
    return False, f"ignored: pull_request action {event.action!r} needs no check"


def _rerun(event: Event) -> tuple[bool, str]:
    inputs = event.payload.get("inputs") or {}
    if inputs.get("pr"):
        return True, f"rerun of #{inputs['pr']} requested"
    return False, "ignored: a dispatch without a pull request is not a rerun"


@router.register("pull_request", mode="select", check=_pull_request)
@router.register("workflow_dispatch", mode="select", check=_rerun)
def select_flow(event: Event, ctx: Context) -> Outputs:
    """Plan the bench jobs: which scenarios, on which runners, for which base and head."""
    rev = _revisions(event, ctx)
    merge_base = git.merge_base(rev.base, rev.head, cwd=ctx.root)
    plan = _plan(rev, merge_base, ctx)
    if ctx.runners:
        plan = selection.with_runners(plan, ctx.runners)
    if rev.from_fork:
        plan = selection.without_self_hosted(
            plan, "fork pull request: self-hosted runners never run code from forks"
        )
    doc = {
        **plan.to_json(),
        "pr": rev.number,
        "base": merge_base,
        "head": rev.head,
        "requested_by": rev.requested_by,
        "runs": rev.runs,
    }
    write_json(ctx.out_dir / PLAN_FILE, doc)
    matrix = doc["matrix"]
    hosted = [e for e in matrix["include"] if not candidates.is_self_hosted(e["runs-on"])]
    own = [e for e in matrix["include"] if candidates.is_self_hosted(e["runs-on"])]
    values = {
        "matrix": json.dumps({"include": hosted}, separators=(",", ":")),
        "count": str(len(hosted)),
        "self_hosted_matrix": json.dumps({"include": own}, separators=(",", ":")),
        "self_hosted_count": str(len(own)),
        "base": merge_base,
        "head": rev.head,
        "pr": str(rev.number),
        "runs": rev.runs,
    }
    names = ", ".join(e["scenario"] for e in matrix["include"]) or "nothing"
    return Outputs(
        values, f"#{rev.number}: selected {names} (base {merge_base[:10]}, head {rev.head[:10]})"
    )
