"""Does the differential profile name the function a change was planted in?

A scratch copy of the example repository gets one branch per plant, each a real code change
inside one named function of the ranker's path to its first batch:

- ``memo``: a memo keyed on ``repr()`` of the click-log tables, built per feature
  (``_memo_key`` in ``examples/trainer/datasets/ranker.py``), ~10-25% of TTFB;
- ``metrics``: a "fire-and-forget" metrics call that waits ~120 ms for a collector's
  acknowledgement (``report_click_stats`` in ``examples/trainer/telemetry.py``);
- ``config``: a config check that re-parses the file in a loop (``_check_sections`` in
  ``examples/trainer/config.py``), ~5% of TTFB;
- ``aa``: a text change (A/A).

For each plant, a pool of ``--pool`` profiling samples per arm (base vs plant) is recorded
in ABBA order with the real profiler (``ProcessExecutor.profiler``: py-spy here, or
``--profiler sampler``), the ranker shrunk as its scenario says. Then ``--draws`` compares'
profiles are drawn from each pool: 5 of its recorded pairs (an ABBA position's base and head
sample stay together), analysed by the real ``bot.stats.profile.differential``. It prints how
often the top row names the planted function and how often any row is significant (for the
A/A: how often an A/A shows a row), with the samples' garbage collections counted apart (as
compares do) and, for comparison, left on the functions they interrupted ("GC charged").
With ``--compares N`` it also runs N real ``ttfb compare --profile`` per plant (``--pairs 10
--max-pairs 20 --instructions off``) and prints the profiling samples' share of each compare's
wall time.

    .venv/bin/python benchmarks/profile_locate.py [--pool 12] [--draws 25] [--compares 1]
        [--plants memo,metrics,config,aa] [--out out/bench/profile_locate] [--analyze-only]
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import git  # noqa: E402
from bot.ab import arms  # noqa: E402
from bot.ab.profiling import run_pairs  # noqa: E402
from bot.ab.targets import build_target, floor_threshold  # noqa: E402
from bot.ab.workspace import Workspace  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.model import ProfileSettings  # noqa: E402
from bot.report.fmt import text_table  # noqa: E402
from bot.scenarios import find  # noqa: E402
from bot.stats import profile  # noqa: E402
from bot.stats.stacks import sampled  # noqa: E402

RANKER = "examples/trainer/datasets/ranker.py"
TELEMETRY = "examples/trainer/telemetry.py"
CONFIG = "examples/trainer/config.py"
TRAIN = "examples/trainer/train.py"

MEMO = '''

_MEMO: dict[str, np.ndarray] = {}


def _memo_key(logs: object, feature: int) -> str:
    """The cache key of one preprocessing step: the repr of the click logs it reads."""
    return repr((logs.dense.tolist(), logs.sparse.tolist(), feature))  # type: ignore[attr-defined]
'''
METRICS = '''

def report_click_stats(record: dict[str, Any]) -> None:
    """Hand the record to the metrics collector and wait for its acknowledgement."""
    import socket

    ours, collector = socket.socketpair()
    with ours, collector:
        ours.settimeout(0.12)
        ours.sendall(json.dumps(record, default=str).encode())
        try:
            ours.recv(16)
        except OSError:
            pass
'''
SECTIONS = '''

def _check_sections(path: str | Path, rounds: int = 45) -> None:
    """Check that the file still parses, section by section (re-reads it each time)."""
    for _ in range(rounds):
        yaml.safe_load(Path(path).read_text(encoding="utf-8"))
'''
PLANTED = {
    "memo": ("_memo_key", RANKER),
    "metrics": ("report_click_stats", TELEMETRY),
    "config": ("_check_sections", CONFIG),
    "aa": (None, None),
}


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, f"{rel}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def plant(root: Path, name: str) -> None:
    if name == "memo":
        _edit(root, RANKER, "\n\nclass ClickLogDataset", MEMO + "\n\nclass ClickLogDataset")
        _edit(
            root,
            RANKER,
            "        vocab = preprocess.build_vocab(",
            "        key = _memo_key(logs, f)\n"
            "        vocab = _MEMO.get(key)\n"
            "        vocab = _MEMO[key] = preprocess.build_vocab(",
        )
    elif name == "metrics":
        _edit(root, TELEMETRY, "\n\ndef start(", METRICS + "\n\ndef start(")
        _edit(
            root,
            TELEMETRY,
            '    _queue.put({"event": event, "time": time.time(), **fields})',
            '    record = {"event": event, "time": time.time(), **fields}\n'
            "    report_click_stats(record)\n    _queue.put(record)",
        )
    elif name == "config":
        _edit(root, CONFIG, "\n\ndef apply_overrides(", SECTIONS + "\n\ndef apply_overrides(")
        _edit(
            root,
            CONFIG,
            "    source = str(path)\n",
            "    source = str(path)\n    _check_sections(path)\n",
        )
    else:
        _edit(root, TRAIN, "Training entry point", "The training entry point")


def build(dest: Path, plants: list[str]) -> tuple[Path, str, dict[str, str]]:
    """A git repository of the example; its base commit and a commit per plant."""
    repo = dest / "repo"
    repo.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "runs", "*.bin", "*.pkl")
    shutil.copytree(REPO / "examples", repo / "examples", ignore=ignore)
    shutil.copytree(REPO / "scenarios", repo / "scenarios")
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")
    (repo / ".gitignore").write_text("runs/\n__pycache__/\n*.bin\n*.pkl\n")
    git.init_repo(repo)
    base = git.commit_all(repo, "Example trainer")
    heads = {}
    for name in plants:
        git.run(["checkout", "-q", "-B", f"plant-{name}", base], cwd=repo)
        plant(repo, name)
        heads[name] = git.commit_all(repo, f"plant {name}")
        git.run(["checkout", "-q", base], cwd=repo)
    return repo, base, heads


def record_pool(repo: Path, base: str, head: str, n: int, tool: str) -> dict:
    """``n`` profiling samples per arm (ABBA), as (ttfb_s, stacks, root) per sample."""
    scenario = find("ranker-cpu", repo / "scenarios")
    with Workspace() as ws:
        b, h = arms.resolve(arms.ArmSpec(base), arms.ArmSpec(head), repo=repo, worktree=ws.worktree)
        target = build_target(scenario, b, h, threshold=floor_threshold, workspace=ws)
        assert target.base is not None and target.head is not None, target.broken
        profiler, line = ProcessExecutor().profiler(ProfileSettings(tool=tool))
        assert profiler is not None, line
        started = time.monotonic()
        got_b, got_h, error = run_pairs(target.base, target.head, profiler, n)
        if error:
            raise SystemExit(error)
        return {
            "profiler": line,
            "seconds": time.monotonic() - started,
            "base": [
                (p.sample.ttfb_s, dict(p.stacks), str(target.base.root), dict(p.gc)) for p in got_b
            ],
            "head": [
                (p.sample.ttfb_s, dict(p.stacks), str(target.head.root), dict(p.gc)) for p in got_h
            ],
        }


def run_compare(repo: Path, base: str, head: str, out: Path, tool: str) -> dict:
    """One real ``ttfb compare --profile``: its wall time and the profiling samples' time."""
    argv = [sys.executable, "-m", "bot.cli", "compare", "--root", str(repo), "--scenario"]
    argv += ["ranker-cpu", "--base", base, "--head", head, "--profile", "--no-history"]
    argv += ["--pairs", "10", "--max-pairs", "20", "--instructions", "off", "--no-attribute"]
    argv += ["--profiler", tool, "--out-dir", str(out)]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    (out / "log").write_text(proc.stderr)
    try:
        (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    except (OSError, ValueError):
        return {"wall_s": wall, "profile_s": None, "verdict": "no output", "top": None}
    p = s.get("profile") or {}
    rows = p.get("rows") or []
    return {
        "wall_s": wall,
        "profile_s": p.get("elapsed_s"),
        "verdict": s["verdict"],
        "top": rows[0]["function"] if rows else None,
    }


def analyze(pool: dict, planted: str | None, draws: int, seed: int, *, gc: bool = True) -> dict:
    """Top-row hits and rows over ``draws`` 5+5 draws from the pool; ``gc=False``: the
    garbage collections left on the functions they interrupted, as before they were counted
    apart."""
    base = _sampled(pool["base"], gc)
    head = _sampled(pool["head"], gc)
    rng = np.random.default_rng(seed)
    hits = any_row = 0
    tops: dict[str, int] = {}
    deltas = []
    for k in range(draws):
        pairs = rng.choice(min(len(base), len(head)), 5, replace=False)  # recorded pairs kept
        b = [base[i] for i in pairs]
        h = [head[i] for i in pairs]
        d = profile.differential(b, h, seed=k, flame=False)
        deltas.append(d.delta_ms)
        top = d.rows[0].frame.function if d.rows else "(none)"
        tops[top] = tops.get(top, 0) + 1
        hits += top == planted
        any_row += bool(d.rows)
    return {"hits": hits, "rows": any_row, "draws": draws, "tops": tops, "delta_ms": deltas}


def _sampled(items: list, gc: bool) -> list:
    """The recorded samples; a pool recorded before the probe timed collections has none."""
    return [sampled(t, st, root, item[0] if gc and item else None) for t, st, root, *item in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", default="memo,metrics,config,aa")
    parser.add_argument("--pool", type=int, default=12, help="profiling samples per arm")
    parser.add_argument("--draws", type=int, default=25, help="compares drawn per plant")
    parser.add_argument("--compares", type=int, default=1, help="real compares per plant")
    parser.add_argument("--profiler", default="auto", choices=("auto", "py-spy", "sampler"))
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench" / "profile_locate")
    parser.add_argument("--analyze-only", action="store_true", help="reuse the recorded pools")
    args = parser.parse_args()
    plants = [p for p in args.plants.split(",") if p]
    args.out = args.out.resolve()  # the real compares run in the scratch repository
    args.out.mkdir(parents=True, exist_ok=True)
    pools_path = args.out / f"pools-{args.profiler}.pkl"
    pools: dict = pickle.loads(pools_path.read_bytes()) if pools_path.exists() else {}
    compares: dict = {}
    started = time.monotonic()
    if not args.analyze_only:
        with tempfile.TemporaryDirectory(prefix="ttfb-locate-") as tmp:
            repo, base, heads = build(Path(tmp), plants)
            for name in plants:
                print(
                    f"{name}: recording {args.pool}+{args.pool} profiling samples", file=sys.stderr
                )
                pools[name] = record_pool(repo, base, heads[name], args.pool, args.profiler)
                pools_path.write_bytes(pickle.dumps(pools))
            for name in plants:
                for i in range(args.compares):
                    print(f"{name}: real compare {i + 1}/{args.compares}", file=sys.stderr)
                    out = args.out / f"compare-{name}-{i}"
                    out.mkdir(parents=True, exist_ok=True)
                    compares.setdefault(name, []).append(
                        run_compare(repo, base, heads[name], out, args.profiler)
                    )
        (args.out / f"compares-{args.profiler}.json").write_text(json.dumps(compares, indent=1))
    elif (args.out / f"compares-{args.profiler}.json").exists():
        compares = json.loads((args.out / f"compares-{args.profiler}.json").read_text())
    report(pools, compares, plants, args, (time.monotonic() - started) / 60)


def report(pools: dict, compares: dict, plants: list[str], args, minutes: float) -> None:  # type: ignore[no-untyped-def]
    rows, out = [], {}
    for name in plants:
        if name not in pools:
            continue
        pool = pools[name]
        planted = PLANTED[name][0]
        a = analyze(pool, planted, args.draws, seed=7)
        charged = analyze(pool, planted, args.draws, seed=7, gc=False)
        ttfb = {arm: statistics_ms(pool[arm]) for arm in ("base", "head")}
        real = compares.get(name, [])
        share = [c["profile_s"] / c["wall_s"] for c in real if c.get("profile_s")]
        rows.append(
            [
                name,
                planted or "(A/A)",
                f"{ttfb['base']:.0f} → {ttfb['head']:.0f} ms",
                f"{(ttfb['head'] / ttfb['base'] - 1) * 100:+.1f}%",
                f"{a['hits']}/{a['draws']}" if planted else "–",
                f"{a['rows']}/{a['draws']}",
                f"{charged['hits']}/{charged['draws']}" if planted else "–",
                f"{charged['rows']}/{charged['draws']}",
                ", ".join(
                    f"{k}×{v}" for k, v in sorted(a["tops"].items(), key=lambda kv: -kv[1])[:3]
                ),
                "; ".join(f"{c['verdict']}, top {c['top']}, {c['wall_s']:.0f} s" for c in real)
                or "–",
                f"{100 * sum(share) / len(share):.0f}%" if share else "–",
            ]
        )
        out[name] = {
            **a,
            "gc_charged": charged,
            "ttfb_ms": ttfb,
            "compares": real,
            "profiler": pool["profiler"],
        }
    header = [
        "plant",
        "planted function",
        "TTFB (pool means)",
        "Δ TTFB",
        "top row is it",
        "any significant row",
        "GC charged: top row",
        "GC charged: any row",
        "top rows",
        "real compares",
        "profiling share",
    ]
    print(text_table([header, *rows]))
    first = next(iter(pools.values()), {})
    print(
        f"\nprofiler: {first.get('profiler')}; {args.draws} draws of 5+5 per plant from "
        f"{args.pool}+{args.pool} recorded; {minutes:.1f} min"
    )
    (args.out / "results.json").write_text(json.dumps(out, indent=1, default=str))


def statistics_ms(items: list) -> float:
    return float(np.mean([item[0] for item in items])) * 1000


if __name__ == "__main__":
    main()
