"""The command job (``issue_comment``): ``/ttfb rerun`` and ``/ttfb help`` on a pull request.

Runs trusted code only and never checks out the pull request. ``rerun`` checks the commenter's
permission through the API (write or higher), pins the head commit and dispatches ttfb-pr.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..scenarios import load_all
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
    usage = Usage(known).text()
    if isinstance(parsed, CommandError):
        api.reply(number, f"@{user}, I could not run that: {parsed.message}.\n\n{usage}")
        return Outputs({}, f"#{number}: bad command from {user}: {parsed.message}")
    if parsed.verb == "help":
        api.reply(number, usage)
        return Outputs({}, f"#{number}: help sent to {user}")
    return _rerun(parsed, number, user, int(comment["id"]), event, ctx)


def _rerun(
    command: Command, number: int, user: str, comment_id: int, event: Event, ctx: Context
) -> Outputs:
    api = ctx.api()
    if not api.can_write(user):
        api.reply(
            number,
            f"@{user}, thanks — `/ttfb rerun` needs write permission on this "
            "repository, so nothing was run. A maintainer can rerun it.",
        )
        return Outputs({}, f"#{number}: refused rerun from {user} (no write permission)")
    api.react(number, comment_id, "eyes")
    info = api.pull(number)
    inputs = {
        "pr": str(number),
        "sha": info.head_sha,
        "requested_by": user,
        "scenarios": " ".join(command.scenarios),
        "runs": str(command.runs) if command.runs else "",
    }
    api.dispatch(PR_WORKFLOW, ref=ctx.ref or default_ref(event, ctx.env), inputs=inputs)
    return Outputs(
        {"pr": str(number), "sha": info.head_sha},
        f"#{number}: rerun by {user} dispatched on {info.head_sha[:10]}",
    )
