"""What the workflows do on GitHub, event by event: select, report, command.

Each flow reads the event payload, talks to GitHub only through ``github.GitHubAPI`` and
returns a one-line account of what it did. The bench jobs in between run ``ttfb compare``
with read-only permissions and no secrets; the reporting job reads their results as data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import candidates, events, git, report, results, selection
from .errors import GitHubError, ResultsError, UsageError
from .github import STATUS_PR, GitHubAPI
from .scenarios import load_all

PR_WORKFLOW = "ttfb-pr.yml"
PLAN_FILE = "plan.json"
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class Outputs:
    """Values for ``$GITHUB_OUTPUT`` and a line for the log."""

    values: Mapping[str, str]
    message: str


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a") as f:
        for key, value in values.items():
            if "\n" in value:
                f.write(f"{key}<<TTFB_EOF\n{value}\nTTFB_EOF\n")
            else:
                f.write(f"{key}={value}\n")


def append_summary(env: Mapping[str, str], text: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def run_url(env: Mapping[str, str], run_id: Any | None = None) -> str | None:
    server, repo = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
    run_id = run_id or env.get("GITHUB_RUN_ID")
    if server and repo and run_id:
        return f"{server}/{repo}/actions/runs/{run_id}"
    return None


# --- select (pull_request, or a rerun dispatched by /ttfb) ---------------------------------------


def select_flow(
    event: events.Event,
    *,
    root: Path,
    scenarios_dir: Path,
    out_dir: Path,
    budget_cpu_s: float,
    budget_gpu_s: float,
    api: GitHubAPI | None,
    depmap_path: Path | None = None,
    runner_override: Mapping[str, Sequence[str]] | None = None,
) -> Outputs:
    """Plan the bench jobs: which scenarios, on which runners, for which base and head."""
    from . import depmap

    p = event.payload
    requested: tuple[str, ...] = ()
    requested_by = ""
    runs = ""
    if event.name == "pull_request":
        pr = p["pull_request"]
        number, base, head = int(pr["number"]), pr["base"]["sha"], pr["head"]["sha"]
        head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
        from_fork = head_repo != ((pr.get("base") or {}).get("repo") or {}).get("full_name")
    else:
        inputs = p.get("inputs") or {}
        if api is None:
            raise GitHubError("a rerun needs the GitHub API to read the pull request")
        number = int(inputs["pr"])
        info = api.pull(number)
        head = inputs.get("sha") or info.head_sha
        base = info.base_sha
        from_fork = info.head_repo != api.repository
        requested = tuple(str(inputs.get("scenarios") or "").split())
        requested_by = str(inputs.get("requested_by") or "")
        runs = str(inputs.get("runs") or "")
    merge_base = git.merge_base(base, head, cwd=root)
    scenarios = load_all(scenarios_dir)
    infos = [candidates.scenario_info(s, root=root) for s in scenarios if "pr" in s.tags]
    if requested:
        known = {s.name: s for s in scenarios}
        infos = [candidates.scenario_info(known[n], root=root) for n in requested if n in known]
    changes = [
        candidates.Change(path, status, old)
        for status, path, old in git.changed_paths(merge_base, head, cwd=root)
    ]
    dm = depmap.load(depmap_path or depmap.default_path(root))
    files = {n: (e.imported, e.opened) for n, e in dm.entries.items()}
    if requested:
        plan = selection.plan_requested(infos, requested_by=requested_by)
    else:
        plan = selection.plan(
            changes,
            infos,
            files,
            budget_cpu_s=budget_cpu_s,
            budget_gpu_s=budget_gpu_s,
            settings=selection.Settings(seed=int(head[:8], 16)),
        )
    if runner_override:
        plan = selection.with_runners(plan, runner_override)
    if from_fork:
        plan = selection.without_self_hosted(
            plan, "fork pull request: self-hosted runners never run code from forks"
        )
    doc = {
        **plan.to_json(),
        "pr": number,
        "base": merge_base,
        "head": head,
        "requested_by": requested_by,
        "runs": runs,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    results.write_json(out_dir / PLAN_FILE, doc)
    matrix = doc["matrix"]
    values = {
        "matrix": json.dumps(matrix, separators=(",", ":")),
        "count": str(len(matrix["include"])),
        "base": merge_base,
        "head": head,
        "pr": str(number),
        "runs": runs,
    }
    names = ", ".join(e["scenario"] for e in matrix["include"]) or "nothing"
    return Outputs(
        values, f"#{number}: selected {names} (base {merge_base[:10]}, head {head[:10]})"
    )


# --- report (workflow_run of ttfb-pr) -----------------------------------------------------------


def load_artifacts(directory: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(merged results, plan) from the downloaded artifacts; each file validated as data."""
    if not directory.is_dir():
        return None, None
    docs = [events.read_artifact(p) for p in sorted(directory.rglob(RESULTS_FILE))]
    plan = None
    plans = sorted(directory.rglob(PLAN_FILE))
    if plans:
        size = plans[0].stat().st_size
        if size > events.MAX_ARTIFACT_BYTES:
            raise ResultsError(f"{plans[0]}: {size} bytes is over the limit")
        plan = results.read_json(plans[0], known=selection.PLAN_VERSION)
    return (events.merge_results(docs) if docs else None), plan


def selection_markdown(plan: Mapping[str, Any] | None) -> str:
    if not plan:
        return ""
    lines = [
        "**Selection**"
        + (f" (rerun requested by @{plan['requested_by']})" if plan.get("requested_by") else "")
    ]
    for pick in plan.get("selected", []):
        lines.append(f"- ran `{pick['scenario']}`: {report.md_escape(pick['reason'])}")
    budget = [s for s in plan.get("skipped", []) if "budget" in s["reason"]]
    for s in budget:
        lines.append(f"- skipped `{s['scenario']}`: {report.md_escape(s['reason'])}")
    if plan.get("unmapped"):
        shown = ", ".join(f"`{p}`" for p in plan["unmapped"][:20])
        more = len(plan["unmapped"]) - 20
        lines.append(
            f"- changed files no scenario is known to use: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    for w in plan.get("warnings", []):
        lines.append(f"- ⚠️ {report.md_escape(w)}")
    return "\n".join(lines)


def status_for(doc: Mapping[str, Any] | None) -> tuple[str, str]:
    if doc is None:
        return "success", "no scenario affected by this change"
    bad = [s for s in doc["scenarios"] if s["verdict"] in ("regression", "broken")]
    if bad:
        w = report.worst(bad)
        assert w is not None
        detail = (
            f"{w['name']} {report.fmt_pct(w['delta_pct'])}"
            if w["delta_pct"] is not None
            else w["name"]
        )
        return "failure", f"{len(bad)} regression/broken: {detail}"
    counts = report.compare_view(doc)["headline"]
    return "success", counts


def report_flow(
    event: events.Event, *, api: GitHubAPI, artifacts: Path, env: Mapping[str, str]
) -> Outputs:
    """Validate the artifacts, then upsert the comment, set ``ttfb/pr`` and the summary."""
    run = event.payload["workflow_run"]
    doc, plan = load_artifacts(artifacts)  # before any write: bad data posts nothing
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


# --- command (issue_comment: /ttfb ...) ---------------------------------------------------------


def command_flow(
    event: events.Event,
    *,
    api: GitHubAPI,
    scenarios_dir: Path,
    ref: str,
    workflow: str = PR_WORKFLOW,
) -> Outputs:
    """Handle ``/ttfb rerun|help`` on a PR comment (never runs PR code)."""
    p = event.payload
    issue, comment = p["issue"], p["comment"]
    if "pull_request" not in issue:
        return Outputs({}, "ignored: a comment on an issue, not on a pull request")
    number = int(issue["number"])
    known = tuple(s.name for s in load_all(scenarios_dir)) if scenarios_dir.is_dir() else ()
    parsed = events.parse_command(comment.get("body") or "", known=known)
    if parsed is None:
        return Outputs({}, "ignored: no /ttfb command on the first line")
    user = comment["user"]["login"]
    usage = events.Usage(known).text()
    if isinstance(parsed, events.CommandError):
        api.reply(number, f"@{user}, I could not run that: {parsed.message}.\n\n{usage}")
        return Outputs({}, f"#{number}: bad command from {user}: {parsed.message}")
    if parsed.verb == "help":
        api.reply(number, usage)
        return Outputs({}, f"#{number}: help sent to {user}")
    if not api.can_write(user):
        api.reply(
            number,
            f"@{user}, thanks — `/ttfb rerun` needs write permission on this "
            "repository, so nothing was run. A maintainer can rerun it.",
        )
        return Outputs({}, f"#{number}: refused rerun from {user} (no write permission)")
    api.react(number, int(comment["id"]), "eyes")
    info = api.pull(number)
    inputs = {
        "pr": str(number),
        "sha": info.head_sha,
        "requested_by": user,
        "scenarios": " ".join(parsed.scenarios),
        "runs": str(parsed.runs) if parsed.runs else "",
    }
    api.dispatch(workflow, ref=ref, inputs=inputs)
    return Outputs(
        {"pr": str(number), "sha": info.head_sha},
        f"#{number}: rerun by {user} dispatched on {info.head_sha[:10]}",
    )


def default_ref(event: events.Event, env: Mapping[str, str]) -> str:
    repo = event.payload.get("repository") or {}
    return str(repo.get("default_branch") or env.get("GITHUB_REF_NAME") or "main")


def environment() -> dict[str, str]:
    return dict(os.environ)


def require(env: Mapping[str, str], key: str) -> str:
    value = env.get(key)
    if not value:
        raise UsageError(f"{key}: not set")
    return value
