"""Probe overhead, two ways, on one example scenario.

1. **End to end.** The scenario's command run to exit with and without the probe (the probe
   arm with ``stop: exit``, so it records everything but does not cut the run short), in ABBA
   order, timed from outside: wall from spawn to exit, CPU from ``wait4`` rusage. Honest but
   blunt: on a shared 2-core machine the paired sd is ~10%, so 24 pairs resolve ±4%.
2. **Self-time.** With ``TTFB_LAB_SELF_TIME=1`` the probe accounts the time spent in its own
   code before the first batch (start-up in ``sitecustomize``, every audit-hook call, the torch
   hooks, resource snapshots). This resolves well under 1% of TTFB. It does not include the
   interpreter's own cost of one more ``PYTHONPATH`` entry, which is a cached directory lookup.

    .venv/bin/python benchmarks/probe_overhead.py [--scenario ranker-cpu] [--pairs 24]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import probe  # noqa: E402
from bot.ab.targets import scenario_job  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.exec.spawn import clock_ns, end_group, probe_env  # noqa: E402
from bot.model import Job  # noqa: E402
from bot.scenarios import find  # noqa: E402
from bot.stats import paired as stats  # noqa: E402


def run_once(job: Job, *, with_probe: bool, tmp: Path) -> tuple[float, float, float | None]:
    """(wall to exit, user+sys CPU, probe TTFB or None) of one run to completion."""
    out = tmp / "probe.json"
    for stale in tmp.glob("probe.json*"):
        stale.unlink()
    t0 = clock_ns()
    env = probe_env(job, out, t0) if with_probe else {**os.environ, **job.env}
    with open(tmp / "log", "wb") as log:
        proc = subprocess.Popen(
            list(job.argv),
            cwd=job.cwd,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = (clock_ns() - t0) / 1e9
    proc.returncode = os.waitstatus_to_exitcode(status)
    end_group(proc.pid)
    if proc.returncode != 0:
        raise SystemExit(f"run failed (exit {proc.returncode}): see {tmp / 'log'}")
    ttfb = None
    if with_probe:
        import json

        ttfb = json.loads(out.read_text())["first_batch_s"]
    return wall, usage.ru_utime + usage.ru_stime, ttfb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="ranker-cpu")
    parser.add_argument("--pairs", type=int, default=24)
    parser.add_argument("--self-runs", type=int, default=10)
    args = parser.parse_args()

    scenario = find(args.scenario, REPO / "scenarios")
    shrunk = Path(tempfile.mkdtemp(prefix="ttfb-bench-"))  # shrunk configs, if any
    job = scenario_job(scenario, root=REPO, python=sys.executable, workdir=shrunk)
    job = replace(job, stop="exit")
    plain: list[tuple[float, float]] = []
    probed: list[tuple[float, float]] = []
    ttfbs: list[float] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ttfb-overhead-") as d:
        tmp = Path(d)
        run_once(job, with_probe=False, tmp=tmp)  # warm-up, discarded
        run_once(job, with_probe=True, tmp=tmp)
        for i in range(args.pairs):
            order = (False, True) if i % 2 == 0 else (True, False)  # ABBA blocks
            for with_probe in order:
                wall, cpu, ttfb = run_once(job, with_probe=with_probe, tmp=tmp)
                (probed if with_probe else plain).append((wall, cpu))
                if ttfb is not None:
                    ttfbs.append(ttfb)
            print(f"pair {i + 1}/{args.pairs}", file=sys.stderr, end="\r")
    elapsed = time.monotonic() - started

    pw, pc = np.array([p[0] for p in plain]), np.array([p[1] for p in plain])
    qw, qc = np.array([p[0] for p in probed]), np.array([p[1] for p in probed])
    wall = stats.Estimator(0.05).ratio(pw, qw, seed=1)
    cpu = stats.Estimator(0.05).ratio(pc, qc, seed=2)
    ttfb = statistics.median(ttfbs)
    diff = stats.Estimator(0.05).difference(pw, qw, scale_s=ttfb, seed=3)

    print(
        f"\nprobe overhead on {scenario.name} ({args.pairs} ABBA pairs, "
        f"{elapsed:.0f} s, probe on PYTHONPATH vs not)\n"
    )
    rows = [
        ("metric", "without probe", "with probe", "overhead (95% CI)", "p (t)"),
        (
            "wall to exit",
            f"{np.median(pw):.3f} s",
            f"{np.median(qw):.3f} s",
            f"{wall.delta_pct:+.2f}% ({wall.ci_low_pct:+.2f}% to {wall.ci_high_pct:+.2f}%)",
            f"{wall.p_ttest:.3f}" if wall.p_ttest is not None else "–",
        ),
        (
            "CPU to exit",
            f"{np.median(pc):.3f} s",
            f"{np.median(qc):.3f} s",
            f"{cpu.delta_pct:+.2f}% ({cpu.ci_low_pct:+.2f}% to {cpu.ci_high_pct:+.2f}%)",
            f"{cpu.p_ttest:.3f}" if cpu.p_ttest is not None else "–",
        ),
        (
            "as % of TTFB",
            f"TTFB {ttfb:.3f} s",
            "",
            f"{diff.delta_pct:+.2f}% = {diff.delta_s * 1000:+.1f} ms "
            f"({diff.ci_low_s * 1000:+.1f} to {diff.ci_high_s * 1000:+.1f} ms)",
            f"{diff.p_ttest:.3f}" if diff.p_ttest is not None else "–",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"\npaired log-ratio sd: wall {wall.sd * 100:.1f}%, CPU {cpu.sd * 100:.1f}%")

    timed = replace(job, stop="first_batch", env={**job.env, probe.ENV_SELF_TIME: "1"})
    samples = [ProcessExecutor().run(timed) for _ in range(args.self_runs)]
    ok = [s for s in samples if s.ok and s.probe_self_s is not None and s.ttfb_s]
    if not ok:
        raise SystemExit("self-time runs failed: " + "; ".join(str(s.error) for s in samples))
    own = [s.probe_self_s or 0.0 for s in ok]
    share = [100 * (s.probe_self_s or 0.0) / (s.ttfb_s or 1.0) for s in ok]
    print(f"\nprobe self-time before the first batch ({len(ok)} runs, TTFB_LAB_SELF_TIME=1)")
    print(
        f"  median {statistics.median(own) * 1000:.1f} ms "
        f"(range {min(own) * 1000:.1f}–{max(own) * 1000:.1f} ms) = "
        f"{statistics.median(share):.2f}% of TTFB (max {max(share):.2f}%)"
    )


if __name__ == "__main__":
    main()
