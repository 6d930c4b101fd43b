"""The command job (``issue_comment``): ``/ttfb rerun`` and ``/ttfb help`` on a pull request.

Runs trusted code only and never checks out the pull request.

- Only users with at least triage access get replies; anyone else gets a 👎 reaction and
  nothing else, so the bot cannot be made to post on a stranger's behalf.
- ``rerun`` needs write access (the role, checked through the API at the time of the job).
- It measures the head the commenter saw: with ``sha=<40 hex>`` that commit, which must still
  be the head; without it, the head must have been pushed before the comment was made (the
  pull request's own ttfb-pr run for that head started before the comment). Otherwise it is
  refused with a reply, never run on a commit pushed after the maintainer looked.
- A same-repository pull request is rerun by dispatching ttfb-pr with the pinned head. A fork's
  pull request is never dispatched (a dispatched run has the default branch's cache scope and
  secrets context): its own ``pull_request`` run is re-run instead, in the fork's sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report.fmt import md_code
from ..scenarios import load_all
from . import runs
from .api import GitHubAPI, PullInfo
from .context import PR_WORKFLOW, Context, Outputs
from .events import Command, CommandError, Event, Usage, parse_command
from .router import router


def default_ref(event: Event, env: Mapping[str, str]) -> str:
    repo = event.payload.get("repository") or {}
    return str(repo.get("default_branch") or env.get("GITHUB_REF_NAME") or "main")


def _comment_on_pull_request(event: Event) -> tuple[bool, str]:
    p = event.payload
    if event.action != "created":
        return False, f"ignored: issue_comment action {event.action!r}"
    if "pull_request" not in (p.get("issue") or {}):
        return False, "ignored: a comment on an issue, not on a pull request"
    return True, f"comment {p['comment']['id']} on #{p['issue']['number']}"


@router.register("issue_comment", mode="command", check=_comment_on_pull_request)
def command_flow(event: Event, ctx: Context) -> Outputs:
    """Handle ``/ttfb rerun|help`` on a PR comment (never runs PR code)."""
    p = event.payload
    comment = p["comment"]
    number = int(p["issue"]["number"])
    known = tuple(s.name for s in load_all(ctx.scenarios_dir)) if ctx.scenarios_dir.is_dir() else ()
    parsed = parse_command(comment.get("body") or "", known=known)
    if parsed is None:
        return Outputs({}, "ignored: no /ttfb command on the first line")
    api = ctx.api()
    user = comment["user"]["login"]
    if not api.can_triage(user):
        api.react(number, int(comment["id"]), "-1")
        return Outputs({}, f"#{number}: {user} has no triage access: reacted, no reply")
    usage = Usage(known).text()
    if isinstance(parsed, CommandError):
        api.reply(number, f"@{user}, I could not run that: {parsed.message}.\n\n{usage}")
        return Outputs({}, f"#{number}: bad command from {user}: {parsed.message}")
    if parsed.verb == "help":
        api.reply(number, usage)
        return Outputs({}, f"#{number}: help sent to {user}")
    return _rerun(parsed, number, comment, event, ctx)


def pinned_head(
    command: Command, pr: PullInfo, *, commented_at: str, api: GitHubAPI
) -> tuple[str | None, str]:
    """(the head to measure, or None; why not). See the module docstring."""
    if command.sha is not None:
        if command.sha != pr.head_sha:
            return None, (
                f"{md_code(command.sha[:10])} is not the head of #{pr.number} "
                f"({md_code(pr.head_sha[:10])})"
            )
        return pr.head_sha, ""
    own = [
        r
        for r in runs.runs(api, PR_WORKFLOW, head_sha=pr.head_sha, event="pull_request")
        if r.head_repo == pr.head_repo
    ]
    if not own:
        return None, (
            f"I cannot tell when {md_code(pr.head_sha[:10])} was pushed (no ttfb-pr run for it "
            f"yet); to measure it, comment `/ttfb rerun sha={pr.head_sha}`"
        )
    pushed = min(r.created_at for r in own)
    if pushed > commented_at:
        return None, (
            f"the head moved to {md_code(pr.head_sha[:10])} after your comment; to measure "
            f"it, comment `/ttfb rerun sha={pr.head_sha}`"
        )
    return pr.head_sha, ""


def _rerun(
    command: Command, number: int, comment: Mapping[str, Any], event: Event, ctx: Context
) -> Outputs:
    api = ctx.api()
    user = comment["user"]["login"]
    if not api.can_write(user):
        api.reply(
            number,
            f"@{user}, thanks — `/ttfb rerun` needs write permission on this "
            "repository, so nothing was run. A maintainer can rerun it.",
        )
        return Outputs({}, f"#{number}: refused rerun from {user} (no write permission)")
    pr = api.pull(number)
    head, why_not = pinned_head(command, pr, commented_at=comment["created_at"], api=api)
    if head is None or pr.state != "open":
        why_not = why_not or f"#{number} is not open"
        api.reply(number, f"@{user}, nothing was run: {why_not}.")
        return Outputs({}, f"#{number}: rerun refused: {why_not}")
    api.react(number, int(comment["id"]), "eyes")
    if pr.head_repo != api.repository:
        return _rerun_fork(command, pr, user, api)
    inputs = {
        "pr": str(number),
        "sha": head,
        "requested_by": user,
        "scenarios": " ".join(command.scenarios),
        "runs": str(command.runs) if command.runs else "",
    }
    api.dispatch(PR_WORKFLOW, ref=ctx.ref or default_ref(event, ctx.env), inputs=inputs)
    return Outputs(
        {"pr": str(number), "sha": head},
        f"#{number}: rerun by {user} dispatched on {head[:10]}",
    )


def _rerun_fork(command: Command, pr: PullInfo, user: str, api: GitHubAPI) -> Outputs:
    """Re-run the fork pull request's own ``pull_request`` run of its head."""
    own = [
        r
        for r in runs.runs(api, PR_WORKFLOW, head_sha=pr.head_sha, event="pull_request")
        if r.head_repo == pr.head_repo
    ]
    latest = own[0] if own else None
    if latest is None or latest.status != "completed":
        state = "is still going" if latest else "was not found"
        api.reply(pr.number, f"@{user}, nothing was run: the ttfb-pr run of this head {state}.")
        return Outputs({}, f"#{pr.number}: fork rerun refused: its run {state}")
    runs.rerun(api, latest.id)
    if command.scenarios or command.runs:
        api.reply(
            pr.number,
            f"@{user}, this pull request comes from a fork, so its own run was re-run as it "
            "was: `scenario=` and `runs=` only apply to same-repository pull requests.",
        )
    return Outputs(
        {"pr": str(pr.number), "sha": pr.head_sha, "run": str(latest.id)},
        f"#{pr.number}: fork pull request: re-ran its own run {latest.id} of {pr.head_sha[:10]}",
    )
