"""``ttfb compare``: A/B of two revisions, commands, interpreters or environments."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from .. import arms, compare, depmap, git, history, measure, outputs, report, results, thresholds
from ..errors import ConfigError, UsageError
from ..runner import plan_looks
from ..scenarios import Scenario, find, load_all
from ..verdict import Policy
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


def chosen_scenarios(args: argparse.Namespace, scenarios_dir: Path) -> list[Scenario | None]:
    if args.all:
        return list(load_all(scenarios_dir))
    if args.scenario:
        return [find(name, scenarios_dir) for name in args.scenario]
    if args.base_cmd or args.command:
        return [None]
    raise UsageError("compare: give --scenario NAME, --all, --base-cmd/--head-cmd or -- CMD")


def targets_for(
    args: argparse.Namespace,
    base: arms.Arm,
    head: arms.Arm,
    scenarios_dir: Path,
    workdir: Path,
    hist: history.History | None = None,
) -> list[compare.Target]:
    targets = []
    for scenario in chosen_scenarios(args, scenarios_dir):
        name = scenario.name if scenario else (args.name or "command")
        if args.threshold_pct is not None:
            floor, note = args.threshold_pct, "set with --threshold-pct"
        else:
            floor, note = thresholds.for_scenario(
                hist,
                name,
                thresholds.runner_label(args.runner),
                floor=scenario.floor_pct if scenario else 2.0,
            )
        skip = measure.gpu_skip_reason(scenario) if scenario else None
        if skip:
            targets.append(compare.Target(name, None, None, floor, skipped=skip))
            continue
        kw = {
            "timeout_s": args.timeout,
            "stop": args.stop,
            "detect": args.first_batch,
            "workdir": workdir,
        }
        jobs = []
        for arm in (base, head):
            try:
                jobs.append(arms.job_for(arm, scenario, **kw))
            except ConfigError as exc:  # e.g. the shrunk config fails the head's validation
                targets.append(compare.Target(name, None, None, floor, broken=f"{arm.name}: {exc}"))
                break
        else:
            targets.append(
                compare.Target(
                    name,
                    jobs[0],
                    jobs[1],
                    floor,
                    note,
                    description=scenario.description if scenario else "",
                )
            )
    return targets


def run(args: argparse.Namespace) -> int:
    root = common.root(args)
    scenarios_dir = Path(args.scenarios_dir)
    if not scenarios_dir.is_absolute():
        scenarios_dir = Path.cwd() / scenarios_dir
    policy = Policy(
        alpha=args.alpha,
        confirm_alpha=args.confirm_alpha,
        looks=plan_looks(args.pairs, args.max_pairs),
        seed=args.seed,
    )
    base_spec, head_spec = arm_specs(args, root)
    out_dir = Path(args.out_dir) if args.out_dir else None
    started = time.monotonic()
    db = common.db_path(args, root)
    with (
        contextlib.nullcontext() if args.no_history else history.History(db) as hist,
        arms.prepare(base_spec, head_spec, repo=root) as (base, head),
        tempfile.TemporaryDirectory(prefix="ttfb-shrunk-") as workdir,
    ):
        targets = targets_for(args, base, head, scenarios_dir, Path(workdir), hist)
        log_path = (
            Path(args.samples)
            if args.samples
            else (
                out_dir / "samples.jsonl"
                if out_dir
                else common.samples_path(args, "compare", several=False)
            )
        )
        meta = {"command": "compare", "base": base.to_json(), "head": head.to_json()}
        with results.SampleLog(log_path, meta) as log:
            outcomes = compare.run_compare(
                targets,
                policy=policy,
                executor=common.executor(args),
                budget_s=args.budget_s,
                family_size=args.family_size,
                log=log,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
        if not args.no_depmap:
            path = args.depmap or depmap.default_path(root)
            changed = changed_files(base.revision, head.revision, root)
            for outcome in outcomes:
                if outcome.primary is not None and outcome.target.base is not None:
                    depmap.record_samples(
                        path,
                        outcome.target.name,
                        [p.head for p in outcome.primary.pairs],
                        revision=head.revision or git.head_revision(root),
                        verdict=outcome.verdict.verdict,
                        changed=changed,
                    )
        doc = compare.results_document(
            outcomes,
            base=base,
            head=head,
            policy=policy,
            elapsed_s=time.monotonic() - started,
            extra={"samples_log": str(log_path)},
        )
        if hist is not None:
            record_compare(hist, doc, outcomes, runner=thresholds.runner_label(args.runner))
    if args.json:
        results.write_json(args.json, doc)
    if out_dir:
        for path in outputs.write_compare_outputs(doc, out_dir):
            print(f"wrote {path}", file=sys.stderr)
    print(report.render_compare_text(doc), end="")
    return outputs.exit_code(doc, gate=args.gate)


def changed_files(base_rev: str | None, head_rev: str | None, root: Path) -> list[str]:
    """Every path a revision compare changed (both names of a rename), so selection learns
    which files' changes move which scenario; nothing for other kinds of compare."""
    if not base_rev or not head_rev or base_rev == head_rev:
        return []
    return [
        p
        for _, new, old in git.changed_paths(base_rev, head_rev, cwd=root)
        for p in (new, old)
        if p
    ]


def record_compare(hist: history.History, doc: dict, outcomes: list, *, runner: str) -> None:
    """One history run per scenario: its pairs and its comparison."""
    by_name = {s["name"]: s for s in doc["scenarios"]}
    for o in outcomes:
        rows = []
        if o.primary is not None:
            rows = history.record_pairs(o.primary.pairs, stage="primary")
            rows += history.record_pairs(o.confirmation_pairs, stage="confirm")
        hist.record_run(
            "compare",
            scenario=o.target.name,
            base_rev=doc["base"].get("revision"),
            head_rev=doc["head"].get("revision"),
            runner=runner,
            machine=doc.get("machine"),
            samples=rows,
            comparison=by_name[o.target.name],
        )


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "compare",
        parents=parents,
        help="A/B base vs head: revisions, commands, interpreters or environments",
        description=(
            "Compare TTFB of base and head with paired, adaptive, confirmed statistics. Arms: "
            "--base/--head REV (default base: merge-base with the default branch), "
            "--base-cmd/--head-cmd, --base-env/--head-env K=V, --base-python/--head-python."
        ),
    )
    c.add_argument("--base", metavar="REV", help="base revision (own worktree)")
    c.add_argument("--head", metavar="REV", help="head revision (default HEAD)")
    c.add_argument("--base-cmd", metavar="CMD", help="base command (shell-split)")
    c.add_argument("--head-cmd", metavar="CMD", help="head command (shell-split)")
    c.add_argument("--base-env", action="append", metavar="K=V", help="repeatable")
    c.add_argument("--head-env", action="append", metavar="K=V", help="repeatable")
    c.add_argument("--base-python", metavar="PATH", help="base interpreter")
    c.add_argument("--head-python", metavar="PATH", help="head interpreter")
    c.add_argument("--scenario", action="append", metavar="NAME_OR_PATH", help="repeatable")
    c.add_argument("--all", action="store_true", help="every scenario in --scenarios-dir")
    c.add_argument("--name", help="name of the ad-hoc command comparison")
    c.add_argument(
        "--pairs",
        type=common.positive_int,
        default=10,
        help="pairs at the first look (default 10); looks double from there",
    )
    c.add_argument(
        "--max-pairs",
        type=common.positive_int,
        default=80,
        help="pairs at the last look (default 80)",
    )
    c.add_argument(
        "--budget-s",
        type=common.positive_float,
        metavar="S",
        help="wall-clock budget for the whole comparison",
    )
    c.add_argument(
        "--alpha",
        type=common.probability,
        default=0.01,
        help="family-wise significance level (default 0.01)",
    )
    c.add_argument(
        "--confirm-alpha",
        type=common.probability,
        default=0.05,
        help="one-sided level of the confirmation run (default 0.05)",
    )
    c.add_argument(
        "--threshold-pct",
        type=common.nonneg_float,
        metavar="PCT",
        help="override every scenario's threshold.floor_pct",
    )
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    c.add_argument(
        "--family-size",
        type=common.positive_int,
        metavar="N",
        help="scenarios compared in the whole run, when jobs split them",
    )
    c.add_argument("--timeout", type=common.positive_float, metavar="S", help="per sample")
    c.add_argument("--stop", type=common.parse_stop, help="first_batch (default), exit, steps:K")
    c.add_argument(
        "--first-batch",
        type=common.detect_mode,
        help="auto, mark, forward, dataloader or mark:NAME",
    )
    c.add_argument("--out-dir", metavar="DIR", help="write results.json, comment.md and plots")
    c.add_argument("--samples", metavar="PATH", help="JSONL sample log")
    c.add_argument(
        "--gate", action="store_true", help="exit 1 on a confirmed regression or a broken scenario"
    )
    c.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS... (both arms)")
    c.add_argument(
        "--depmap",
        metavar="PATH",
        help="dependency map: a history database or a .json file (default: the history)",
    )
    c.add_argument("--no-depmap", action="store_true", help="do not record imported files")
    common.add_history_args(c, no_history="do not read or write history", runner=True)
    c.set_defaults(func=run)
