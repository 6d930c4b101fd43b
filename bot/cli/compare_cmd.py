"""``ttfb compare``: A/B of two revisions, commands, interpreters or environments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import git
from ..ab import arms, session
from ..ab.results_doc import results_document
from ..ab.targets import Overrides
from ..errors import UsageError
from ..report.compare_view import render_compare_text
from ..report.outputs import exit_code, write_compare_outputs
from ..scenarios import Scenario
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from ..store.versioned import write_json
from . import common


def arm_specs(args: argparse.Namespace, root: Path) -> tuple[arms.ArmSpec, arms.ArmSpec]:
    """What each arm is, with the default base: the merge-base with the default branch."""
    other_forms = any(
        (
            args.base_cmd,
            args.head_cmd,
            args.base_env,
            args.head_env,
            args.base_python,
            args.head_python,
        )
    )
    base_rev, head_rev = args.base, args.head
    if base_rev or head_rev or not other_forms:
        head_rev = head_rev or "HEAD"
        if not base_rev:
            branch = git.default_branch(cwd=root)
            if branch is None:
                raise UsageError("--base: no default branch found; pass --base REV")
            head_sha = git.resolve(head_rev, cwd=root, what="--head")
            base_rev = git.merge_base(branch, head_sha, cwd=root)
            if base_rev == head_sha:
                raise UsageError(
                    f"--base: the merge-base with {branch} is the head commit itself; "
                    "pass --base REV"
                )
    if bool(args.base_cmd) != bool(args.head_cmd):
        raise UsageError("--base-cmd and --head-cmd go together")
    base = arms.ArmSpec(base_rev, args.base_cmd, tuple(args.base_env or ()), args.base_python)
    head = arms.ArmSpec(head_rev, args.head_cmd, tuple(args.head_env or ()), args.head_python)
    if args.command:
        argv = args.command[1:] if args.command[0] == "--" else args.command
        if not argv:
            raise UsageError("compare: the command after -- is empty")
        if args.base_cmd:
            raise UsageError("compare: give --base-cmd/--head-cmd or a command after --, not both")
        text = " ".join(argv)
        base = arms.ArmSpec(base.revision, text, base.env, base.python)
        head = arms.ArmSpec(head.revision, text, head.env, head.python)
    return base, head


def scenarios_for(args: argparse.Namespace, root: Path) -> tuple[Scenario | None, ...]:
    if args.all or args.scenario:
        return tuple(
            common.chosen_scenarios(args, common.scenarios_dir(args, root), what="compare")
        )
    if args.base_cmd or args.command:
        return (None,)
    raise UsageError("compare: give --scenario NAME, --all, --base-cmd/--head-cmd or -- CMD")


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    base, head = arm_specs(args, root)
    request = session.Request(
        base,
        head,
        scenarios_for(args, root),
        name=args.name or "command",
        overrides=Overrides(
            timeout_s=args.timeout,
            stop=args.stop,
            detect=args.first_batch,
            **common.prepare_overrides(args),
            instructions=args.instructions,
        ),
        budget_s=args.budget_s,
        family_size=args.family_size,
    )
    out_dir = Path(args.out_dir) if args.out_dir else None
    log_path = Path(args.samples) if args.samples else None
    if log_path is None:
        log_path = (
            out_dir / "samples.jsonl"
            if out_dir
            else common.samples_path(args, "compare", several=False)
        )
    executor = common.executor(args)
    result = session.run(
        request,
        repo=root,
        policy=Policy(
            alpha=args.alpha,
            confirm_alpha=args.confirm_alpha,
            looks=plan_looks(args.pairs, args.max_pairs),
            seed=args.seed,
        ),
        executor=executor,
        threshold=common.threshold(args, root),
        log_path=log_path,
        recorder=common.recorder(args, root),
        progress=common.say,
        counting=common.counting(args, executor, request.scenarios),
        attribute=args.attribute,
    )
    doc = results_document(
        result.comparison,
        base=result.base,
        head=result.head,
        extra={"samples_log": str(log_path)},
    )
    if args.json:
        write_json(args.json, doc)
    if out_dir:
        for path in write_compare_outputs(doc, out_dir):
            print(f"wrote {path}", file=sys.stderr)
    print(render_compare_text(doc), end="")
    return exit_code(doc, gate=args.gate)


NAME = "compare"
HELP = "A/B base vs head: revisions, commands, interpreters or environments"
DESCRIPTION = (
    "Compare TTFB of base and head with paired, adaptive, confirmed statistics. Arms: "
    "--base/--head REV (default base: merge-base with the default branch), "
    "--base-cmd/--head-cmd, --base-env/--head-env K=V, --base-python/--head-python."
)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", metavar="REV", help="base revision (own worktree)")
    p.add_argument("--head", metavar="REV", help="head revision (default HEAD)")
    p.add_argument("--base-cmd", metavar="CMD", help="base command (shell-split)")
    p.add_argument("--head-cmd", metavar="CMD", help="head command (shell-split)")
    p.add_argument("--base-env", action="append", metavar="K=V", help="repeatable")
    p.add_argument("--head-env", action="append", metavar="K=V", help="repeatable")
    p.add_argument("--base-python", metavar="PATH", help="base interpreter")
    p.add_argument("--head-python", metavar="PATH", help="head interpreter")
    p.add_argument("--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable")
    p.add_argument("--all", action="store_true", help="every scenario in --scenarios-dir")
    p.add_argument("--name", help="name of the ad-hoc command comparison")
    _statistics_arguments(p)
    p.add_argument("--timeout", type=common.positive_float, metavar="S", help="per sample")
    p.add_argument("--stop", type=common.parse_stop, help="first_batch (default), exit, steps:K")
    p.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    common.add_prepare_args(p)
    common.add_instructions_arg(p)
    attribution = p.add_mutually_exclusive_group()
    attribution.add_argument(
        "--attribute",
        action="store_true",
        default=None,
        help="attribute import-time changes for every scenario (default: those with a finding)",
    )
    attribution.add_argument(
        "--no-attribute",
        dest="attribute",
        action="store_false",
        help="never run the -X importtime attribution samples",
    )
    p.add_argument("--out-dir", metavar="DIR", help="write results.json, comment.md and plots")
    p.add_argument("--samples", metavar="PATH", help="JSONL sample log")
    p.add_argument(
        "--gate", action="store_true", help="exit 1 on a confirmed regression or a broken scenario"
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS... (both arms)")
    common.add_depmap_args(p)
    common.add_history_args(p, no_history="do not read or write history", runner=True)


def _statistics_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the first look (default 10); looks double from there",
    )
    p.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=80,
        help="pairs at the last look (default 80)",
    )
    p.add_argument(
        "--budget-s",
        type=common.positive_float,
        metavar="S",
        help="wall-clock budget for the whole comparison",
    )
    common.add_alpha(p)
    p.add_argument(
        "--confirm-alpha",
        type=common.probability,
        default=0.05,
        help="one-sided level of the confirmation run (default 0.05)",
    )
    p.add_argument(
        "--threshold-pct",
        type=common.nonneg_float,
        metavar="PCT",
        help="override every scenario's threshold.floor_pct",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument(
        "--family-size",
        type=common.positive_int,
        metavar="N",
        help="scenarios compared in the whole run, when jobs split them",
    )
