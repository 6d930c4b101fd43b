"""How the dashboard scales: build the site from a synthetic history of 10,000 runs over 50
scenarios, and print the build time and the bytes written (and, with ``--browser``, how long
the heaviest pages take to load and draw in headless Chromium).

The history is made the way the recorder makes it (``History.record_run``), shaped like a
busy repository's: weekly A/A calibrations of every scenario (20 pairs), pull-request compares
of 2–8 scenarios at a time (10 pairs, a confirmation run of 10 more on a finding), release
suites over every release scenario with a bisect per regression, and a few ``measure`` runs;
six phases per sample, a few planted regressions that later get fixed.

    .venv/bin/python benchmarks/dashboard_scale.py [--runs 10000] [--scenarios 50]
        [--out out/bench/dashboard] [--browser /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.dashboard import site  # noqa: E402
from bot.model import Sample, Verdict  # noqa: E402
from bot.report.fmt import text_table  # noqa: E402
from bot.store.history_db import History  # noqa: E402
from bot.store.records import ComparisonRecord, RunRecord, SampleRow  # noqa: E402

PHASES = ("interpreter_ready", "import_torch", "config_loaded", "model_built", "optimizer_created")


def sha(i: int) -> str:
    return hashlib.sha1(f"commit {i}".encode()).hexdigest()


class Synth:
    """A synthetic history: scenario TTFBs that drift, regress at some commits and recover."""

    def __init__(self, scenarios: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = [f"scenario-{i:02d}" for i in range(scenarios)]
        self.runner = {
            n: ("gpu-a100" if i % 10 == 9 else "ubuntu-latest") for i, n in enumerate(self.names)
        }
        self.base_s = {n: self.rng.uniform(1.5, 8.0) for n in self.names}
        self.shift = {n: 0.0 for n in self.names}
        self.commit = 0
        self.clock = 0

    def created(self) -> str:
        self.clock += 1
        day, minute = divmod(self.clock, 1440)
        month, mday = 1 + day // 28 % 12, 1 + day % 28
        return f"2026-{month:02d}-{mday:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"

    def sample(self, name: str, extra: float = 0.0) -> Sample:
        total = (self.base_s[name] + self.shift[name] + extra) * self.rng.lognormvariate(0, 0.06)
        cuts = sorted(self.rng.uniform(0.02, 0.95) for _ in PHASES)
        phases = {p: total * c for p, c in zip(PHASES, cuts, strict=True)}
        phases["first_batch"] = total
        return Sample(status="ok", ttfb_s=total, cpu_s=total * 0.93, phases=phases)

    def pairs(self, name: str, n: int, stage: str, delta: float) -> list[SampleRow]:
        rows = []
        for k in range(n):
            rows.append(SampleRow("base", stage, k // 2, self.sample(name)))
            rows.append(SampleRow("head", stage, k // 2, self.sample(name, delta)))
        return rows

    def compare(self, kind: str, names: list[str], base: str, head: str) -> list[RunRecord]:
        out = []
        for name in names:
            delta = self.rng.choice([0.0] * 12 + [0.25, -0.2])
            rows = self.pairs(name, 10, "primary", delta)
            verdict = Verdict.NO_CHANGE
            if delta:
                rows += self.pairs(name, 10, "confirm", delta)
                verdict = Verdict.REGRESSION if delta > 0 else Verdict.IMPROVEMENT
            elif self.rng.random() < 0.15:
                verdict = Verdict.INCONCLUSIVE
            pct = delta / self.base_s[name] * 100
            comparison = ComparisonRecord(
                name,
                verdict,
                pct,
                pct - 1.5,
                pct + 1.5,
                0.004,
                0.006,
                10,
                bool(delta),
                2.0,
                "floor 2%",
                self.base_s[name],
                self.base_s[name] + delta,
            )
            out.append(
                RunRecord(
                    kind,
                    name,
                    base,
                    head,
                    samples=tuple(rows),
                    comparison=comparison,
                    created=self.created(),
                    runner=self.runner[name],
                )
            )
        return out

    def runs(self, total: int) -> list[RunRecord]:
        out: list[RunRecord] = []
        while len(out) < total:
            self.commit += 1
            step = self.rng.random()
            if step < 0.04:  # the weekly calibration of every scenario
                for name in self.names:
                    rows = self.pairs(name, 20, "aa", 0.0)
                    out.append(
                        RunRecord(
                            "calibrate",
                            name,
                            sha(self.commit),
                            sha(self.commit),
                            samples=tuple(rows),
                            created=self.created(),
                            runner=self.runner[name],
                        )
                    )
            elif step < 0.06:  # a release suite
                release = [n for n in self.names if n.endswith(("0", "5"))]
                runs = self.compare("release", release, sha(self.commit - 30), sha(self.commit))
                out += runs
                for r in runs:
                    if r.comparison and r.comparison.verdict is Verdict.REGRESSION:
                        out.append(self.bisect(r))
            elif step < 0.1:
                name = self.rng.choice(self.names)
                rows = tuple(SampleRow("", "sample", k, self.sample(name)) for k in range(10))
                out.append(
                    RunRecord(
                        "measure",
                        name,
                        head_rev=sha(self.commit),
                        samples=rows,
                        created=self.created(),
                        runner=self.runner[name],
                    )
                )
            else:  # a pull request
                chosen = self.rng.sample(self.names, self.rng.randint(2, 8))
                out += self.compare("compare", chosen, sha(self.commit - 1), sha(self.commit))
                if self.rng.random() < 0.2:  # merged: the default branch moves
                    name = self.rng.choice(chosen)
                    self.shift[name] += self.rng.choice([0.2, -0.15, 0.05])
        return out[:total]

    def bisect(self, run: RunRecord) -> RunRecord:
        culprit = sha(self.commit - 7)
        doc = {
            "version": 1,
            "kind": "ttfb-bisect",
            "scenario": run.scenario,
            "good": run.base_rev,
            "bad": run.head_rev,
            "commits": 30,
            "culprits": [
                {
                    "commit": culprit,
                    "subject": "Load the tokenizer eagerly",
                    "position": 23,
                    "effect_pct": 4.1,
                    "delta_pct": 4.3,
                }
            ],
            "ambiguous": [],
            "skipped": [],
            "comparisons": 6,
            "total_pct": 4.3,
            "unexplained_pct": 0.2,
            "notes": [],
            "drawing": f"✓ {str(run.base_rev)[:10]}  good (baseline)\n◆ {culprit[:10]}  culprit",
            "steps": [
                {
                    "step": 1,
                    "good": run.base_rev,
                    "commit": culprit,
                    "attempt": 0,
                    "judged": "regressed",
                    "verdict": "regression",
                    "delta_pct": 4.1,
                    "ci_low_pct": 2.0,
                    "ci_high_pct": 6.0,
                    "p": 0.001,
                    "pairs": 20,
                    "error": None,
                }
            ],
        }
        return RunRecord(
            "bisect",
            run.scenario,
            run.base_rev,
            run.head_rev,
            doc=doc,
            learn=False,
            created=self.created(),
            runner=run.runner,
        )


def synthetic_history(path: Path, *, runs: int, scenarios: int, seed: int = 1) -> int:
    """Write ``runs`` synthetic runs to a new history at ``path``; returns the samples written."""
    path.unlink(missing_ok=True)
    samples = 0
    with History(path) as h:
        h.db.execute("PRAGMA synchronous=OFF")
        for run in Synth(scenarios, seed).runs(runs):
            h.record_run(run)
            samples += len(run.samples)
    return samples


def page_timings(out: Path, chromium: str) -> list[list[str]]:
    """Load time of the overview, the largest scenario page and the comparisons list."""
    from playwright.sync_api import sync_playwright

    biggest = max(
        (out / "data").glob("*.js"),
        key=lambda p: p.stat().st_size if p.name != "comparisons.js" else 0,
    )
    pages = [
        ("overview", out / "index.html"),
        (f"scenario ({biggest.stem})", out / "scenarios" / f"{biggest.stem}.html"),
        ("comparisons", out / "comparisons.html"),
    ]
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in pages:
            started = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            rows.append([name, f"{(time.perf_counter() - started) * 1000:.0f} ms"])
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench" / "dashboard")
    parser.add_argument(
        "--browser", metavar="CHROMIUM", help="also time page loads in this Chromium"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / "history.sqlite"
    started = time.perf_counter()
    samples = synthetic_history(db, runs=args.runs, scenarios=args.scenarios)
    made = time.perf_counter() - started
    target = args.out / "site"
    if target.exists() and not (target / site.MARKER).exists():
        shutil.rmtree(target)
    started = time.perf_counter()
    built = site.build(db, target, site.Options())
    took = time.perf_counter() - started
    data = sorted((target / "data").glob("*.js"), key=lambda p: p.stat().st_size)
    series = [p for p in data if p.name != "comparisons.js"]
    reports = list((target / "reports").glob("*.html"))
    size = lambda p: f"{p.stat().st_size / 1024:.0f} KB"  # noqa: E731
    rows = [
        [
            "history",
            f"{args.runs} runs, {args.scenarios} scenarios, {samples} samples, "
            f"{db.stat().st_size / 1e6:.0f} MB (made in {made:.0f} s)",
        ],
        ["build time", f"{took:.1f} s"],
        ["written", f"{built.files} files, {built.bytes / 1e6:.1f} MB"],
        [
            "scenario pages",
            f"{built.series} (data per page: median {size(series[len(series) // 2])}, "
            f"largest {size(series[-1])})",
        ],
        ["overview (index.html)", size(target / "index.html")],
        ["comparisons data", size(target / "data" / "comparisons.js")],
        ["reports", f"{len(reports)} pages, {sum(p.stat().st_size for p in reports) / 1e6:.1f} MB"],
        ["vendored uPlot", size(target / "static" / "vendor" / "uPlot.iife.min.js")],
    ]
    if args.browser:
        rows += [[f"load + draw: {name}", ms] for name, ms in page_timings(target, args.browser)]
    print(text_table([["", "dashboard at scale"], *rows]))


if __name__ == "__main__":
    main()
