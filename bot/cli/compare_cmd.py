"""``ttfb compare``: A/B of two revisions, commands, interpreters or environments."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..model import CounterBackend, CountingMode
from ..pipeline.comparing import compare
from ..pipeline.options import (
    ArmSpec,
    CompareOptions,
    CountingOptions,
    OutputPaths,
    ProfileOptions,
    default_base,
    default_head,
    split_command,
    where_in,
)
from ..report.compare_view import render_compare_text
from ..scenarios import Scenario
from ..stats.sequential import plan_looks
from ..stats.verdict import Policy
from . import args, common, profile_args
from .args import Common, option


@dataclass(frozen=True, kw_only=True)
class Arms:
    base: str | None = option("--base", metavar="REV", help="base revision (own worktree)")
    head: str | None = option("--head", metavar="REV", help="head revision (default HEAD)")
    base_cmd: str | None = option("--base-cmd", metavar="CMD", help="base command (shell-split)")
    head_cmd: str | None = option("--head-cmd", metavar="CMD", help="head command (shell-split)")
    base_env: list[str] | None = option("--base-env", action="append", metavar="K=V")
    head_env: list[str] | None = option("--head-env", action="append", metavar="K=V")
    base_python: str | None = option("--base-python", metavar="PATH", help="base interpreter")
    head_python: str | None = option("--head-python", metavar="PATH", help="head interpreter")


@dataclass(frozen=True, kw_only=True)
class Statistics(common.Alpha):
    pairs: int = option(
        "--pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the first look (default 10); looks double from there",
    )
    max_pairs: int = option(
        "--max-pairs", type=common.positive_int, default=80, help="pairs at the last look (80)"
    )
    budget_s: float | None = option(
        "--budget-s",
        type=common.positive_float,
        metavar="S",
        help="wall-clock budget for the whole comparison",
    )
    confirm_alpha: float = option(
        "--confirm-alpha",
        type=common.probability,
        default=0.05,
        help="one-sided level of the confirmation run (default 0.05)",
    )
    threshold_pct: float | None = option(
        "--threshold-pct",
        type=common.nonneg_float,
        metavar="PCT",
        help="override every scenario's threshold.floor_pct",
    )
    seed: int = option("--seed", type=int, default=0, help="bootstrap seed")
    family_size: int | None = option(
        "--family-size",
        type=common.positive_int,
        metavar="N",
        help="scenarios compared in the whole run, when jobs split them",
    )


@dataclass(frozen=True, kw_only=True)
class Options(
    Common,
    Arms,
    common.Chosen,
    Statistics,
    common.JobSettings,
    common.Inputs,
    common.Prepare,
    common.Learn,
    common.Db,
    common.NoHistory,
    common.Runner,
    profile_args.ProfileFlags,
):
    name: str | None = option("--name", help="name of the ad-hoc command comparison")
    instructions: CountingMode | None = option(
        "--instructions",
        type=common.counting_mode,
        metavar="{auto,on,off}",
        help="count CPU work to first batch (instructions, under valgrind or perf); default: "
        "$TTFB_LAB_INSTRUCTIONS, else each scenario's setting (auto: where a counter exists)",
    )
    instructions_backend: CounterBackend = option(
        "--instructions-backend",
        type=common.counter_backend,
        default="auto",
        metavar="{auto,perf,valgrind,callgrind}",
        help=common.BACKEND_HELP,
    )
    count_cap_s: float | None = option(
        "--count-cap-s",
        type=common.positive_float,
        metavar="S",
        help="most seconds of counting per scenario (default: as long as the first look's "
        "timed samples took, at most 300)",
    )
    count_jobs: int = option(
        "--count-jobs",
        type=common.nonneg_int,
        default=0,
        metavar="N",
        help="counts run at once (default 0: one per core, at most the counts planned)",
    )
    attribute: bool | None = option(
        "--attribute",
        action=argparse.BooleanOptionalAction,
        help="attribute import-time changes for every scenario (--no-attribute: never; "
        "default: the scenarios with a finding)",
    )
    profile: bool | None = option(
        "--profile",
        action=argparse.BooleanOptionalAction,
        help="a differential profile (which function the time went to) for every scenario "
        "(--no-profile: never; default: a scenario's profile:, else the confirmed findings)",
    )
    out_dir: str | None = option(
        "--out-dir", metavar="DIR", help="write results.json, comment.md, plots, flame graphs"
    )
    samples: str | None = option("--samples", metavar="PATH", help="JSONL sample log")
    gate: bool = option(
        "--gate",
        default=False,
        action="store_true",
        help="exit 1 on a confirmed regression or a broken scenario",
    )
    command: list[str] | None = option(
        nargs=argparse.REMAINDER, help="-- CMD ARGS... (both arms, as given)"
    )


def arm_specs(o: Options, root: Path) -> tuple[ArmSpec, ArmSpec]:
    """What each arm is; the default base is the merge-base with the default branch."""
    other_forms = any(
        (o.base_cmd, o.head_cmd, o.base_env, o.head_env, o.base_python, o.head_python)
    )
    base_rev, head_rev = o.base, o.head
    if base_rev or head_rev or not other_forms:
        note = ""
        if head_rev is None:
            head_rev, note = default_head(root)
            if note:
                print(f"compare: {note}", file=sys.stderr)
        if base_rev is None:
            fallback = "HEAD" if note else None  # uncommitted changes: against HEAD at least
            base_rev, base_note = default_base(head_rev, root=root, fallback=fallback)
            print(f"compare: {base_note}", file=sys.stderr)
    if bool(o.base_cmd) != bool(o.head_cmd):
        raise UsageError("--base-cmd and --head-cmd go together")
    tail = common.command_tail(o.command, what="compare")
    if tail and o.base_cmd:
        raise UsageError("compare: give --base-cmd/--head-cmd or a command after --, not both")
    base_argv = split_command(o.base_cmd, option="--base-cmd") if o.base_cmd else tail
    head_argv = split_command(o.head_cmd, option="--head-cmd") if o.head_cmd else tail
    return (
        ArmSpec(base_rev, base_argv, tuple(o.base_env or ()), o.base_python),
        ArmSpec(head_rev, head_argv, tuple(o.head_env or ()), o.head_python),
    )


def scenarios_for(o: Options, root: Path) -> tuple[Scenario | None, ...]:
    if o.all or o.scenario:
        return common.chosen_scenarios(o, o.scenario, o.all, root, what="compare")
    if o.base_cmd or o.command:
        return (None,)
    raise UsageError("compare: give --scenario NAME, --all, --base-cmd/--head-cmd or -- CMD")


def compare_options(o: Options) -> CompareOptions:
    """The one place ``ttfb compare``'s options become the pipeline's."""
    root = common.root(o)
    base, head = arm_specs(o, root)
    return CompareOptions(
        root=root,
        base=base,
        head=head,
        scenarios=scenarios_for(o, root),
        store=common.store(root, db=o, no_history=o, runner=o, depmap=o),
        name=o.name or "command",
        overrides=common.overrides(o, o, o, o.instructions, here=(root, Path.cwd())),
        policy=Policy(
            alpha=o.alpha,
            confirm_alpha=o.confirm_alpha,
            looks=plan_looks(o.pairs, o.max_pairs),
            seed=o.seed,
        ),
        threshold_pct=o.threshold_pct,
        budget_s=o.budget_s,
        family_size=o.family_size,
        counting=CountingOptions(
            o.instructions, o.instructions_backend, o.count_cap_s, o.count_jobs
        ),
        attribute=o.attribute,
        profile=ProfileOptions(o.profile, profile_args.settings(o)),
        outputs=OutputPaths(
            out_dir=common.path_or_none(o.out_dir),
            json=common.path_or_none(o.json),
            samples=common.path_or_none(o.samples),
        ),
        fake=common.path_or_none(o.fake),
        where=where_in(root, Path.cwd()),
    )


def run(o: Options) -> int:
    result = compare(compare_options(o), progress=common.say)
    for path in result.written:
        print(f"wrote {path}", file=sys.stderr)
    print(render_compare_text(result.doc), end="")
    return 1 if o.gate and result.fails_gate() else 0


NAME = "compare"
HELP = "A/B base vs head: revisions, commands, interpreters or environments"
DESCRIPTION = (
    "Compare TTFB of base and head with paired, adaptive, confirmed statistics. Arms: "
    "--base/--head REV (default base: merge-base with the default branch), "
    "--base-cmd/--head-cmd, --base-env/--head-env K=V, --base-python/--head-python."
)


def arguments(p: argparse.ArgumentParser) -> None:
    args.register(p, Options, run)
