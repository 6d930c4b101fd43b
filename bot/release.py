"""The release suite: baseline vs head on every ``release`` scenario, bisect, notify, gate.

1. Compare the baseline (the previous release tag by default) and the release head on every
   scenario tagged ``release``, with the PR engine (adaptive pairs, confirmation, Holm).
2. Bisect each confirmed regression over the first-parent commits between them.
3. Attribute each culprit: commit → its pull request (GitHub's commits → pulls API) → author;
   comment on that PR mentioning the author, or open an issue when there is none. Both carry
   a marker per scenario and commit, so a rerun never notifies twice.
4. Gate: the commit status ``ttfb/release-gate`` on the release head is a failure on any
   confirmed regression (or a broken scenario) and a success otherwise.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import arms, bisect, bisectrun, compare, git, measure, releasereport
from .github import STATUS_RELEASE, GitHubAPI
from .results import SampleLog
from .runner import plan_looks
from .sample import Executor
from .scenarios import Scenario
from .verdict import Policy

GATE_FAILS_ON = ("regression", "broken")


@dataclass(frozen=True)
class ReleaseResult:
    doc: dict[str, Any]
    markdown: str
    failed: bool


def bad_end(scenario_doc: dict[str, Any]) -> bisect.StepResult:
    """The suite's baseline→head result as the bisect's known bad end."""
    finding = scenario_doc.get("finding") or {}
    return bisect.StepResult(
        scenario_doc["verdict"],
        delta_pct=finding.get("effect_pct", scenario_doc.get("delta_pct")),
        ci_low_pct=scenario_doc.get("ci_low_pct"),
        ci_high_pct=scenario_doc.get("ci_high_pct"),
        p=scenario_doc.get("p_ttest"),
        pairs=scenario_doc.get("pairs", 0),
    )


def gate_state(scenarios: Sequence[dict[str, Any]]) -> tuple[str, str]:
    bad = [s for s in scenarios if s["verdict"] in GATE_FAILS_ON]
    if not bad:
        counts = len(scenarios)
        return "success", f"no TTFB regression in {counts} release scenario(s)"
    names = ", ".join(f"{s['name']} ({s['verdict']})" for s in bad)
    return "failure", f"TTFB gate failed: {names}"[:140]


def run_release(
    *,
    root: Path,
    baseline: str,
    head: str,
    scenarios: Sequence[Scenario],
    executor: Executor,
    api: GitHubAPI | None,
    policy: Policy,
    bisect_plan: bisectrun.Plan,
    out_dir: Path,
    run_url: str | None = None,
    progress: Callable[[str], None] | None = None,
    threshold: Callable[[Scenario], tuple[float, str]] | None = None,
) -> ReleaseResult:
    """The whole release flow (see the module docstring); writes release.json/.md to out_dir."""
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    head_sha = git.resolve(head, cwd=root, what="--head")
    base_sha = git.resolve(baseline, cwd=root, what="--baseline")
    with SampleLog(
        out_dir / "samples.jsonl", {"command": "release", "baseline": base_sha, "head": head_sha}
    ) as log:
        with (
            arms.prepare(arms.ArmSpec(base_sha), arms.ArmSpec(head_sha), repo=root) as (
                base,
                head_arm,
            ),
            tempfile.TemporaryDirectory(prefix="ttfb-release-") as workdir,
        ):
            targets = []
            for s in scenarios:
                floor, note = threshold(s) if threshold else (s.floor_pct, "floor")
                skip = measure.gpu_skip_reason(s)
                if skip:
                    targets.append(compare.Target(s.name, None, None, floor, skipped=skip))
                    continue
                jobs = [
                    arms.job_for(a, s, timeout_s=None, workdir=Path(workdir))
                    for a in (base, head_arm)
                ]
                targets.append(
                    compare.Target(s.name, jobs[0], jobs[1], floor, note, description=s.description)
                )
            outcomes = compare.run_compare(
                targets, policy=policy, executor=executor, log=log, progress=progress
            )
            compare_doc = compare.results_document(
                outcomes,
                base=base,
                head=head_arm,
                policy=policy,
                elapsed_s=time.monotonic() - started,
            )
        commits = git.first_parent_range(base_sha, head_sha, cwd=root)
        subjects = {c: git.subject(c, cwd=root) for c in commits}
        by_name = {s.name: s for s in scenarios}
        bisects: list[dict[str, Any]] = []
        for s_doc in compare_doc["scenarios"]:
            if s_doc["verdict"] != "regression":
                continue
            if progress:
                progress(f"{s_doc['name']}: bisecting {len(commits) - 1} commits")
            with bisectrun.RevisionComparer(
                root,
                scenario=by_name[s_doc["name"]],
                command=None,
                executor=executor,
                plan=bisect_plan,
                log=log,
                progress=progress,
            ) as comparer:
                try:
                    result = bisect.bisect(
                        commits,
                        comparer,
                        bad_result=bad_end(s_doc),
                        threshold_pct=s_doc["threshold_pct"],
                    )
                except bisect.BisectError as exc:
                    bisects.append(
                        {
                            "scenario": s_doc["name"],
                            "error": str(exc),
                            "culprits": [],
                            "steps": [],
                            "notes": [str(exc)],
                            "drawing": "",
                            "comparisons": 0,
                            "ambiguous": [],
                        }
                    )
                    continue
            bisects.append(
                releasereport.bisect_json(
                    commits, result, scenario=s_doc["name"], subjects=subjects
                )
            )
    attribution = notify(bisects, api=api, release=head, run_url=run_url)
    state, description = gate_state(compare_doc["scenarios"])
    if api is not None:
        api.set_status(
            head_sha,
            state=state,
            context=STATUS_RELEASE,
            description=description,
            target_url=run_url,
        )
    doc = releasereport.release_json(
        baseline=base_sha,
        head=head_sha,
        compare_doc=compare_doc,
        bisects=bisects,
        attribution=attribution,
        gate={"state": state, "description": description, "context": STATUS_RELEASE},
    )
    markdown = releasereport.render_release(doc)
    from .results import write_json

    write_json(out_dir / "release.json", doc)
    (out_dir / "release.md").write_text(markdown)
    return ReleaseResult(doc, markdown, state == "failure")


def notify(
    bisects: Sequence[dict[str, Any]], *, api: GitHubAPI | None, release: str, run_url: str | None
) -> list[dict[str, Any]]:
    """Tell each culprit's author, once: on its pull request, else in a new issue."""
    out: list[dict[str, Any]] = []
    for b in bisects:
        if not b.get("culprits"):
            continue
        culprit = b["culprits"][0]
        sha = culprit["commit"]
        entry: dict[str, Any] = {
            "scenario": b["scenario"],
            "commit": sha,
            "author": None,
            "where": "not notified (no GitHub access)",
            "created": False,
        }
        if api is not None:
            pulls = api.pulls_for_commit(sha)
            author = api.pull(pulls[0]).author if pulls else api.commit_author(sha)
            body = releasereport.render_notification(
                scenario=b["scenario"],
                culprit=culprit,
                author=author,
                bisect_doc=b,
                release=release,
                run_url=run_url,
            )
            marker = releasereport.culprit_marker(b["scenario"], sha)
            if pulls:
                _, created = api.upsert_comment(pulls[0], body, marker=marker)
                where = f"pull request #{pulls[0]}"
            else:
                number, created = api.open_issue_once(
                    title=f"TTFB regression in {b['scenario']} from {sha[:10]}",
                    body=body,
                    marker=marker,
                    labels=("ttfb-regression",),
                )
                where = f"issue #{number}"
            entry.update(author=author, where=where, created=created)
        out.append(entry)
    return out


def release_policy(*, alpha: float, pairs: int, max_pairs: int) -> Policy:
    return Policy(alpha=alpha, looks=plan_looks(pairs, max_pairs))
