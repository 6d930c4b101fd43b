"""``ttfb gh …``: the entry points the workflows (and ``action.yml``) call.

They read the standard Actions environment (``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``,
``GITHUB_REPOSITORY``, ``GITHUB_API_URL``, ``GITHUB_TOKEN``, ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``). ``--dry-run`` prints every write it would make instead of making it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .. import events, ghflow, github
from ..errors import UsageError
from . import common
from . import compare as compare_cli


def _api(args: argparse.Namespace, env: dict[str, str]) -> github.GitHubAPI:
    return github.from_environment(env, dry_run=args.dry_run, max_wait_s=args.max_wait_s)


def _scenarios_dir(args: argparse.Namespace) -> Path:
    path = Path(args.scenarios_dir)
    return path if path.is_absolute() else common.root(args) / path


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


def _finish(out: ghflow.Outputs, env: dict[str, str]) -> int:
    ghflow.write_outputs(env, out.values)
    print(out.message)
    return 0


def run_select(args: argparse.Namespace, event: events.Event | None = None) -> int:
    env = ghflow.environment()
    event = event or events.load_event(env)
    needs_api = event.name == "workflow_dispatch"
    out = ghflow.select_flow(
        event,
        root=common.root(args),
        scenarios_dir=_scenarios_dir(args),
        out_dir=Path(args.out_dir),
        budget_cpu_s=args.budget_cpu_s,
        budget_gpu_s=args.budget_gpu_s,
        api=_api(args, env) if needs_api else None,
        runner_override=_runners(args),
    )
    return _finish(out, env)


def run_report(args: argparse.Namespace, event: events.Event | None = None) -> int:
    env = ghflow.environment()
    event = event or events.load_event(env)
    if event.name != "workflow_run":
        raise UsageError(f"report: expects a workflow_run event, got {event.name!r}")
    out = ghflow.report_flow(event, api=_api(args, env), artifacts=Path(args.artifacts), env=env)
    return _finish(out, env)


def run_command(args: argparse.Namespace, event: events.Event | None = None) -> int:
    env = ghflow.environment()
    event = event or events.load_event(env)
    route = events.route(event)
    if route.mode != "command":
        print(route.why)
        return 0
    out = ghflow.command_flow(
        event,
        api=_api(args, env),
        scenarios_dir=_scenarios_dir(args),
        ref=args.ref or ghflow.default_ref(event, env),
    )
    return _finish(out, env)


def run_bench(args: argparse.Namespace) -> int:
    """One matrix entry: ``ttfb compare`` of base vs head on one scenario, into --out-dir."""
    env = ghflow.environment()
    base = args.base or env.get("TTFB_BASE")
    head = args.head or env.get("TTFB_HEAD")
    if not base or not head:
        raise UsageError("run: --base and --head (or TTFB_BASE/TTFB_HEAD) are required")
    argv = [
        "compare",
        "--base",
        base,
        "--head",
        head,
        "--scenario",
        args.scenario,
        "--scenarios-dir",
        args.scenarios_dir,
        "--out-dir",
        args.out_dir,
        "--json",
        str(Path(args.out_dir) / ghflow.RESULTS_FILE),
        "--max-pairs",
        str(args.max_pairs),
        "--alpha",
        str(args.alpha),
    ]
    if args.family:
        argv += ["--family-size", str(args.family)]
    if args.root:
        argv += ["--root", args.root]
    parsed = build_compare_parser().parse_args(argv)
    code = compare_cli.run(parsed)
    summary = Path(args.out_dir) / "summary.md"
    if summary.exists():
        ghflow.append_summary(env, summary.read_text())
    return 0 if code in (0, 1) else code


def build_compare_parser() -> argparse.ArgumentParser:
    from . import build_parser

    return build_parser()


def run_handle(args: argparse.Namespace) -> int:
    env = ghflow.environment()
    event = events.load_event(env)
    route = events.route(event)
    print(route.why, file=sys.stderr)
    if route.mode is None:
        print(route.why)
        return 0
    if route.mode == "select":
        return run_select(args, event)
    if route.mode == "report":
        return run_report(args, event)
    if route.mode == "command":
        return run_command(args, event)
    from . import release as release_cli

    return release_cli.run(args, event)


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    g = sub.add_parser("gh", help="GitHub Actions entry points (select, run, report, command)")
    gsub = g.add_subparsers(dest="gh_cmd", required=True, metavar="MODE")

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
        default=float(os.environ.get("TTFB_BUDGET_CPU_S", 900)),
    )
    shared.add_argument(
        "--budget-gpu-s",
        type=common.nonneg_float,
        default=float(os.environ.get("TTFB_BUDGET_GPU_S", 0)),
    )
    shared.add_argument("--cpu-runner", help="runner labels for CPU scenarios (a,b or JSON)")
    shared.add_argument("--gpu-runner", help="runner labels for GPU scenarios (a,b or JSON)")
    shared.add_argument("--artifacts", default="artifacts", help="downloaded artifacts (report)")
    shared.add_argument("--ref", help="ref the rerun dispatch runs on (default branch)")

    from . import release

    h = gsub.add_parser("handle", parents=[shared], help="do what the current event calls for")
    release.add_arguments(h)
    h.set_defaults(func=run_handle)
    s = gsub.add_parser("select", parents=[shared], help="plan the bench matrix")
    s.set_defaults(func=run_select)
    r = gsub.add_parser("report", parents=[shared], help="comment, status and summary")
    r.set_defaults(func=run_report)
    c = gsub.add_parser("command", parents=[shared], help="handle a /ttfb comment")
    c.set_defaults(func=run_command)
    b = gsub.add_parser("run", parents=[shared], help="one bench job: compare one scenario")
    b.add_argument("--scenario", required=True)
    b.add_argument("--base", help="base commit (default $TTFB_BASE)")
    b.add_argument("--head", help="head commit (default $TTFB_HEAD)")
    b.add_argument("--family", type=common.positive_int, help="scenarios in the whole plan")
    b.add_argument("--max-pairs", type=common.positive_int, default=40)
    b.add_argument("--alpha", type=common.probability, default=0.01)
    b.set_defaults(func=run_bench)
    from . import release

    rel = gsub.add_parser(
        "release", parents=[shared], help="release suite: compare, bisect, notify, gate"
    )
    release.add_arguments(rel)
