"""``ttfb gh …``: the entry points the workflows (and ``action.yml``) call.

They read the standard Actions environment (``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``,
``GITHUB_REPOSITORY``, ``GITHUB_API_URL``, ``GITHUB_TOKEN``, ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``). ``--dry-run`` prints every write it would make instead of making it.
``handle`` sends the event to whatever flow it calls for (``bot.gh.router``); ``select``,
``report``, ``command`` and ``release`` insist on their own kind of event; ``run`` is one bench
job of the matrix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..gh import api as gh_api
from ..gh.bench_job import Bench, run_bench
from ..gh.context import Context, Outputs, ReleaseSettings, write_outputs
from ..gh.events import Event, load_event
from ..gh.flows import router
from ..gh.history_artifact import fetch_history
from ..gh.release_jobs import gate_release, measure_release, plan_release, read_pools
from ..gh.text import log_safe
from ..model import CounterBackend, CountingMode
from ..pipeline.counting_run import CountOptions, count_only
from ..pipeline.options import executor_for
from ..scenarios import find
from . import common
from .args import Common, option, register

MODES = ("select", "report", "command", "release")


@dataclass(frozen=True, kw_only=True)
class Shared(Common, common.Db, common.Runner):
    """What every ``ttfb gh`` entry point takes."""

    dry_run: bool = option(
        "--dry-run", default=False, action="store_true", help="print writes, do not make them"
    )
    max_wait_s: float = option(
        "--max-wait-s",
        type=common.positive_float,
        default=60.0,
        help="longest wait for a rate limit before giving up (default 60)",
    )
    out_dir: str = option("--out-dir", default="ttfb-results", help="results directory")
    budget_cpu_s: float | None = option(
        "--budget-cpu-s",
        type=common.nonneg_float,
        help="CPU-seconds for the PR plan (default $TTFB_LAB_BUDGET_CPU_S, else 3600)",
    )
    budget_gpu_s: float | None = option(
        "--budget-gpu-s",
        type=common.nonneg_float,
        help="GPU-seconds for the PR plan (default $TTFB_LAB_BUDGET_GPU_S, else 0)",
    )
    instructions: CountingMode | None = option(
        "--instructions",
        type=common.counting_mode,
        metavar="{auto,on,off}",
        help="count CPU work to first batch in the bench jobs (selection budgets for it; "
        "default $TTFB_LAB_INSTRUCTIONS, else auto)",
    )
    cpu_runner: str | None = option(
        "--cpu-runner", help="runner labels for CPU scenarios (a,b or JSON)"
    )
    gpu_runner: str | None = option(
        "--gpu-runner", help="runner labels for GPU scenarios (a,b or JSON)"
    )
    artifacts: str | None = option(
        "--artifacts",
        metavar="DIR",
        help="report: artifacts already downloaded here (default: download them via the API)",
    )
    ref: str | None = option("--ref", help="ref the rerun dispatch runs on (default branch)")


@dataclass(frozen=True, kw_only=True)
class Release(Shared, common.Alpha):
    """``handle`` and ``release``: the release suite's settings."""

    baseline: str | None = option(
        "--baseline", metavar="REV", help="default: the previous release tag"
    )
    head: str | None = option("--head", metavar="REV", help="default: the pushed commit, else HEAD")
    tag_pattern: str = option("--tag-pattern", default="v*", help="release tags (default v*)")
    tag: str = option("--tag", default="release", help="scenario tag to run (default release)")
    pairs: int = option("--pairs", type=common.positive_int, default=10)
    max_pairs: int = option("--max-pairs", type=common.positive_int, default=40)
    bisect_max_pairs: int = option("--bisect-max-pairs", type=common.positive_int, default=20)
    gate: bool = option(
        "--gate", default=False, action="store_true", help="exit 1 when the gate fails"
    )
    offline: bool = option(
        "--offline",
        default=False,
        action="store_true",
        help="no GitHub: skip notifications and the status (local runs)",
    )


@dataclass(frozen=True, kw_only=True)
class MeasureRelease(Release):
    scenarios: str = option(
        "--scenarios", required=True, help="the pool's scenarios, space-separated (from the plan)"
    )


@dataclass(frozen=True, kw_only=True)
class GateRelease(Release):
    matrix: str = option(
        "--matrix", required=True, help="the release plan's matrix (JSON, from the plan job)"
    )


@dataclass(frozen=True, kw_only=True)
class BenchOptions(Shared, common.Alpha):
    scenario: str = option("--scenario", required=True)
    base: str | None = option("--base", help="base commit (default $TTFB_LAB_BASE)")
    head: str | None = option("--head", help="head commit (default $TTFB_LAB_HEAD)")
    family: int | None = option(
        "--family", type=common.positive_int, help="scenarios in the whole plan"
    )
    max_pairs: int = option("--max-pairs", type=common.positive_int, default=40)


@dataclass(frozen=True, kw_only=True)
class CountJobOptions(Shared):
    scenario: str = option("--scenario", required=True)
    base: str | None = option("--base", help="base commit (default $TTFB_LAB_BASE)")
    head: str | None = option("--head", help="head commit (default $TTFB_LAB_HEAD)")
    count_cap_s: float = option(
        "--count-cap-s",
        type=common.positive_float,
        default=300.0,
        metavar="S",
        help="most seconds of counting (default 300)",
    )
    count_jobs: int = option(
        "--count-jobs", type=common.nonneg_int, default=0, help="counts at once (0: per core)"
    )
    instructions_backend: CounterBackend = option(
        "--instructions-backend",
        type=common.counter_backend,
        default="auto",
        metavar="{auto,perf,valgrind,callgrind,cachegrind}",
        help=common.BACKEND_HELP,
    )


def _runners(o: Shared) -> dict[str, list[str]]:
    out = {}
    for key, value in (("cpu", o.cpu_runner), ("gpu", o.gpu_runner)):
        if value:
            try:
                labels = json.loads(value) if value.strip().startswith("[") else value.split(",")
            except ValueError:
                raise UsageError(f"--{key}-runner: expected a label, a,b or a JSON list") from None
            out[key] = [str(x).strip() for x in labels if str(x).strip()]
    return out


def _env_float(env: dict[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return common.nonneg_float(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"${name}: {exc}") from None


def _release_settings(o: Shared) -> ReleaseSettings:
    if not isinstance(o, Release):
        return ReleaseSettings()
    return ReleaseSettings(
        baseline=o.baseline,
        head=o.head,
        tag_pattern=o.tag_pattern,
        tag=o.tag,
        pairs=o.pairs,
        max_pairs=o.max_pairs,
        bisect_max_pairs=o.bisect_max_pairs,
        alpha=o.alpha,
        gate=o.gate,
        offline=o.offline,
    )


def context(o: Shared, env: dict[str, str]) -> Context:
    """The one place ``ttfb gh``'s options (and the Actions environment) become a flow's
    context."""
    root = common.root(o)

    def api() -> gh_api.GitHubAPI:
        return gh_api.from_environment(env, dry_run=o.dry_run, max_wait_s=o.max_wait_s)

    instructions = o.instructions
    if instructions is None and env.get("TTFB_LAB_INSTRUCTIONS"):
        instructions = common.counting_mode(env["TTFB_LAB_INSTRUCTIONS"])
    return Context(
        env=env,
        root=root,
        scenarios_dir=common.scenarios_dir(o, root),
        out_dir=Path(o.out_dir),
        api=api,
        executor=executor_for(common.path_or_none(o.fake)),
        store=common.store(root, db=o, runner=o),
        budget_cpu_s=(
            o.budget_cpu_s
            if o.budget_cpu_s is not None
            else _env_float(env, "TTFB_LAB_BUDGET_CPU_S", 3600.0)
        ),
        budget_gpu_s=(
            o.budget_gpu_s
            if o.budget_gpu_s is not None
            else _env_float(env, "TTFB_LAB_BUDGET_GPU_S", 0.0)
        ),
        instructions=instructions or "auto",
        runners=_runners(o),
        artifacts=Path(o.artifacts) if o.artifacts else None,
        ref=o.ref,
        release=_release_settings(o),
    )


def _finish(out: Outputs, env: dict[str, str]) -> int:
    write_outputs(env, out.values)
    print(log_safe(out.message))
    return out.code


def _event(mode: str | None, env: dict[str, str]) -> Event:
    """The event; a local ``ttfb gh release`` may run without one (as if dispatched)."""
    if mode == "release" and not env.get("GITHUB_EVENT_PATH"):
        return Event("workflow_dispatch", None, {})
    return load_event(env)


def _dispatcher(mode: str | None) -> Callable[[Shared], int]:
    """The entry point of one mode (None: ``handle``, whatever the event calls for)."""

    def dispatch(o: Shared) -> int:
        env = dict(os.environ)
        event = _event(mode, env)
        if mode is None:
            print(log_safe(router.route(event).why), file=sys.stderr)
        return _finish(router.dispatch(event, context(o, env), mode=mode), env)

    return dispatch


def history(o: Shared) -> int:
    env = dict(os.environ)
    return _finish(fetch_history(context(o, env)), env)


def bench(o: BenchOptions) -> int:
    env = dict(os.environ)
    base = o.base or env.get("TTFB_LAB_BASE")
    head = o.head or env.get("TTFB_LAB_HEAD")
    if not base or not head:
        raise UsageError("run: --base and --head (or TTFB_LAB_BASE/TTFB_LAB_HEAD) are required")
    job = Bench(o.scenario, base, head, o.family, o.max_pairs, o.alpha)
    return _finish(run_bench(job, context(o, env)), env)


def count(o: CountJobOptions) -> int:
    """The counting job of one scenario: ``counts.json`` for the report job to join."""
    env = dict(os.environ)
    base = o.base or env.get("TTFB_LAB_BASE")
    head = o.head or env.get("TTFB_LAB_HEAD")
    if not base or not head:
        raise UsageError("count: --base and --head (or TTFB_LAB_BASE/TTFB_LAB_HEAD) are required")
    root = common.root(o)
    doc = count_only(
        CountOptions(
            root=root,
            base=base,
            head=head,
            scenario=find(o.scenario, common.scenarios_dir(o, root)),
            out_dir=Path(o.out_dir),
            backend=o.instructions_backend,
            cap_s=o.count_cap_s,
            jobs=o.count_jobs,
            fake=common.path_or_none(o.fake),
        ),
        progress=common.say,
    )
    work = doc["work"]
    message = work["summary"] if work else doc["note"]
    return _finish(Outputs({}, f"{o.scenario}: {message}"), env)


def release_plan(o: Release) -> int:
    env = dict(os.environ)
    return _finish(plan_release(_event("release", env), context(o, env)), env)


def release_measure(o: MeasureRelease) -> int:
    env = dict(os.environ)
    if not o.baseline or not o.head:
        raise UsageError("release-measure: --baseline and --head (the plan's) are required")
    ctx = context(o, env)
    return _finish(measure_release(ctx, o.baseline, o.head, o.scenarios.split()), env)


def release_gate(o: GateRelease) -> int:
    env = dict(os.environ)
    if not o.baseline or not o.head:
        raise UsageError("release-gate: --baseline and --head (the plan's) are required")
    ctx = context(o, env)
    event = _event("release", env)
    return _finish(gate_release(event, ctx, o.baseline, o.head, read_pools(o.matrix)), env)


NAME = "gh"
HELP = "GitHub Actions entry points (select, run, report, command)"


def arguments(g: argparse.ArgumentParser) -> None:
    gsub = g.add_subparsers(dest="gh_cmd", required=True, metavar="MODE")
    helps = {
        "handle": "do what the current event calls for",
        "select": "plan the bench matrix",
        "report": "comment, status and summary",
        "command": "handle a /ttfb comment",
        "release": "release suite: compare, bisect, notify, gate",
    }
    for mode, text in helps.items():
        p = gsub.add_parser(mode, help=text)
        cls = Release if mode in ("handle", "release") else Shared
        register(p, cls, _dispatcher(None if mode == "handle" else mode))
    b = gsub.add_parser("run", help="one bench job: compare one scenario")
    register(b, BenchOptions, bench)
    c = gsub.add_parser("count", help="one counting job: count one scenario's CPU work")
    register(c, CountJobOptions, count)
    register(
        gsub.add_parser("release-plan", help="release: the ends and the runner pools"),
        Release,
        release_plan,
    )
    register(
        gsub.add_parser("release-measure", help="release: one pool, no token (measured code)"),
        MeasureRelease,
        release_measure,
    )
    register(
        gsub.add_parser("release-gate", help="release: judge the raw samples, notify, gate"),
        GateRelease,
        release_gate,
    )
    h = gsub.add_parser(
        "history",
        help="merge the latest default-branch calibration history (an artifact) into --db",
    )
    register(h, Shared, history)
