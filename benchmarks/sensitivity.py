"""Sensitivity of ``ttfb compare`` on an example scenario: A/A false positives and detection.

Real A/A compares cost minutes each on a 2-core machine, so most numbers come from the real
engine run on real noise: a pool of A/A blocks of the scenario (four samples of the same
revision recorded back to back, the unit an ABBA block sees) is recorded once, then whole blocks
are resampled with replacement (``bot.exec.resample.BlockResampler``) and fed to the unchanged
schedule, statistics, corrections and confirmation. Planted regressions add a blocking delay of
a given share of the median TTFB to the head samples, either early in start-up (a quiet phase)
or inside optimizer construction (the noisiest phase, where only whole-TTFB power helps).
``--real N`` also runs N real A/A and N real +10% compares end to end as a cross-check.

    .venv/bin/python benchmarks/sensitivity.py [--scenario ranker-cpu] [--blocks 40]
        [--pool out/bench/pool-ranker-cpu.jsonl] [--aa 200] [--trials 100] [--real 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.ab.engine import compare  # noqa: E402
from bot.ab.schedule import Scheduler  # noqa: E402
from bot.ab.targets import Target, scenario_job  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.exec.resample import BlockResampler, Plant, blocks_from_log  # noqa: E402
from bot.model import Job  # noqa: E402
from bot.scenarios import find  # noqa: E402
from bot.stats.sequential import plan_looks  # noqa: E402
from bot.stats.verdict import Policy  # noqa: E402
from bot.store.versioned import SampleLog, read_sample_log  # noqa: E402

PLACES = {
    "start-up (quiet phase)": "interpreter_ready",
    "optimizer construction (noisiest phase)": "model_built",
}


def record_pool(job: Job, blocks: int, path: Path) -> None:
    """Record ``blocks`` A/A blocks of four real samples each."""
    sched = Scheduler(job, job, executor=ProcessExecutor(), name="pool")
    with SampleLog(path, {"command": "sensitivity-pool", "argv": list(job.argv)}) as log:
        sched.log = log
        sched.warm_up()
        for b in range(blocks):
            _, broken = sched.block(b, reverse=False, stage="pool")
            if broken:
                raise SystemExit(f"pool block {b} failed: {broken}")
            print(f"pool block {b + 1}/{blocks}", file=sys.stderr, end="\r")


def load_pool(path: Path) -> list[list]:
    import json

    _, samples = read_sample_log(path)
    lines = path.read_text().splitlines()[1:]
    stages = [json.loads(line) for line in lines[: len(samples)]]
    keep = [(s, x["block"]) for s, x in zip(samples, stages, strict=True) if x["stage"] == "pool"]
    return blocks_from_log([s for s, _ in keep], [b for _, b in keep])


def one_compare(executor, job: Job, policy: Policy) -> tuple[str, int]:
    target = Target("sim", job, job, threshold_pct=2.0)
    (outcome,) = compare([target], policy, executor).outcomes
    pairs = len(outcome.primary.pairs) + len(outcome.confirmation_pairs) if outcome.primary else 0
    return outcome.verdict.value, pairs


def rate(verdicts: list[str], want: str) -> str:
    return f"{100 * sum(v == want for v in verdicts) / len(verdicts):.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="ranker-cpu")
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--pool", type=Path)
    parser.add_argument("--aa", type=int, default=200)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--real", type=int, default=0)
    args = parser.parse_args()

    scenario = find(args.scenario, REPO / "scenarios")
    shrunk = Path(tempfile.mkdtemp(prefix="ttfb-bench-"))  # shrunk configs, if any
    job = scenario_job(scenario, root=REPO, workdir=shrunk)
    pool_path = args.pool or REPO / "out" / "bench" / f"pool-{scenario.name}.jsonl"
    if not pool_path.exists():
        pool_path.parent.mkdir(parents=True, exist_ok=True)
        record_pool(job, args.blocks, pool_path)
    blocks = load_pool(pool_path)
    ttfb = statistics.median(s.ttfb_s for b in blocks for s in b)
    policy = Policy(looks=plan_looks(10, 80))
    started = time.monotonic()

    rows = [
        (
            "planted",
            "where",
            "compares",
            "regression",
            "no change",
            "inconclusive",
            "median pairs (primary+confirm)",
        )
    ]
    verdicts, pairs = [], []
    for seed in range(args.aa):
        v, n = one_compare(BlockResampler(blocks, seed=seed), job, policy)
        verdicts.append(v)
        pairs.append(n)
    false_pos = sum(v in ("regression", "improvement") for v in verdicts)
    rows.append(
        (
            "none (A/A)",
            "–",
            str(args.aa),
            f"{100 * false_pos / args.aa:.1f}% (any call)",
            rate(verdicts, "no_change"),
            rate(verdicts, "inconclusive"),
            f"{statistics.median(pairs):.0f}",
        )
    )
    for pct in (2, 3, 5, 10):
        for where, phase in PLACES.items():
            plant = Plant(delay_s=ttfb * pct / 100, after_phase=phase)
            verdicts, pairs = [], []
            for seed in range(args.trials):
                v, n = one_compare(
                    BlockResampler(blocks, plant=plant, seed=10_000 + seed), job, policy
                )
                verdicts.append(v)
                pairs.append(n)
            rows.append(
                (
                    f"+{pct}% ({plant.delay_s * 1000:.0f} ms)",
                    where,
                    str(args.trials),
                    rate(verdicts, "regression"),
                    rate(verdicts, "no_change"),
                    rate(verdicts, "inconclusive"),
                    f"{statistics.median(pairs):.0f}",
                )
            )
    elapsed = time.monotonic() - started

    print(
        f"\nsensitivity of ttfb compare on {scenario.name}: {len(blocks)} real A/A blocks "
        f"({4 * len(blocks)} samples, median TTFB {ttfb:.2f} s), resampled; "
        f"defaults: alpha 0.01, looks {list(policy.looks)}, threshold 2%, confirmation on\n"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"\n({elapsed:.0f} s of simulation)")

    if args.real:
        print("\nreal end-to-end compares (processes):")
        delay = ttfb * 0.10
        head = replace(
            job,
            argv=(
                job.argv[0],
                "-c",
                f"import time, runpy, sys; time.sleep({delay:.3f}); "
                "sys.argv = ['train', *sys.argv[1:]]; "
                "runpy.run_module('examples.trainer.train', run_name='__main__')",
                *job.argv[3:],
            ),
            label="head",
        )
        for name, head_job in (("A/A", replace(job, label="head")), ("+10%", head)):
            for i in range(args.real):
                target = Target(name, replace(job, label="base"), head_job, threshold_pct=2.0)
                t0 = time.monotonic()
                (o,) = compare([target], policy, ProcessExecutor()).outcomes
                n = len(o.primary.pairs) + len(o.confirmation_pairs) if o.primary else 0
                print(
                    f"  {name} #{i + 1}: {o.verdict} after {n} pairs "
                    f"({time.monotonic() - t0:.0f} s): {o.decision.reason}"
                )


if __name__ == "__main__":
    main()
