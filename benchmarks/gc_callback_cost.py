"""What the probe's garbage-collection timer costs a measured job.

The probe registers ``_GcTime`` in ``gc.callbacks`` of every measured process: two calls per
collection (start, stop). This times ``--collections`` young-generation collections (the
commonest kind, and the cheapest, so the callback's share is largest) without and with it, in
``--rounds`` alternating rounds, and prints the cost per collection; then the collections of
one real start-up (``--command``, run once under the probe, which reports their number) times
that cost.

    .venv/bin/python benchmarks/gc_callback_cost.py [--collections 20000] [--rounds 5]
        [--command "python -m examples.trainer.train --config examples/configs/ranker.yaml"]
"""

from __future__ import annotations

import argparse
import gc
import shlex
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bot" / "probe" / "site"))

import _ttfb_probe  # noqa: E402

from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.model import Job  # noqa: E402
from bot.report.fmt import text_table  # noqa: E402


def per_collection_us(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        gc.collect(0)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--command",
        default="python -m examples.trainer.train --config examples/configs/ranker.yaml",
        help="a start-up whose collections are counted (run once, to its first batch)",
    )
    args = parser.parse_args()
    timer = _ttfb_probe._GcTime()
    without, with_timer = [], []
    for _ in range(args.rounds):
        without.append(per_collection_us(args.collections))
        gc.callbacks.append(timer)
        try:
            with_timer.append(per_collection_us(args.collections))
        finally:
            gc.callbacks.remove(timer)
    costs = [w - b for b, w in zip(without, with_timer, strict=True)]
    cost = statistics.median(costs)
    argv = shlex.split(args.command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    sample = ProcessExecutor().run(Job(argv=tuple(argv), cwd=REPO, root=REPO, timeout_s=600))
    rows = [
        ["what", "value"],
        ["young collection, no callback", f"{statistics.median(without):.2f} µs"],
        ["young collection, with the probe's timer", f"{statistics.median(with_timer):.2f} µs"],
        ["timer's cost per collection (median of rounds)", f"{cost:.2f} µs"],
        ["  rounds", ", ".join(f"{c:+.2f}" for c in costs)],
    ]
    if sample.ok and sample.gc_collections is not None and sample.ttfb_s:
        total_ms = cost * sample.gc_collections / 1000
        rows += [
            ["start-up", args.command],
            ["  TTFB", f"{sample.ttfb_s:.2f} s"],
            ["  collections before the first batch", f"{sample.gc_collections}"],
            ["  their time", f"{(sample.gc_s or 0) * 1000:.0f} ms"],
            [
                "  the timer's cost over them",
                f"{total_ms:.2f} ms ({total_ms / (sample.ttfb_s * 1000) * 100:.3f}% of TTFB)",
            ],
        ]
    else:
        rows.append(["start-up", f"{args.command}: {sample.status} {sample.error or ''}"])
    print(text_table(rows))


if __name__ == "__main__":
    main()
