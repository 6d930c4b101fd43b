"""``ttfb gh release``: the release suite, bisect, notification and gate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import bisectrun, events, ghflow, git, history, release, thresholds
from ..errors import UsageError
from ..scenarios import load_all
from . import common


def run(args: argparse.Namespace, event: events.Event | None = None) -> int:
    env = ghflow.environment()
    root = common.root(args)
    if event is None and env.get("GITHUB_EVENT_PATH"):
        event = events.load_event(env)
    inputs = (event.payload.get("inputs") or {}) if event else {}
    head = (
        args.head
        or (event.payload.get("after") if event and event.name == "push" else None)
        or "HEAD"
    )
    head_sha = git.resolve(head, cwd=root, what="--head")
    baseline = (
        args.baseline
        or inputs.get("baseline")
        or git.previous_tag(head_sha, cwd=root, pattern=args.tag_pattern)
    )
    if not baseline:
        raise UsageError(
            f"--baseline: no tag matching {args.tag_pattern!r} before "
            f"{head_sha[:10]}; pass --baseline REV"
        )
    scenarios_dir = Path(args.scenarios_dir)
    if not scenarios_dir.is_absolute():
        scenarios_dir = root / scenarios_dir
    scenarios = [s for s in load_all(scenarios_dir) if args.tag in s.tags]
    if not scenarios:
        raise UsageError(f"release: no scenario tagged {args.tag!r} in {scenarios_dir}")
    api = None if args.offline else gh_api(args, env)
    print(
        f"release suite: {len(scenarios)} scenario(s), baseline {baseline} → head {head_sha[:10]}",
        file=sys.stderr,
    )
    db = common.db_path(args, root)
    with history.History(db) as hist:
        result = release.run_release(
            root=root,
            baseline=baseline,
            head=head_sha,
            scenarios=scenarios,
            executor=common.executor(args),
            api=api,
            policy=release.release_policy(
                alpha=args.alpha, pairs=args.pairs, max_pairs=args.max_pairs
            ),
            bisect_plan=bisectrun.Plan(
                pairs=args.pairs, max_pairs=args.bisect_max_pairs, alpha=args.alpha
            ),
            out_dir=Path(args.out_dir),
            run_url=ghflow.run_url(env),
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            threshold=lambda s: thresholds.for_scenario(
                hist, s.name, thresholds.runner_label(args.runner), floor=s.floor_pct
            ),
        )
    ghflow.append_summary(env, result.markdown)
    ghflow.write_outputs(env, {"gate": result.doc["gate"]["state"]})
    print(result.doc["gate"]["description"])
    for a in result.doc["attribution"]:
        print(f"{a['scenario']}: culprit {a['commit'][:10]} → {a['where']}")
    return 1 if (result.failed and args.gate) else 0


def gh_api(args: argparse.Namespace, env: dict[str, str]):  # type: ignore[no-untyped-def]
    from .. import github

    return github.from_environment(env, dry_run=args.dry_run, max_wait_s=args.max_wait_s)


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("--baseline", metavar="REV", help="default: the previous release tag")
    r.add_argument("--head", metavar="REV", help="default: the pushed commit, else HEAD")
    r.add_argument("--tag-pattern", default="v*", help="release tags (default v*)")
    r.add_argument("--tag", default="release", help="scenario tag to run (default release)")
    r.add_argument("--pairs", type=common.positive_int, default=10)
    r.add_argument("--max-pairs", type=common.positive_int, default=40)
    r.add_argument("--bisect-max-pairs", type=common.positive_int, default=20)
    r.add_argument("--alpha", type=common.probability, default=0.01)
    r.add_argument("--gate", action="store_true", help="exit 1 when the gate fails")
    common.add_history_args(r, runner=True)
    r.add_argument(
        "--offline",
        action="store_true",
        help="no GitHub: skip notifications and the status (local runs)",
    )
    r.set_defaults(func=run)
