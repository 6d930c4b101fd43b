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
from pathlib import Path

from ..errors import UsageError
from ..gh import api as gh_api
from ..gh.bench_job import Bench, run_bench
from ..gh.context import Context, Outputs, ReleaseSettings, write_outputs
from ..gh.events import Event, load_event
from ..gh.flows import router
from ..gh.history_artifact import fetch_history
from ..store import depmap_db, thresholds
from . import common

MODES = ("select", "report", "command", "release")


def _runners(args: argparse.Namespace) -> dict[str, list[str]]:
    out = {}
    for key, value in (("cpu", args.cpu_runner), ("gpu", args.gpu_runner)):
        if value:
            try:
                labels = json.loads(value) if value.strip().startswith("[") else value.split(",")
            except ValueError:
                raise UsageError(f"--{key}-runner: expected a label, a,b or a JSON list") from None
            out[key] = [str(x).strip() for x in labels if str(x).strip()]
    return out


def context(args: argparse.Namespace, env: dict[str, str]) -> Context:
    root = common.root(args)

    def api() -> gh_api.GitHubAPI:
        return gh_api.from_environment(env, dry_run=args.dry_run, max_wait_s=args.max_wait_s)

    release = ReleaseSettings(
        baseline=getattr(args, "baseline", None),
        head=getattr(args, "head", None),
        tag_pattern=getattr(args, "tag_pattern", "v*"),
        tag=getattr(args, "tag", "release"),
        pairs=getattr(args, "pairs", 10),
        max_pairs=getattr(args, "max_pairs", 40),
        bisect_max_pairs=getattr(args, "bisect_max_pairs", 20),
        alpha=getattr(args, "alpha", 0.01),
        gate=getattr(args, "gate", False),
        offline=getattr(args, "offline", False),
    )
    return Context(
        env=env,
        root=root,
        scenarios_dir=common.scenarios_dir(args, root),
        out_dir=Path(args.out_dir),
        api=api,
        executor=common.executor(args),
        recorder=common.recorder(args, root),
        history=common.db_path(args, root),
        depmap=depmap_db.default_path(root),
        runner=thresholds.runner_label(getattr(args, "runner", None)),
        budget_cpu_s=args.budget_cpu_s,
        budget_gpu_s=args.budget_gpu_s,
        instructions=args.instructions,
        runners=_runners(args),
        artifacts=Path(args.artifacts) if args.artifacts else None,
        ref=args.ref,
        release=release,
    )


def _finish(out: Outputs, env: dict[str, str]) -> int:
    write_outputs(env, out.values)
    print(out.message)
    return out.code


def _event(mode: str | None, env: dict[str, str]) -> Event:
    """The event; a local ``ttfb gh release`` may run without one (as if dispatched)."""
    if mode == "release" and not env.get("GITHUB_EVENT_PATH"):
        return Event("workflow_dispatch", None, {})
    return load_event(env)


def dispatch(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    mode = None if args.gh_cmd == "handle" else args.gh_cmd
    event = _event(mode, env)
    if mode is None:
        print(router.route(event).why, file=sys.stderr)
    return _finish(router.dispatch(event, context(args, env), mode=mode), env)


def history(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    return _finish(fetch_history(context(args, env)), env)


def bench(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    base = args.base or env.get("TTFB_BASE")
    head = args.head or env.get("TTFB_HEAD")
    if not base or not head:
        raise UsageError("run: --base and --head (or TTFB_BASE/TTFB_HEAD) are required")
    job = Bench(args.scenario, base, head, args.family, args.max_pairs, args.alpha)
    return _finish(run_bench(job, context(args, env)), env)


def _release_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("--baseline", metavar="REV", help="default: the previous release tag")
    r.add_argument("--head", metavar="REV", help="default: the pushed commit, else HEAD")
    r.add_argument("--tag-pattern", default="v*", help="release tags (default v*)")
    r.add_argument("--tag", default="release", help="scenario tag to run (default release)")
    r.add_argument("--pairs", type=common.positive_int, default=10)
    r.add_argument("--max-pairs", type=common.positive_int, default=40)
    r.add_argument("--bisect-max-pairs", type=common.positive_int, default=20)
    common.add_alpha(r)
    r.add_argument("--gate", action="store_true", help="exit 1 when the gate fails")
    r.add_argument(
        "--offline",
        action="store_true",
        help="no GitHub: skip notifications and the status (local runs)",
    )


def _shared(parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False, parents=parents)
    shared.add_argument("--dry-run", action="store_true", help="print writes, do not make them")
    shared.add_argument(
        "--max-wait-s",
        type=common.positive_float,
        default=60.0,
        help="longest wait for a rate limit before giving up (default 60)",
    )
    shared.add_argument("--out-dir", default="ttfb-results", help="results directory")
    shared.add_argument(
        "--budget-cpu-s",
        type=common.nonneg_float,
        default=float(os.environ.get("TTFB_BUDGET_CPU_S", 3600)),
    )
    shared.add_argument(
        "--instructions",
        choices=("auto", "on", "off"),
        default=os.environ.get("TTFB_INSTRUCTIONS") or "auto",
        help="count CPU work to first batch in the bench jobs (selection budgets for it)",
    )
    shared.add_argument(
        "--budget-gpu-s",
        type=common.nonneg_float,
        default=float(os.environ.get("TTFB_BUDGET_GPU_S", 0)),
    )
    shared.add_argument("--cpu-runner", help="runner labels for CPU scenarios (a,b or JSON)")
    shared.add_argument("--gpu-runner", help="runner labels for GPU scenarios (a,b or JSON)")
    shared.add_argument(
        "--artifacts",
        metavar="DIR",
        help="report: artifacts already downloaded here (default: download them via the API)",
    )
    shared.add_argument("--ref", help="ref the rerun dispatch runs on (default branch)")
    common.add_history_args(shared, runner=True)
    return shared


NAME = "gh"
HELP = "GitHub Actions entry points (select, run, report, command)"
NESTED = True  # subcommands, each with the shared options


def arguments(g: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    gsub = g.add_subparsers(dest="gh_cmd", required=True, metavar="MODE")
    shared = _shared(parents)
    helps = {
        "handle": "do what the current event calls for",
        "select": "plan the bench matrix",
        "report": "comment, status and summary",
        "command": "handle a /ttfb comment",
        "release": "release suite: compare, bisect, notify, gate",
    }
    for mode, text in helps.items():
        p = gsub.add_parser(mode, parents=[shared], help=text)
        if mode in ("handle", "release"):
            _release_arguments(p)
        p.set_defaults(func=dispatch)
    b = gsub.add_parser("run", parents=[shared], help="one bench job: compare one scenario")
    b.add_argument("--scenario", required=True)
    b.add_argument("--base", help="base commit (default $TTFB_BASE)")
    b.add_argument("--head", help="head commit (default $TTFB_HEAD)")
    b.add_argument("--family", type=common.positive_int, help="scenarios in the whole plan")
    b.add_argument("--max-pairs", type=common.positive_int, default=40)
    common.add_alpha(b)
    b.set_defaults(func=bench)
    h = gsub.add_parser(
        "history",
        parents=[shared],
        help="merge the latest default-branch calibration history (an artifact) into --db",
    )
    h.set_defaults(func=history)
