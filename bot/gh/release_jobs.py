"""The release suite as three jobs: plan, measure (one per runner pool), gate.

Measured code on a release branch is every merged pull request and every dependency it
installs: untrusted, wherever it runs. So the job that runs it holds nothing worth stealing,
and the job that holds write permissions runs none of it:

1. **plan** (``ttfb gh release-plan``): the two ends (the pushed commit, the previous release
   tag) and a matrix of runner pools: the scenarios tagged ``release`` grouped by the runner
   labels they need (hosted CPU, ``[self-hosted, gpu]``…).
2. **measure** (``ttfb gh release-measure``, ``contents: read`` and nothing else: no token, no
   history): one pool's scenarios compared and each regression bisected, through the one
   compare pipeline; it uploads its raw sample log, results and bisect documents.
3. **gate** (``ttfb gh release-gate``, the only job with write permissions; it runs no
   measured code and installs nothing from the measured revision): it reads those artifacts
   as untrusted data, **recomputes every verdict from the raw samples** (``bot.ab.rejudge``)
   with its own policy and the calibrated thresholds, joins the pools (one that uploaded
   nothing is ``broken``, never skipped), acts only on culprits among the commits between the
   ends, notifies their authors, sets the gate, records the history and writes the report.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import git
from ..ab.arms import Arm
from ..ab.engine import Comparison, ScenarioOutcome, policy_for
from ..ab.record import Recording
from ..ab.rejudge import Logged, outcomes, pairs_from_log
from ..ab.results_doc import results_document
from ..bisect.steps import StepSize
from ..errors import ResultsError, UsageError
from ..model import Verdict
from ..pipeline.options import StoreOptions
from ..pipeline.release_suite import ReleaseOptions, run_suite
from ..scenarios import DEFAULT_FLOOR_PCT, Scenario, load_all
from ..stats.instructions import Work
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy, decide
from ..store.versioned import load_json, read_records, write_json
from . import artifacts, runs
from .context import Context, Outputs, run_url
from .events import Event
from .release_flow import finish_release, release_ends


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


POOL_ARTIFACT = "ttfb-release-"  # + the pool's name


@dataclass(frozen=True)
class Pool:
    """Scenarios that run on the same runner labels."""

    name: str
    runs_on: tuple[str, ...]
    scenarios: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.name,
            "runs-on": list(self.runs_on),
            "scenarios": " ".join(self.scenarios),
        }


def pools(scenarios: Sequence[Scenario]) -> list[Pool]:
    """The release scenarios grouped by the runner labels they need, in a stable order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for s in scenarios:
        groups.setdefault(tuple(s.resources.runner), []).append(s.name)
    out = []
    for labels, names in sorted(groups.items()):
        name = re.sub(r"[^a-z0-9-]+", "-", "-".join(labels).lower()).strip("-") or "default"
        out.append(Pool(name, labels, tuple(sorted(names))))
    return out


def read_pools(matrix: str) -> list[Pool]:
    """The plan job's matrix, as the gate job is given it."""
    try:
        data = json.loads(matrix)
        return [
            Pool(str(e["pool"]), tuple(map(str, e["runs-on"])), tuple(e["scenarios"].split()))
            for e in data["include"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError("--matrix: not the release plan's matrix") from None


@dataclass(frozen=True)
class Measured:
    """What the measure jobs uploaded, read as data: per scenario the logged pairs and raw
    counts, every bisect document, and the scenarios of pools that uploaded nothing."""

    logged: Mapping[str, Logged]
    work: Mapping[str, Work | None]
    bisects: tuple[dict[str, Any], ...]
    missing: Mapping[str, str]


def read_measured(folder: Path, plan: Sequence[Pool]) -> Measured:
    """Each pool's artifact, ``<folder>/ttfb-release-<pool>/``; only what the plan gave a pool
    counts from its files."""
    logged: dict[str, Logged] = {}
    work: dict[str, Work | None] = {}
    bisects: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    for pool in plan:
        where = folder / f"{POOL_ARTIFACT}{pool.name}"
        if not (where / "samples.jsonl").is_file():
            why = f"runner pool {pool.name} ({', '.join(pool.runs_on)}) uploaded no samples"
            missing.update(dict.fromkeys(pool.scenarios, why))
            continue
        found = pairs_from_log(read_records(where / "samples.jsonl"))
        logged.update({n: found[n] for n in pool.scenarios if n in found})
        if (where / "results.json").is_file():
            for s in artifacts.read_results(where / "results.json").scenarios:
                if s.name in pool.scenarios and s.instructions is not None:
                    work[s.name] = _work(s.instructions)
        if (where / "bisects.json").is_file():
            data = load_json(where / "bisects.json", max_bytes=artifacts.MAX_ARTIFACT_BYTES)
            docs = data.get("bisects") if isinstance(data, dict) else None
            if not isinstance(docs, list):
                raise ResultsError(f"{where}/bisects.json: bisects: expected a list")
            bisects += [
                d for d in docs if isinstance(d, dict) and d.get("scenario") in pool.scenarios
            ]
    return Measured(logged, work, tuple(bisects), missing)


def _work(i: Any) -> Work:
    """Raw counts from a results entry, judged again (its summary and direction ignored)."""
    c = i.confirm
    return Work(
        tuple(i.base),
        tuple(i.head),
        float(i.threshold_pct or 1.0),
        str(i.backend or ""),
        confirm_base=c.base if c is not None else None,
        confirm_head=c.head if c is not None else None,
    )


def thresholds_for(
    names: Sequence[str], scenarios_dir: Path, threshold: Any
) -> dict[str, tuple[float, str]]:
    """Each scenario's threshold from the trusted history, its floor from the trusted
    checkout's scenario file (else the default floor)."""
    known = {s.name: s for s in load_all(scenarios_dir)} if scenarios_dir.is_dir() else {}
    return {n: threshold(n, known[n].floor_pct if n in known else DEFAULT_FLOOR_PCT) for n in names}


def recompute(
    measured: Measured, policy: Policy, thresholds: Mapping[str, tuple[float, str]]
) -> dict[str, ScenarioOutcome]:
    """Every planned scenario's outcome from the raw samples; a pool that uploaded nothing
    leaves its scenarios broken."""
    got = outcomes(
        measured.logged, policy, thresholds, family_size=len(thresholds), work=measured.work
    )
    for name, why in measured.missing.items():
        got[name] = ScenarioOutcome(
            got[name].target, decide(None, policy=policy, broken=why), None, None
        )
    return got


def checked_bisects(
    bisects: Sequence[Mapping[str, Any]], regressed: set[str], commits: Sequence[str]
) -> list[dict[str, Any]]:
    """The bisect documents worth acting on: of a scenario that regressed by the recomputed
    verdicts, naming culprits among the commits after the baseline (a claim outside them
    becomes an error entry, never a notification)."""
    inside = set(commits[1:])
    out: list[dict[str, Any]] = []
    for b in bisects:
        name = str(b.get("scenario"))
        if name not in regressed:
            continue
        shas = [str(c.get("commit")) for c in b.get("culprits") or [] if isinstance(c, dict)]
        if any(sha not in inside for sha in shas):
            out.append({"scenario": name, "error": "culprit outside the release range: ignored"})
        else:
            out.append(dict(b))
    return out


# --- the three jobs -----------------------------------------------------------------------------


def plan_release(event: Event, ctx: Context) -> Outputs:
    """The ends and the matrix of runner pools (outputs ``baseline``, ``head``, ``matrix``,
    ``count``)."""
    s = ctx.release
    baseline, head = release_ends(event, ctx)
    scenarios = [x for x in load_all(ctx.scenarios_dir) if s.tag in x.tags]
    if not scenarios:
        raise UsageError(f"release: no scenario tagged {s.tag!r} in {ctx.scenarios_dir}")
    plan = pools(scenarios)
    matrix = json.dumps({"include": [p.to_json() for p in plan]}, separators=(",", ":"))
    lines = [f"{p.name}: {' '.join(p.scenarios)} on [{', '.join(p.runs_on)}]" for p in plan]
    values = {"baseline": baseline, "head": head, "matrix": matrix, "count": str(len(plan))}
    return Outputs(values, "\n".join(lines))


def measure_release(ctx: Context, baseline: str, head: str, names: Sequence[str]) -> Outputs:
    """One pool's scenarios compared and bisected, with no token and no history: raw samples,
    results and bisect documents in the results directory, for the gate job to judge."""
    s = ctx.release
    known = {x.name: x for x in load_all(ctx.scenarios_dir)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--scenarios: {unknown[0]!r} is not in {ctx.scenarios_dir}")
    suite = run_suite(
        ReleaseOptions(
            root=ctx.root,
            baseline=git.resolve(baseline, cwd=ctx.root, what="--baseline"),
            head=git.resolve(head, cwd=ctx.root, what="--head"),
            scenarios=tuple(known[n] for n in names),
            store=StoreOptions(ctx.root, record=False, learn=False),
            out_dir=ctx.out_dir,
            policy=Policy(alpha=s.alpha, looks=plan_looks(s.pairs, s.max_pairs)),
            step_size=StepSize(pairs=s.pairs, max_pairs=s.bisect_max_pairs, alpha=s.alpha),
        ),
        progress=say,
        executor=ctx.executor,
    )
    write_json(ctx.out_dir / "bisects.json", {"version": 1, "bisects": list(suite.bisects)})
    claimed = ", ".join(f"{n}: {v}" for n, v in suite.compare.verdicts)
    return Outputs({}, f"measured (to be judged by the gate job): {claimed}")


def gate_release(
    event: Event, ctx: Context, baseline: str, head: str, plan: Sequence[Pool]
) -> Outputs:
    """Judge the measure jobs' raw samples, notify, gate, record (see the module docstring)."""
    s = ctx.release
    api = None if s.offline else ctx.api()
    names = [n for p in plan for n in p.scenarios]
    with tempfile.TemporaryDirectory(prefix="ttfb-release-") as tmp:
        folder = ctx.artifacts
        if folder is None:  # this run's measure jobs' artifacts, through the API, as data
            run_id = ctx.env.get("GITHUB_RUN_ID")
            if api is None or not run_id:
                raise UsageError("release-gate: --artifacts DIR, or a GitHub run to read from")
            folder = Path(tmp)
            runs.download(api, int(run_id), folder, pattern=f"{POOL_ARTIFACT}*")
        measured = read_measured(folder, plan)
    policy = Policy(alpha=s.alpha, looks=plan_looks(s.pairs, s.max_pairs))
    # each pool's samples are judged by, and recorded under, that pool's runner label (the
    # calibrations' key), not the gate's own machine, which measured nothing
    stores = {p.name: replace(ctx.store, runner=p.name) for p in plan}
    thresholds: dict[str, tuple[float, str]] = {}
    for pool in plan:
        found = thresholds_for(pool.scenarios, ctx.scenarios_dir, stores[pool.name].threshold())
        thresholds.update(found)
    outs = recompute(measured, policy, thresholds)
    for pool in plan:
        recorder = replace(stores[pool.name].recorder(), machine={"runs-on": list(pool.runs_on)})
        record = Recording(recorder, kind="release", base_rev=baseline, head_rev=head)
        for name in pool.scenarios:
            record(outs[name], policy_for(policy, outs[name].target))
    comparison = Comparison(tuple(outs[n] for n in names), policy, 0.0)
    arm = lambda name, sha: Arm(name, sha[:10], ctx.root, revision=sha)  # noqa: E731
    doc = results_document(comparison, base=arm("base", baseline), head=arm("head", head))
    write_json(ctx.out_dir / "results.json", doc)
    regressed = {n for n, o in outs.items() if o.verdict is Verdict.REGRESSION}
    commits = git.first_parent_range(baseline, head, cwd=ctx.root)
    bisects = checked_bisects(measured.bisects, regressed, commits)
    result = finish_release(
        doc,
        bisects,
        api=api,
        baseline=baseline,
        head=head,
        out_dir=ctx.out_dir,
        url=run_url(ctx.env),
        runners={n: p.runs_on for p in plan for n in p.scenarios},
    )
    gate = result.doc["gate"]
    lines = [gate["description"]]
    lines += [
        f"{a['scenario']}: culprit {a['commit'][:10]} → {a['where']}"
        for a in result.doc["attribution"]
    ]
    return Outputs({"gate": gate["state"]}, "\n".join(lines), code=int(result.failed and s.gate))
