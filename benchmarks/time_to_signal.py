"""Time to signal: the wall time of ``ttfb compare`` with default settings, and how much of it
was counting, on real code changes planted in a scratch copy of the example repository.

Cases (``--cases``, comma-separated):

- ``ranker-aa``: the bundled ranker, a text change (A/A);
- ``ranker-sleep``: a blocking 300 ms call in the ranker's start-up (wall time must find it);
- ``ranker-hook``: an import hook (a ``sys.meta_path`` finder, as instrumentation installs)
  tuned to add about 3% to the start-up's instructions, spread over every import;
- ``gpt-eval``: the gpt example with an evaluation of 200 batches at step 0
  (``--eval_iters=100``), text change;
- ``lightning`` and ``hf``: the framework scenarios, text change;
- ``pr``: a whole PR check with the PR workflow's settings on a change to the ranker's data
  code: ``ttfb select`` (tag pr), then each selected scenario timed (``--instructions off``)
  one after another, and counted by ``ttfb gh count`` (in CI a job of its own, run here after
  the timing); the signal arrives at select + max(timing, counting).

Each compare runs as a subprocess of ``--ttfb`` (a checkout of TTFB Lab: this one by default,
or an older revision for a "before" column, put on ``PYTHONPATH``), stopped after
``--limit-min``. Counting time is read from the progress lines (from a "counting" line to the
line that ends it). It prints a table and writes ``results.json`` to ``--out``.

    .venv/bin/python benchmarks/time_to_signal.py [--cases ranker-aa,...] [--ttfb DIR]
        [--limit-min 15] [--out out/bench/time_to_signal] [--hook-turns N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import git  # noqa: E402
from bot.report.fmt import text_table  # noqa: E402

CASES = ("ranker-aa", "ranker-sleep", "ranker-hook", "gpt-eval", "lightning", "hf", "pr")
HOOK = '''
import sys as _sys


class _ImportAudit:
    """Instrumentation-style import hook: a little bookkeeping for every import."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        n = 0
        for _ in range({n}):
            n += 1
        return None


_sys.meta_path.insert(0, _ImportAudit)
'''
FUTURE = "from __future__ import annotations\n"
TRAIN = "examples/trainer/train.py"
TELEMETRY = "examples/trainer/telemetry.py"
RANKER_DATA = "examples/trainer/datasets/ranker.py"


def append(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(path.read_text() + text)


def plant_hook(root: Path, n: int) -> None:
    path = root / TRAIN
    path.write_text(path.read_text().replace(FUTURE, FUTURE + HOOK.replace("{n}", str(n)), 1))


# --- the scratch repository -----------------------------------------------------------------


def build(dest: Path) -> tuple[Path, str]:
    """A git repository of the example (examples/, scenarios/, pyproject.toml); its base."""
    repo = dest / "repo"
    repo.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "runs", "*.bin", "*.pkl")
    shutil.copytree(REPO / "examples", repo / "examples", ignore=ignore)
    shutil.copytree(REPO / "scenarios", repo / "scenarios")
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")
    gpt = (repo / "scenarios" / "gpt-cpu.yaml").read_text()
    eval_cmd = "--device=cpu, --eval_iters=100]"
    (repo / "scenarios" / "gpt-eval.yaml").write_text(
        gpt.replace("name: gpt-cpu", "name: gpt-eval").replace("--device=cpu]", eval_cmd)
    )
    (repo / ".gitignore").write_text("runs/\n__pycache__/\n*.bin\n*.pkl\n")
    git.init_repo(repo)
    return repo, git.commit_all(repo, "Example trainer")


def branch(repo: Path, base: str, name: str, change: Callable[[Path], None]) -> str:
    git.run(["checkout", "-q", "-B", re.sub(r"[^a-z0-9-]+", "-", name), base], cwd=repo)
    change(repo)
    sha = git.commit_all(repo, name)
    git.run(["checkout", "-q", base], cwd=repo)
    return sha


# --- running and timing ---------------------------------------------------------------------


def run_timed(argv: list[str], *, ttfb: Path, cwd: Path, limit_s: float, log: Path) -> dict:
    """Run ``python -m bot.cli ARGV`` of checkout ``ttfb``; wall time, counting time (from its
    progress lines), exit status; stopped (and said so) after ``limit_s``."""
    env = {**os.environ, "PYTHONPATH": str(ttfb), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("TTFB_LAB_INSTRUCTIONS", None)  # default settings
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.monotonic() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code: int | None = proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        code = None
    reader.join(timeout=5)
    wall = time.monotonic() - started
    log.write_text("\n".join(f"{t:8.1f}  {text}" for t, text in lines) + "\n")
    return {"wall_s": wall, "count_s": counting_seconds(lines, wall), "code": code}


COUNTING = re.compile(r": counting|confirming with one more count|counting, \d")


def counting_seconds(lines: list[tuple[float, str]], end: float) -> float:
    """From each line that starts or continues counting to the next line that does not."""
    total, since = 0.0, None
    for t, text in lines:
        if COUNTING.search(text):
            since = t if since is None else since
        elif since is not None:
            total, since = total + t - since, None
    return total + (end - since if since is not None else 0.0)


def verdict_of(out: Path) -> dict:
    path = out / "results.json"
    if not path.exists():
        return {"verdict": "no output", "counts": 0, "pairs": 0}
    (s,) = json.loads(path.read_text())["scenarios"]
    work = s.get("instructions") or {}
    confirm = work.get("confirm") or {}
    counts = len(work.get("base") or ()) + len(work.get("head") or ()) + 2 * bool(confirm)
    note = s.get("instructions_note") or ""
    return {"verdict": s["verdict"], "counts": counts, "pairs": s.get("pairs"), "note": note}


def compare_case(repo: Path, base: str, head: str, scenario: str, args, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    argv = ["compare", "--root", str(repo), "--scenario", scenario, "--base", base]
    argv += ["--head", head, "--out-dir", str(out), "--db", str(out / "history.sqlite")]
    timed = run_timed(argv, ttfb=args.ttfb, cwd=repo, limit_s=args.limit_min * 60, log=out / "log")
    return {**timed, **verdict_of(out)}


def hook_iterations(repo: Path, base: str, args, out: Path) -> int:
    """The loop count that adds ~3% to ranker-cpu's start-up instructions: the base count
    (from the A/A case's results, else one count), imports seen by a meta-path finder, and
    instructions per loop iteration (two counts of a tiny script)."""
    aa = out / "ranker-aa" / "results.json"
    base_count = None
    if aa.exists():
        (s,) = json.loads(aa.read_text())["scenarios"]
        base_count = ((s.get("instructions") or {}).get("base") or [None])[0]
    if base_count is None:
        base_count = 9.0e9  # measured: ttfb measure --scenario ranker-cpu --instructions
    probe = repo / "count_imports.py"
    probe.write_text(
        "import runpy, sys\nseen = [0]\nclass F:\n    @staticmethod\n"
        "    def find_spec(*a):\n        seen[0] += 1\n        return None\n"
        "sys.meta_path.insert(0, F)\nsys.argv = ['train', '--config', "
        "'examples/configs/ranker.yaml', '--validate-only']\n"
        "try:\n    runpy.run_module('examples.trainer.train', run_name='__main__')\n"
        "except SystemExit:\n    pass\nimport torch._dynamo\nprint(seen[0])\n"
    )
    found = subprocess.run(
        [sys.executable, str(probe)], cwd=repo, capture_output=True, text=True, check=True
    )
    probe.unlink()
    finds = int(found.stdout.strip().splitlines()[-1])
    per_iteration = loop_instructions(out)
    print(
        f"ranker-hook: {finds} imports, {per_iteration:.1f} instructions a loop turn, "
        f"base {base_count:,.0f}",
        file=sys.stderr,
    )
    return max(1, round(0.03 * base_count / finds / per_iteration))


def loop_instructions(out: Path) -> float:
    """Instructions per turn of the hook's loop: two counts of a tiny script, 0 and 10^6
    turns, under cachegrind (a few seconds each)."""
    from bot.exec import counters
    from bot.model import Job

    counter = counters.Counter(counters.CACHEGRIND, workdir=out / "loop-counts")
    script = out / "loop.py"
    script.write_text(
        "import sys\nimport ttfb_lab\nn = 0\nfor _ in range(int(sys.argv[1])):\n"
        "    n += 1\nttfb_lab.first_batch()\n"
    )
    got = []
    for turns in (0, 1_000_000):
        job = Job(argv=(sys.executable, str(script), str(turns)), cwd=out, detect="mark")
        count = counter.count(job)
        if count.instructions is None:
            raise SystemExit(f"loop count failed: {count.status}: {count.error}")
        got.append(count.instructions)
    return (got[1] - got[0]) / 1_000_000


def pr_case(repo: Path, base: str, args, out: Path) -> dict:
    """select, then timing of each selected scenario, then counting of each; see the doc."""
    head = branch(
        repo, base, "pr ranker data", lambda r: append(r, RANKER_DATA, "\n# cache the vocab\n")
    )
    out.mkdir(parents=True, exist_ok=True)
    limit = args.limit_min * 60
    sel = run_timed(
        ["select", "--root", str(repo), "--base", base, "--head", head, "--tag", "pr",
         "--budget-cpu-s", "900", "--budget-gpu-s", "0", "--json", str(out / "plan.json")],
        ttfb=args.ttfb, cwd=repo, limit_s=limit, log=out / "select.log",
    )  # fmt: skip
    plan = json.loads((out / "plan.json").read_text())
    chosen = [p["scenario"] for p in plan["selected"]]
    timing, counting, verdicts = 0.0, 0.0, []
    for name in chosen:
        t_out = out / f"time-{name}"
        t_out.mkdir()
        argv = ["compare", "--root", str(repo), "--scenario", name, "--base", base, "--head",
                head, "--out-dir", str(t_out), "--instructions", "off", "--max-pairs", "40",
                "--db", str(out / "history.sqlite")]  # fmt: skip
        run = run_timed(argv, ttfb=args.ttfb, cwd=repo, limit_s=limit, log=t_out / "log")
        timing += run["wall_s"]
        verdicts.append(f"{name}: {verdict_of(t_out)['verdict']}")
        c_out = out / f"count-{name}"
        argv = ["gh", "count", "--root", str(repo), "--scenario", name, "--base", base,
                "--head", head, "--out-dir", str(c_out)]  # fmt: skip
        counting += run_timed(argv, ttfb=args.ttfb, cwd=repo, limit_s=limit, log=c_out / "log")[
            "wall_s"
        ]
    signal = sel["wall_s"] + max(timing, counting)
    return {
        "wall_s": signal,
        "count_s": counting,
        "timing_s": timing,
        "select_s": sel["wall_s"],
        "verdict": "; ".join(verdicts),
        "counts": None,
        "selected": chosen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--ttfb", type=Path, default=REPO, help="checkout of TTFB Lab to run")
    parser.add_argument("--limit-min", type=float, default=15.0)
    parser.add_argument(
        "--hook-turns",
        type=int,
        default=0,
        help="the hook's loop turns an import (default: estimated; the estimate counts the "
        "imports of a whole validate-only run, more than a count to the first forward sees, "
        "so scale it by 3%% / the measured change to hit ~3%%)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench" / "time_to_signal")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        raise SystemExit(f"--cases: unknown {sorted(unknown)}; known: {', '.join(CASES)}")
    args.out = args.out.resolve()  # the compares run in the scratch repository, not here
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ttfb-tts-") as tmp:
        repo, base = build(Path(tmp))
        text = lambda r: append(r, "examples/README.md", "\nMore words.\n")  # noqa: E731
        plants: dict[str, tuple[str, Callable[[Path], None]]] = {
            "ranker-aa": ("ranker-cpu", text),
            "ranker-sleep": (
                "ranker-cpu",
                lambda r: append(r, TELEMETRY, "\nimport time as _t\n\n_t.sleep(0.3)\n"),
            ),
            "gpt-eval": ("gpt-eval", text),
            "lightning": ("lightning-cpu", text),
            "hf": ("hf-trainer-cpu", text),
        }
        for case in cases:
            print(f"{case}: running", file=sys.stderr, flush=True)
            out = args.out / case
            if out.exists():
                shutil.rmtree(out)
            if case == "pr":
                results[case] = pr_case(repo, base, args, out)
            else:
                if case == "ranker-hook":
                    n = args.hook_turns or hook_iterations(repo, base, args, args.out)
                    print(f"ranker-hook: {n} loop turns an import", file=sys.stderr)
                    scenario, change = "ranker-cpu", lambda r, n=n: plant_hook(r, n)
                else:
                    scenario, change = plants[case]
                head = branch(repo, base, case, change)
                results[case] = compare_case(repo, base, head, scenario, args, out)
            r = results[case]
            print(f"{case}: {r['verdict']} in {r['wall_s']:.0f} s", file=sys.stderr, flush=True)
            (args.out / "results.json").write_text(json.dumps(results, indent=2))
    rows = [["case", "wall", "counting", "share", "verdict", "counts", "pairs", "note"]]
    for case, r in results.items():
        share = r["count_s"] / r["wall_s"] if r["wall_s"] else 0.0
        stopped = " (stopped)" if r.get("code", 0) is None else ""
        rows.append(
            [
                case,
                f"{r['wall_s'] / 60:.1f} min{stopped}",
                f"{r['count_s'] / 60:.1f} min",
                f"{share:.0%}",
                str(r["verdict"]),
                str(r.get("counts") if r.get("counts") is not None else "–"),
                str(r.get("pairs") or "–"),
                (r.get("note") or "")[:60],
            ]
        )
    print(text_table(rows))


if __name__ == "__main__":
    main()
