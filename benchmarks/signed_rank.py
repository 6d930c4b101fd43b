"""How long one signed-rank p-value takes when the pairs have ties or a zero.

scipy's ``wilcoxon`` answers such data with an exact permutation test for up to 13 pairs,
recomputing the ranks for each of the 2**n sign flips; ``bot.stats.paired.wilcoxon_p`` counts
the flips by their rank sums instead (``_sign_flip_p``). The engine computes this p-value for
whole TTFB and for every phase at every look; a phase that takes no time in some pairs gives
zeros, and scripted samples give ties (one run of the test suite took the permutation path
126 times). For each pair count this prints the CPU time per p-value of both and whether they
agree.

    .venv/bin/python benchmarks/signed_rank.py [--repeat 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from bot.stats.paired import wilcoxon_p


def per_call_ms(fn, x: np.ndarray, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn(x)
    return (time.process_time() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="calls timed per cell")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'pairs':>5} {'scipy ms':>10} {'ttfb ms':>9} {'speed-up':>9}  same p")
    for n in (4, 6, 8, 10, 12, 13):
        x = rng.integers(1, 6, n) * rng.choice([-1.0, 1.0], n) / 100
        x[0] = 0.0  # a zero: the permutation path whatever the ties
        theirs = float(stats.wilcoxon(x, zero_method="wilcox").pvalue)
        ours = wilcoxon_p(x)
        slow = per_call_ms(stats.wilcoxon, x, args.repeat)  # zero_method="wilcox" is its default
        fast = per_call_ms(wilcoxon_p, x, args.repeat * 20)
        same = ours is not None and abs(ours - theirs) <= 1e-12 * theirs
        print(f"{n:>5} {slow:>10.2f} {fast:>9.3f} {slow / fast:>8.0f}x  {same}")


if __name__ == "__main__":
    main()
