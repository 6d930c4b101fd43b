"""Compute saved by the shrinker, per example scenario.

For each CPU scenario: its production command run to completion (with the probe, ``stop:
exit``, so its TTFB and phases are recorded too; CPU from ``wait4``, reaped DataLoader workers
included) against the scenario as TTFB Lab runs it (shrunk, stopped at the first batch; CPU
from the probe, live workers included). The phase table shows which parts of start-up the
shrink kept and which it made smaller.

    .venv/bin/python benchmarks/shrink_savings.py [--shrunk-runs 3] [--scenario NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.ab.targets import scenario_job  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.exec.spawn import clock_ns, end_group, probe_env  # noqa: E402
from bot.model import Job  # noqa: E402
from bot.scenarios import load_all  # noqa: E402

PHASES = (
    "import_torch",
    "data_ready",
    "model_built",
    "optimizer_created",
    "first_dataloader_batch",
    "first_batch",
)


def production_run(argv: list[str], tmp: Path) -> dict:
    """Run to completion with the probe; return wall, CPU (wait4) and the probe report."""
    out = tmp / "probe.json"
    for stale in tmp.glob("probe.json*"):  # a leftover claim would stop this run's report
        stale.unlink()
    job = Job(argv=tuple(argv), cwd=REPO, root=REPO, stop="exit")
    t0 = clock_ns()
    env = probe_env(job, out, t0)
    with open(tmp / "log", "wb") as log:
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = (clock_ns() - t0) / 1e9
    end_group(proc.pid)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"production run failed: {(tmp / 'log').read_text()[-500:]}")
    report = json.loads(out.read_text())
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "ttfb": report["first_batch_s"],
        "phases": report["phases"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shrunk-runs", type=int, default=3)
    parser.add_argument("--scenario", action="append")
    args = parser.parse_args()
    scenarios = [s for s in load_all(REPO / "scenarios") if not s.needs_gpu]
    if args.scenario:
        scenarios = [s for s in scenarios if s.name in args.scenario]

    rows = [
        (
            "scenario",
            "production CPU-s (to completion)",
            "shrunk CPU-s (to 1st batch)",
            "saved",
            "production TTFB",
            "shrunk TTFB",
            "changes",
        )
    ]
    phase_rows = [("scenario", "phase segment", "production", "shrunk")]
    production_cache: dict[tuple[str, ...], dict] = {}
    with tempfile.TemporaryDirectory(prefix="ttfb-savings-") as d:
        tmp = Path(d)
        for scenario in scenarios:
            argv = scenario.command_for(sys.executable)
            key = tuple(argv)
            if key not in production_cache:
                print(f"{scenario.name}: production run to completion…", file=sys.stderr)
                production_cache[key] = production_run(argv, tmp)
            prod = production_cache[key]
            job = scenario_job(scenario, root=REPO, workdir=tmp)
            samples = [ProcessExecutor().run(job) for _ in range(args.shrunk_runs)]
            ok = [s for s in samples if s.ok]
            if not ok:
                raise SystemExit(f"{scenario.name}: shrunk runs failed: {samples[0].error}")
            cpu = statistics.median(s.cpu_s or 0.0 for s in ok)
            ttfb = statistics.median(s.ttfb_s or 0.0 for s in ok)
            changes = len(job.shrink["changes"]) if job.shrink else 0
            rows.append(
                (
                    scenario.name,
                    f"{prod['cpu']:.1f}",
                    f"{cpu:.2f}",
                    f"{100 * (1 - cpu / prod['cpu']):.1f}%",
                    f"{prod['ttfb']:.2f} s",
                    f"{ttfb:.2f} s",
                    str(changes),
                )
            )
            previous_p = previous_s = 0.0
            for phase in PHASES:
                if phase not in prod["phases"]:
                    continue
                shrunk_t = statistics.median(s.phases.get(phase, 0.0) for s in ok)
                phase_rows.append(
                    (
                        scenario.name,
                        f"→ {phase}",
                        f"{prod['phases'][phase] - previous_p:.3f} s",
                        f"{shrunk_t - previous_s:.3f} s",
                    )
                )
                previous_p, previous_s = prod["phases"][phase], shrunk_t

    for table in (rows, phase_rows):
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        print()
        for r in table:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
