"""The same planted TTFB regressions through ttfb compare, asv continuous and pyperf.

A scratch git project holds the example trainer and one scenario (the shrunk ranker config,
one training step). From its base commit grow one head commit per plant: a blocking
``time.sleep`` before the first batch (in config validation) of +3%, +5% and +10% of the
measured base TTFB, and an A/A head (a comment change). Each head is compared with the base by

- ``ttfb compare --base BASE --head HEAD --scenario peer`` with its defaults;
- ``asv continuous BASE HEAD`` with its defaults (factor 1.1, Mann-Whitney), the scenario as
  an asv benchmark that times the whole process, in an asv-built virtualenv;
- ``pyperf command`` for each arm (defaults), then ``pyperf compare_to``.

Every process start of the trainer appends a line to a counter file, so "runs" counts the
training processes each tool started, whatever its internals. asv and pyperf live in their
own environment (``out/peers-venv``), never in the project's dependencies.

    make peers   # or: .venv/bin/python benchmarks/vs_peers.py [--trials 1] [--plants 0,3,5,10]

Results go to ``out/peers/results.jsonl`` as they come (a rerun appends and the table uses
them all), then one table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import git  # noqa: E402

OUT = REPO / "out" / "peers"
PEERS_VENV = REPO / "out" / "peers-venv"
PY = sys.executable
TTFB = str(Path(PY).with_name("ttfb"))
CONFIG = "peer_config.yaml"
TRAIN = ["-m", "examples.trainer.train", "--config", CONFIG]
HOOK = (
    "\nimport os as _os  # peers benchmark: count process starts\n"
    "with open({counter!r}, 'a') as _f:\n"
    "    _f.write(f'{{_os.getpid()}}\\n')\n"
)
ASV_BENCH = """\
import os
import subprocess
import sys


class Peer:
    timeout = 600

    def time_train_to_first_batch(self):
        project = os.path.join(os.environ["ASV_ENV_DIR"], "project")
        subprocess.run(
            [sys.executable, {train}], cwd=project, check=True, stdout=subprocess.DEVNULL
        )
"""


def sh(cmd: list[str], cwd: Path, *, env: dict | None = None, check: bool = True) -> str:
    done = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return done.stdout


def peers_venv() -> Path:
    if not (PEERS_VENV / "bin" / "asv").exists():
        sh([sys.executable, "-m", "venv", str(PEERS_VENV)], REPO)
        sh([str(PEERS_VENV / "bin" / "pip"), "install", "-q", "asv", "pyperf", "virtualenv"], REPO)
    return PEERS_VENV / "bin"


def counted(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def build_project(project: Path, counter: Path) -> str:
    """The scratch project at its base commit; returns the base sha."""
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    shutil.copytree(
        REPO / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    # the counting hook goes first: train.py may leave through sys.exit before its end
    train = project / "examples" / "trainer" / "train.py"
    lines = train.read_text().splitlines(keepends=True)
    at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("from __future__")), 0)
    train.write_text("".join([*lines[:at], HOOK.format(counter=str(counter)), *lines[at:]]))
    sh(
        [TTFB, "shrink", "--auto", "-o", str(project / CONFIG), "examples/configs/ranker.yaml"],
        project,
    )
    text = (project / CONFIG).read_text()
    text = re.sub(r"(?m)^(\s*)steps: \d+", r"\1steps: 1", text, count=1)
    text = re.sub(r"(?m)^(\s*)checkpoint_dir: .*", r"\1checkpoint_dir: runs/peer", text, count=1)
    (project / CONFIG).write_text(text)
    (project / "scenarios").mkdir()
    (project / "scenarios" / "peer.yaml").write_text(
        "name: peer\n"
        "description: the shrunk ranker, one step\n"
        f"command: [python, -m, examples.trainer.train, --config, {CONFIG}]\n"
        "timeout_s: 300\n"
    )
    (project / ".gitignore").write_text("runs/\n__pycache__/\n")
    git.init_repo(project)
    return git.commit_all(project, "base")


def plant(project: Path, base: str, pct: float, delay_s: float) -> str:
    """A head commit on top of base: a blocking delay before the first batch (or none)."""
    # a branch, not a detached commit: asv clones the repository, which carries only refs
    git.run(["checkout", "-q", "-B", f"plant-{pct:g}", base], cwd=project)
    config = project / "examples" / "trainer" / "config.py"
    text = config.read_text()
    if pct:
        text = text.replace(
            "    source = str(path)\n",
            f"    source = str(path)\n    __import__('time').sleep({delay_s:.4f})  # planted\n",
            1,
        )
    else:
        text += "\n# an A/A head: same code\n"
    config.write_text(text)
    head = git.commit_all(project, f"plant +{pct:g}%")
    git.run(["checkout", "-q", "main"], cwd=project)
    return head


def base_ttfb(project: Path) -> float:
    doc = OUT / "base-measure.json"
    sh(
        [
            TTFB,
            "measure",
            "--root",
            str(project),
            "--scenario",
            "peer",
            "--runs",
            "7",
            "--json",
            str(doc),
            "--no-history",
        ],
        project,
    )
    return float(json.loads(doc.read_text())["summary"]["ttfb_s"]["median"])


def run_ttfb(project: Path, base: str, head: str, work: Path) -> dict:
    out = work / "ttfb.json"
    sh(
        [
            TTFB,
            "compare",
            "--root",
            str(project),
            "--base",
            base,
            "--head",
            head,
            "--scenario",
            "peer",
            "--json",
            str(out),
            "--no-history",
            "--no-depmap",
        ],
        project,
    )
    (s,) = json.loads(out.read_text())["scenarios"]
    return {"verdict": s["verdict"], "delta_pct": s.get("delta_pct"), "pairs": s.get("pairs")}


def asv_setup(project: Path, work: Path, bin_: Path) -> Path:
    conf_dir = OUT / "asv"
    if not (conf_dir / "asv.conf.json").exists():
        (conf_dir / "benchmarks").mkdir(parents=True, exist_ok=True)
        (conf_dir / "benchmarks" / "__init__.py").write_text("")
        train = ", ".join(repr(a) for a in TRAIN)
        (conf_dir / "benchmarks" / "bench_peer.py").write_text(ASV_BENCH.format(train=train))
        conf = {
            "version": 1,
            "project": "peer",
            "repo": str(project),
            "branches": ["main"],
            "environment_type": "virtualenv",
            "pythons": [f"{sys.version_info.major}.{sys.version_info.minor}"],
            "matrix": {"req": {"torch": "2.13.0", "numpy": "", "pyyaml": ""}},
            "build_command": [],
            "install_command": [],
            "uninstall_command": [],
            "benchmark_dir": "benchmarks",
            "env_dir": "env",
            "results_dir": "results",
            "html_dir": "html",
        }
        (conf_dir / "asv.conf.json").write_text(json.dumps(conf, indent=2))
        sh([str(bin_ / "asv"), "machine", "--yes"], conf_dir)
        # asv 0.6 exits 1 from a successful ``setup`` (it returns the environment list)
        sh([str(bin_ / "asv"), "setup"], conf_dir, check=False)
        if not any((conf_dir / "env").glob("*/bin/python")):
            raise SystemExit(f"asv setup made no environment under {conf_dir / 'env'}")
    return conf_dir


def run_asv(conf_dir: Path, base: str, head: str, bin_: Path) -> dict:
    text = sh([str(bin_ / "asv"), "continuous", base, head], conf_dir, check=False)
    (OUT / "asv-last.txt").write_text(text)
    rows = [line for line in text.splitlines() if "time_train_to_first_batch" in line]
    changed = [r for r in rows if r.lstrip().startswith(("+", "-")) and "|" in r]
    ratio = None
    for r in rows:
        m = re.search(r"\s(\d+\.\d+)\s+[\w.]*time_train", r)
        if m:
            ratio = float(m.group(1))
    if "failed" in text.lower() and not rows:
        return {"verdict": "error", "detail": text[-500:]}
    verdict = "no_change"
    if changed:
        verdict = "regression" if changed[0].lstrip().startswith("+") else "improvement"
    if ratio is None:  # asv prints only changed benchmarks; its stored results have the rest
        medians = [asv_result(conf_dir, sha) for sha in (base, head)]
        if None not in medians:
            ratio = medians[1] / medians[0]  # type: ignore[operator]
    return {"verdict": verdict, "ratio": ratio}


def asv_result(conf_dir: Path, sha: str) -> float | None:
    """The stored result (asv's median) of the benchmark at commit ``sha``."""
    for path in (conf_dir / "results").glob(f"*/{sha[:8]}-*.json"):
        doc = json.loads(path.read_text())
        for name, row in doc["results"].items():
            if name.endswith("time_train_to_first_batch"):
                return float(row[doc["result_columns"].index("result")][0])
    return None


def run_pyperf(project: Path, base: str, head: str, work: Path, bin_: Path) -> dict:
    files = []
    for arm, rev in (("base", base), ("head", head)):
        out = work / f"pyperf-{arm}.json"
        with git.worktree(rev, cwd=project, parent=work) as tree:
            sh([str(bin_ / "pyperf"), "command", "-q", "-o", str(out), "--", PY, *TRAIN], tree)
        files.append(out)
    text = sh([str(bin_ / "pyperf"), "compare_to", str(files[0]), str(files[1])], work)
    (OUT / "pyperf-last.txt").write_text(text)
    # "Benchmark hidden because not significant", or "…: 1.11x slower" when significant
    if "not significant" in text.lower():
        verdict = "no_change"
    elif "slower" in text:
        verdict = "regression"
    elif "faster" in text:
        verdict = "improvement"
    else:
        raise SystemExit(f"pyperf compare_to: unexpected output:\n{text}")
    means = []
    for f in files:
        (bench,) = json.loads(f.read_text())["benchmarks"]
        means.append(statistics.mean(v for r in bench["runs"] for v in r.get("values", [])))
    ratio = means[1] / means[0]
    return {"verdict": verdict, "ratio": ratio}


def table(rows: list[dict]) -> str:
    tools = ["ttfb", "asv", "pyperf"]
    plants = sorted({r["plant_pct"] for r in rows})
    head = ["tool", *[f"+{p:g}% found" if p else "A/A false pos." for p in plants]]
    head += ["runs / compare", "wall / compare"]
    out = [head]
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool and r["verdict"] != "error"]
        if not mine:
            continue
        cells = [tool]
        for p in plants:
            got = [r for r in mine if r["plant_pct"] == p]
            if p:
                hit = sum(r["verdict"] == "regression" for r in got)
            else:
                hit = sum(r["verdict"] in ("regression", "improvement") for r in got)
            cells.append(f"{hit}/{len(got)}" if got else "–")
        cells.append(f"{statistics.mean(r['runs'] for r in mine):.0f}")
        cells.append(f"{statistics.mean(r['wall_s'] for r in mine) / 60:.1f} min")
        out.append(cells)
    widths = [max(len(str(row[i])) for row in out) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in out
    )


def detail(rows: list[dict]) -> str:
    """One line per compare: the verdict, the tool's own estimate, runs and wall time."""
    out = []
    for r in rows:
        if r.get("delta_pct") is not None:
            estimate = f"{r['delta_pct']:+.1f}%"
        elif r.get("ratio") is not None:
            estimate = f"{(r['ratio'] - 1) * 100:+.1f}%"
        else:
            estimate = "–"
        plant = f"+{r['plant_pct']:g}% ({r['delay_s'] * 1000:.0f} ms)" if r["plant_pct"] else "A/A"
        out.append(
            f"  {r['tool']:<7} {plant:<16} {r['verdict']:<13} {estimate:>7}  "
            f"{r['runs']:>4} runs  {r['wall_s'] / 60:5.1f} min"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1, help="compares per tool and plant")
    ap.add_argument("--plants", default="0,3,5,10", help="planted delays, %% of base TTFB")
    ap.add_argument("--tools", default="ttfb,asv,pyperf")
    ap.add_argument("--table-only", action="store_true", help="print the table of past results")
    args = ap.parse_args(argv)
    results = OUT / "results.jsonl"
    if args.table_only:
        rows = [json.loads(line) for line in results.read_text().splitlines()]
        print(table(rows))
        print()
        print(detail(rows))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    bin_ = peers_venv()
    project = OUT / "project"
    counter = OUT / "counter.txt"
    base = build_project(project, counter)
    ttfb_s = base_ttfb(project)
    print(f"base TTFB median {ttfb_s:.3f} s (7 runs)", file=sys.stderr)
    plants = [float(p) for p in args.plants.split(",")]
    heads = {p: plant(project, base, p, ttfb_s * p / 100) for p in plants}
    tools = args.tools.split(",")
    conf_dir = asv_setup(project, OUT, bin_) if "asv" in tools else None
    with results.open("a") as log:
        for trial in range(args.trials):
            for p in plants:
                for tool in tools:
                    work = OUT / f"work-{tool}-{p:g}-{trial}"
                    shutil.rmtree(work, ignore_errors=True)
                    work.mkdir(parents=True)
                    before = counted(counter)
                    started = time.monotonic()
                    if tool == "ttfb":
                        got = run_ttfb(project, base, heads[p], work)
                    elif tool == "asv":
                        assert conf_dir is not None
                        got = run_asv(conf_dir, base, heads[p], bin_)
                    else:
                        got = run_pyperf(project, base, heads[p], work, bin_)
                    row = {
                        "tool": tool,
                        "plant_pct": p,
                        "delay_s": round(ttfb_s * p / 100, 4),
                        "base_ttfb_s": ttfb_s,
                        "trial": trial,
                        "base": base,
                        "head": heads[p],
                        "runs": counted(counter) - before,
                        "wall_s": round(time.monotonic() - started, 1),
                        **got,
                    }
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                    print(json.dumps(row), file=sys.stderr)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    print(table(rows))
    print()
    print(detail(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
