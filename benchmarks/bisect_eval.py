"""Bisect accuracy and cost on ranges of 8, 16 and 32 commits, culprit at random positions.

Each bisect step is a full ``ttfb compare`` (adaptive looks, confirmation, corrections) run by
the real engine on real noise: resampled A/A blocks of an example scenario, recorded once by
``benchmarks/sensitivity.py`` (the same pool), with a blocking delay planted in every commit
from the culprit on. ``--where`` picks the phase the delay lands in.

    .venv/bin/python benchmarks/bisect_eval.py [--trials 30] [--effect-pct 5]
        [--pool out/bench/pool-ranker-cpu.jsonl] [--where start-up]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sensitivity import PLACES, load_pool  # noqa: E402
from bot.ab.engine import compare  # noqa: E402
from bot.ab.targets import Target  # noqa: E402
from bot.bisect import search as bisect  # noqa: E402
from bot.bisect.steps import step_result  # noqa: E402
from bot.exec.resample import BlockResampler, Plant  # noqa: E402
from bot.model import Job  # noqa: E402
from bot.stats.sequential import plan_looks  # noqa: E402
from bot.stats.verdict import Policy  # noqa: E402


def make_compare(blocks, culprit: int, delay_s: float, phase: str, seed: int, calls: list):
    rng = random.Random(seed)
    job = Job(argv=("python",), cwd=REPO)
    holder = SimpleNamespace(focus=None)  # as RevisionComparer: the bad end sets the focus

    def run(good: str, candidate: str, attempt: int) -> bisect.StepResult:
        a, b = int(good[1:]), int(candidate[1:])
        shift = delay_s * ((b >= culprit) - (a >= culprit))
        executor = BlockResampler(
            blocks, plant=Plant(delay_s=shift, after_phase=phase), seed=rng.randrange(1 << 30)
        )
        policy = Policy(looks=plan_looks(10, 20 * 2**attempt))
        target = Target("sim", job, job, threshold_pct=2.0)
        (o,) = compare([target], policy, executor).outcomes
        calls.append(len(o.primary.pairs) + len(o.confirmation_pairs) if o.primary else 0)
        step, holder.focus = step_result(o, holder.focus)
        return step

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--effect-pct", type=float, default=5.0)
    parser.add_argument(
        "--pool", type=Path, default=REPO / "out" / "bench" / "pool-ranker-cpu.jsonl"
    )
    parser.add_argument("--where", choices=sorted(PLACES), default="start-up (quiet phase)")
    args = parser.parse_args()
    if not args.pool.exists():
        raise SystemExit(f"{args.pool}: record it first with benchmarks/sensitivity.py")
    blocks = load_pool(args.pool)
    ttfb = statistics.median(s.ttfb_s for b in blocks for s in b)
    delay = ttfb * args.effect_pct / 100
    rng = random.Random(2026)
    rows = [
        (
            "commits",
            "trials",
            "culprit found",
            "comparisons (median / max)",
            "clean-data bound ⌈log2 N⌉+2",
            "pairs per bisect (median)",
        )
    ]
    started = time.monotonic()
    for n in (8, 16, 32):
        commits = [f"c{i}" for i in range(n + 1)]
        found, comparisons, pairs = 0, [], []
        for _ in range(args.trials):
            culprit = rng.randint(1, n)
            calls: list[int] = []
            run = make_compare(
                blocks, culprit, delay, PLACES[args.where], rng.randrange(1 << 30), calls
            )
            result = bisect.bisect(commits, run)
            found += result.culprit is not None and result.culprit.commit == commits[culprit]
            comparisons.append(result.comparisons)
            pairs.append(sum(calls))
        rows.append(
            (
                str(n),
                str(args.trials),
                f"{found}/{args.trials} = {100 * found / args.trials:.0f}%",
                f"{statistics.median(comparisons):.0f} / {max(comparisons)}",
                str(bisect.budget(n) + 1),
                f"{statistics.median(pairs):.0f}",
            )
        )
    print(
        f"\nbisect on {len(blocks)} resampled real A/A blocks (median TTFB {ttfb:.2f} s), "
        f"culprit adds +{args.effect_pct:g}% ({delay * 1000:.0f} ms) in {args.where}; "
        f"the bad end is compared too ({time.monotonic() - started:.0f} s)\n"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
