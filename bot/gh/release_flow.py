"""The release suite: baseline vs head on every ``release`` scenario, bisect, notify, gate.

1. Compare the baseline (the previous release tag by default) and the release head on every
   scenario tagged ``release``, through the one compare pipeline the PR bench uses (adaptive
   pairs, confirmation, Holm, instruction counts, import attribution).
2. Bisect each confirmed regression over the first-parent commits between them.
3. Attribute each culprit: commit → its pull request (GitHub's commits → pulls API) → author;
   comment on that PR mentioning the author, or open an issue when there is none. Both carry
   a marker per scenario and commit, so a rerun never notifies twice.
4. Gate: the commit status ``ttfb/release-gate`` on the release head is a failure on any
   confirmed regression (or a broken scenario) and a success otherwise.

Every comparison, bisect step and bisect is recorded in the history.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import git
from ..atomic import write_text_atomic
from ..bisect.steps import StepSize
from ..errors import UsageError
from ..model import Executor, Progress, Verdict
from ..pipeline.release_suite import ReleaseOptions, run_suite
from ..report.release_view import culprit_marker, render_notification, render_release
from ..scenarios import load_all
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store.versioned import write_json
from .api import STATUS_RELEASE, GitHubAPI
from .context import Context, Outputs, append_summary, run_url
from .events import Event
from .router import router

RELEASE_VERSION = 1


@dataclass(frozen=True)
class ReleaseResult:
    doc: dict[str, Any]
    markdown: str
    failed: bool


def gate_state(verdicts: Sequence[tuple[str, Verdict]]) -> tuple[str, str]:
    """The release gate from each scenario's (name, verdict)."""
    bad = [(n, v) for n, v in verdicts if v.fails_gate]
    if not bad:
        return "success", f"no TTFB regression in {len(verdicts)} release scenario(s)"
    names = ", ".join(f"{n} ({v})" for n, v in bad)
    return "failure", f"TTFB gate failed: {names}"[:140]


def release_json(
    *,
    baseline: str,
    head: str,
    compare_doc: Mapping[str, Any],
    bisects: Sequence[Mapping[str, Any]],
    attribution: Sequence[Mapping[str, Any]],
    gate: Mapping[str, str],
    runners: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """``runners``: each scenario's runner labels, when the suite ran on several pools."""
    doc = {
        "version": RELEASE_VERSION,
        "kind": "ttfb-release",
        "baseline": baseline,
        "head": head,
        "gate": dict(gate),
        "scenarios": compare_doc["scenarios"],
        "policy": compare_doc["policy"],
        "bisects": list(bisects),
        "attribution": list(attribution),
    }
    if runners:
        doc["runners"] = {name: list(labels) for name, labels in runners.items()}
    return doc


def run_release(
    opts: ReleaseOptions,
    *,
    api: GitHubAPI | None,
    release: str,
    run_url: str | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> ReleaseResult:
    """The whole release flow in one process (see the module docstring): for a local run
    (``ttfb gh release --offline``); CI splits it into jobs (``bot.gh.release_jobs``)."""
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    suite = run_suite(opts, progress=progress, executor=executor)
    return finish_release(
        suite.compare.doc,
        list(suite.bisects),
        api=api,
        baseline=opts.baseline,
        head=opts.head,
        out_dir=opts.out_dir,
        url=run_url,
    )


def finish_release(
    compare_doc: Mapping[str, Any],
    bisects: Sequence[Mapping[str, Any]],
    *,
    api: GitHubAPI | None,
    baseline: str,
    head: str,
    out_dir: Path,
    url: str | None,
    runners: Mapping[str, Sequence[str]] | None = None,
) -> ReleaseResult:
    """Notify each culprit's author, set the gate from the verdicts, write release.json/.md;
    ``runners`` (scenario → runner labels) shows where each scenario ran."""
    out_dir.mkdir(parents=True, exist_ok=True)
    attribution = notify(bisects, api=api, release=head, run_url=url)
    verdicts = [(s["name"], Verdict(s["verdict"])) for s in compare_doc["scenarios"]]
    state, description = gate_state(verdicts)
    if api is not None:
        api.set_status(
            head, state=state, context=STATUS_RELEASE, description=description, target_url=url
        )
    doc = release_json(
        baseline=baseline,
        head=head,
        compare_doc=compare_doc,
        bisects=bisects,
        attribution=attribution,
        gate={"state": state, "description": description, "context": STATUS_RELEASE},
        runners=runners,
    )
    markdown = render_release(doc)
    write_json(out_dir / "release.json", doc)
    write_text_atomic(out_dir / "release.md", markdown)
    return ReleaseResult(doc, markdown, state == "failure")


def notify(
    bisects: Sequence[Mapping[str, Any]],
    *,
    api: GitHubAPI | None,
    release: str,
    run_url: str | None,
) -> list[dict[str, Any]]:
    """Tell each culprit's author, once: on its pull request, else in a new issue."""
    out: list[dict[str, Any]] = []
    for b in bisects:
        if not b.get("culprits"):
            continue
        sha = b["culprits"][0]["commit"]
        entry: dict[str, Any] = {
            "scenario": b["scenario"],
            "commit": sha,
            "author": None,
            "where": "not notified (no GitHub access)",
            "created": False,
        }
        if api is not None:
            entry.update(_notify_one(b, api=api, release=release, run_url=run_url))
        out.append(entry)
    return out


def _notify_one(
    b: Mapping[str, Any], *, api: GitHubAPI, release: str, run_url: str | None
) -> dict[str, Any]:
    culprit = b["culprits"][0]
    sha = culprit["commit"]
    pulls = api.pulls_for_commit(sha)
    author = api.pull(pulls[0]).author if pulls else api.commit_author(sha)
    body = render_notification(
        scenario=b["scenario"],
        culprit=culprit,
        author=author,
        bisect_doc=b,
        release=release,
        run_url=run_url,
    )
    marker = culprit_marker(b["scenario"], sha)
    if pulls:
        _, created = api.upsert_comment(pulls[0], body, marker=marker)
        return {"author": author, "where": f"pull request #{pulls[0]}", "created": created}
    number, created = api.open_issue_once(
        title=f"TTFB regression in {b['scenario']} from {sha[:10]}",
        body=body,
        marker=marker,
        labels=("ttfb-regression",),
    )
    return {"author": author, "where": f"issue #{number}", "created": created}


# --- the release job ----------------------------------------------------------------------------


def _push(event: Event, prefix: str = "release/") -> tuple[bool, str]:
    p = event.payload
    ref = str(p.get("ref", ""))
    if p.get("deleted"):
        return False, f"ignored: branch deletion ({ref})"
    if ref.startswith("refs/tags/"):
        return False, f"ignored: tag push ({ref})"
    branch = ref.removeprefix("refs/heads/")
    if branch.startswith(prefix):
        return True, f"push to {branch}"
    return False, f"ignored: push to {branch}, not a {prefix}** branch"


def _suite_requested(event: Event) -> tuple[bool, str]:
    if (event.payload.get("inputs") or {}).get("pr"):
        return False, "ignored: a rerun of a pull request is not a release"
    return True, "release suite requested"


def release_ends(event: Event, ctx: Context) -> tuple[str, str]:
    """(baseline, head commit): the flags, else the event, else the previous release tag."""
    s = ctx.release
    pushed = event.payload.get("after") if event.name == "push" else None
    head = git.resolve(s.head or pushed or "HEAD", cwd=ctx.root, what="--head")
    inputs = event.payload.get("inputs") or {}
    baseline = (
        s.baseline
        or inputs.get("baseline")
        or git.previous_tag(head, cwd=ctx.root, pattern=s.tag_pattern)
    )
    if not baseline:
        raise UsageError(
            f"--baseline: no tag matching {s.tag_pattern!r} before {head[:10]}; pass --baseline REV"
        )
    return git.resolve(baseline, cwd=ctx.root, what="--baseline"), head


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@router.register("push", mode="release", check=_push)
@router.register("workflow_dispatch", mode="release", check=_suite_requested)
def release_flow(event: Event, ctx: Context) -> Outputs:
    """Run the release suite for the pushed release branch (or the one asked for)."""
    s = ctx.release
    baseline, head = release_ends(event, ctx)
    scenarios = tuple(x for x in load_all(ctx.scenarios_dir) if s.tag in x.tags)
    if not scenarios:
        raise UsageError(f"release: no scenario tagged {s.tag!r} in {ctx.scenarios_dir}")
    api = None if s.offline else ctx.api()
    _progress(
        f"release suite: {len(scenarios)} scenario(s), baseline {baseline[:10]} → head {head[:10]}"
    )
    opts = ReleaseOptions(
        root=ctx.root,
        baseline=baseline,
        head=head,
        scenarios=scenarios,
        store=ctx.store,
        out_dir=ctx.out_dir,
        policy=Policy(alpha=s.alpha, looks=plan_looks(s.pairs, s.max_pairs)),
        step_size=StepSize(pairs=s.pairs, max_pairs=s.bisect_max_pairs, alpha=s.alpha),
    )
    result = run_release(
        opts,
        api=api,
        release=head,
        run_url=run_url(ctx.env),
        executor=ctx.executor,
        progress=_progress,
    )
    append_summary(ctx.env, result.markdown)
    gate = result.doc["gate"]
    lines = [gate["description"]]
    lines += [
        f"{a['scenario']}: culprit {a['commit'][:10]} → {a['where']}"
        for a in result.doc["attribution"]
    ]
    code = 1 if result.failed and s.gate else 0
    return Outputs({"gate": gate["state"]}, "\n".join(lines), code=code)
