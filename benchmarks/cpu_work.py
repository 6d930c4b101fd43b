"""CPU work to first batch against wall time, on real code changes planted in the example.

A scratch copy of the example repository gets one branch per plant, each a real code change:

- ``A/A``: a text change;
- ``hook +1% / +3% / +10%``: an import hook (a ``sys.meta_path`` finder, as instrumentation
  libraries install) that does a little work for every import, torch's included, tuned to add
  that share of the base's instruction count;
- ``import scipy.stats``: a new heavy import in a shared module (``telemetry.py``);
- ``+300 ms sleep``: a blocking call, which instruction counts must *not* see.

For each plant, real data is recorded once: ``--blocks`` ABBA blocks of base/plant samples on
this machine (the unit a compare's schedule sees), and ``--counts`` instruction counts per arm
under the counter (callgrind here: this VM has no hardware counters). Compares are then run
by the real engine (``bot.ab.engine``: schedule, looks, corrections, confirmation, decision)
on those recordings: whole blocks resampled with replacement for wall time (``--wall``
compares per plant), counts drawn without replacement for the instruction path
(``--instr`` compares per plant). It prints, per plant, detection (and A/A false positives)
for wall time only, instructions only and both combined; process runs and machine time per
compare; and whether attribution (``-X importtime`` samples) names the planted import.

    .venv/bin/python benchmarks/cpu_work.py [--scenario ranker-cpu] [--blocks 16] [--counts 3]
        [--wall 20] [--instr 5] [--out out/bench/cpu_work]
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import git  # noqa: E402
from bot.ab.attribution import attribute  # noqa: E402
from bot.ab.counting import Counting  # noqa: E402
from bot.ab.engine import compare  # noqa: E402
from bot.ab.schedule import Scheduler  # noqa: E402
from bot.ab.targets import Target, scenario_job  # noqa: E402
from bot.exec import counters  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.model import Job, Sample, TimedOnly  # noqa: E402
from bot.report.fmt import text_table  # noqa: E402
from bot.scenarios import find  # noqa: E402
from bot.stats.instructions import Work  # noqa: E402
from bot.stats.sequential import plan_looks  # noqa: E402
from bot.stats.verdict import Policy  # noqa: E402

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
TRAIN = "examples/trainer/train.py"
TELEMETRY = "examples/trainer/telemetry.py"
FUTURE = "from __future__ import annotations\n"


def plant_hook(root: Path, n: int) -> None:
    path = root / TRAIN
    text = path.read_text()
    path.write_text(text.replace(FUTURE, FUTURE + HOOK.replace("{n}", str(n)), 1))


def hook_plant(n: int):  # type: ignore[no-untyped-def]
    return lambda root: plant_hook(root, n)


def plant_append(root: Path, rel: str, addition: str) -> None:
    path = root / rel
    path.write_text(path.read_text() + addition)


# --- recording --------------------------------------------------------------------------------


@dataclass
class Arms:
    """What was recorded for base vs one plant."""

    blocks: list[dict[str, list[Sample]]]
    base_counts: list[int]
    head_counts: list[int]
    count_s: float  # median machine time of one counting run
    sample_s: float  # median machine time of one timed sample
    attribution: list[str]


def record_blocks(base: Job, head: Job, n: int, name: str) -> list[dict[str, list[Sample]]]:
    sched = Scheduler(base, head, executor=ProcessExecutor(), name=name)
    _, broken = sched.warm_up()
    if broken:
        raise SystemExit(f"{name}: warm-up failed: {broken}")
    blocks = []
    for b in range(n):
        pairs, broken = sched.block(b, reverse=b % 2 == 1, stage="pool")
        if broken:
            raise SystemExit(f"{name}: block {b} failed: {broken}")
        blocks.append({"base": [p.base for p in pairs], "head": [p.head for p in pairs]})
        print(f"  {name}: block {b + 1}/{n}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return blocks


def record_counts(counter: counters.Counter, job: Job, k: int) -> tuple[list[int], list[float]]:
    counts, seconds = [], []
    for _ in range(k):
        c = counter.count(job)
        if c.status != "ok" or c.instructions is None:
            raise SystemExit(f"counting {job.label} failed: {c.status}: {c.error}")
        counts.append(c.instructions)
        seconds.append(c.wall_s)
    return counts, seconds


# --- replaying on the real engine ---------------------------------------------------------------


class ABResampler(TimedOnly):
    """An executor replaying recorded base/plant blocks: a whole block drawn with replacement
    per schedule block, each arm's samples taken in the order recorded."""

    def __init__(self, blocks: list[dict[str, list[Sample]]], seed: int) -> None:
        self.blocks, self.rng = blocks, np.random.default_rng(seed)
        self.current: dict[str, list[Sample]] = {"base": [], "head": []}

    def new_block(self) -> None:
        block = self.blocks[int(self.rng.integers(len(self.blocks)))]
        self.current = {arm: list(samples) for arm, samples in block.items()}

    def run(self, job: Job) -> Sample:
        if not self.current[job.label]:
            self.new_block()
        return self.current[job.label].pop(0)


@dataclass
class _Drawn:
    status: str
    instructions: int | None
    error: str | None = None


class DrawnCounter:
    """Counts drawn without replacement from the recorded ones, per arm."""

    name, settings, slowdown = "recorded", (), 1.0

    def __init__(self, counts: dict[str, list[int]], seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.left = {arm: list(rng.permutation(c)) for arm, c in counts.items()}

    def count(self, job: Job) -> _Drawn:
        left = self.left[job.label]
        return _Drawn("ok", int(left.pop())) if left else _Drawn("crashed", None, "none left")


def run_compare(arms: Arms, seed: int, *, counted: bool) -> tuple[str, int, int]:
    """(verdict, timed samples, counting runs) of one compare on the recordings."""
    job = Job(argv=("replay",), cwd=REPO)
    target = Target("plant", replace(job, label="base"), replace(job, label="head"), 2.0)
    counter = DrawnCounter({"base": arms.base_counts, "head": arms.head_counts}, seed)
    counting = Counting(counter) if counted else None
    policy = Policy(looks=plan_looks(10, 80), seed=seed)
    (o,) = compare([target], policy, ABResampler(arms.blocks, seed), counting=counting).outcomes
    samples = 2 * (len(o.primary.pairs) + len(o.confirmation_pairs)) + 2 if o.primary else 0
    runs = sum(len(x) for x in (arms.base_counts, arms.head_counts)) - sum(
        len(x) for x in counter.left.values()
    )
    return o.verdict.value, samples, runs if counted else 0


def instr_only(arms: Arms, seed: int) -> str:
    """The instruction path alone, as compare counts: 1+1 counts drawn, 1+1 more to confirm a
    finding (``--counts 2`` is enough)."""
    rng = np.random.default_rng(seed)
    base, head = list(rng.permutation(arms.base_counts)), list(rng.permutation(arms.head_counts))
    work = Work(tuple(base[:1]), tuple(head[:1]))
    if work.direction and len(base) > 1 and len(head) > 1:
        work = replace(work, confirm_base=base[1], confirm_head=head[1])
    if work.direction and work.confirmed:
        return "regression" if work.direction > 0 else "improvement"
    return "no_change" if work.unchanged else "inconclusive"


# --- the benchmark ------------------------------------------------------------------------------


def build(scratch: Path, scenario: str) -> tuple[Path, str]:
    repo = scratch / "repo"
    shutil.copytree(
        REPO / "examples", repo / "examples", ignore=shutil.ignore_patterns("__pycache__", "runs")
    )
    (repo / "scenarios").mkdir()
    shutil.copy2(REPO / "scenarios" / f"{scenario}.yaml", repo / "scenarios")
    (repo / ".gitignore").write_text("runs/\n__pycache__/\n")
    (repo / "README.md").write_text("Example trainer\n")
    git.init_repo(repo)
    return repo, git.commit_all(repo, "base")


def branch(repo: Path, base: str, name: str, change) -> str:  # type: ignore[no-untyped-def]
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")  # "+300 ms" must not read as a flag
    git.run(["checkout", "-q", "-B", slug, base], cwd=repo)
    change(repo)
    sha = git.commit_all(repo, name)
    git.run(["checkout", "-q", base], cwd=repo)
    return sha


def tune_hook(counter, repo: Path, base: str, scenario, base_count: int, stack) -> float:  # type: ignore[no-untyped-def]
    """Instructions added per unit of the hook's loop, from one count with a probe value."""
    probe_n = 2000
    sha = branch(repo, base, "hook probe", lambda r: plant_hook(r, probe_n))
    tree = stack.enter_context(git.worktree(sha, cwd=repo))
    job = replace(scenario_job(scenario, root=tree, workdir=counter.workdir), label="head")
    (count,), _ = record_counts(counter, job, 1)
    return (count - base_count) / probe_n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="ranker-cpu")
    parser.add_argument("--blocks", type=int, default=16, help="ABBA blocks recorded per plant")
    parser.add_argument("--counts", type=int, default=3, help="instruction counts per arm")
    parser.add_argument("--wall", type=int, default=20, help="replayed compares per plant")
    parser.add_argument("--instr", type=int, default=5, help="instruction-path compares")
    parser.add_argument("--backend", default="auto", choices=counters.MODES)
    parser.add_argument("--only", help="comma-separated plant names to run")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench" / "cpu_work")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="summarize the recordings of an earlier run (OUT/recorded.pkl), recording nothing",
    )
    args = parser.parse_args()
    if args.replay:
        with open(args.out / "recorded.pkl", "rb") as f:
            saved = pickle.load(f)
        report(saved["results"], args, saved["why"], saved["minutes"])
        return
    backend, why = counters.choose(args.backend)
    if backend is None:
        raise SystemExit(f"cpu_work: {why}")
    print(f"counter: {why}", file=sys.stderr)
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cpu-work-")))
        counter = counters.Counter(backend, workdir=scratch / "counts")
        repo, base = build(scratch, args.scenario)
        scenario = find(args.scenario, repo / "scenarios")
        base_tree = stack.enter_context(git.worktree(base, cwd=repo))
        shrunk = scratch / "shrunk"
        base_job = replace(scenario_job(scenario, root=base_tree, workdir=shrunk), label="base")
        base_counts, base_secs = record_counts(counter, base_job, args.counts)
        c0 = statistics.median(base_counts)
        per_n = tune_hook(counter, repo, base, scenario, int(c0), stack)
        plants = {
            "A/A (text change)": lambda r: plant_append(r, "README.md", "More words.\n"),
            **{f"import hook +{p}%": hook_plant(round(p / 100 * c0 / per_n)) for p in (1, 3, 10)},
            "import scipy.stats": lambda r: plant_append(r, TELEMETRY, "\nimport scipy.stats\n"),
            "+300 ms sleep": lambda r: plant_append(
                r, TELEMETRY, "\nimport time as _t\n\n_t.sleep(0.3)\n"
            ),
        }
        if args.only:
            wanted = set(args.only.split(","))
            plants = {k: v for k, v in plants.items() if k in wanted}
        results = {}
        for name, change in plants.items():
            print(f"{name}:", file=sys.stderr)
            tree = stack.enter_context(git.worktree(branch(repo, base, name, change), cwd=repo))
            head_job = replace(scenario_job(scenario, root=tree, workdir=shrunk), label="head")
            blocks = record_blocks(base_job, head_job, args.blocks, name)
            head_counts, head_secs = record_counts(counter, head_job, args.counts)
            sentences = []
            if "import" in name and "hook" not in name:
                doc = attribute(base_job, head_job, ProcessExecutor(), name=name)
                sentences = doc.get("sentences") or [doc.get("error", "")]
            results[name] = Arms(
                blocks,
                base_counts,
                head_counts,
                statistics.median(base_secs + head_secs),
                statistics.median(s.wall_s for b in blocks for x in b.values() for s in x),
                sentences,
            )
            # each plant is kept as soon as it is recorded: --replay summarizes them again
            minutes = (time.monotonic() - started) / 60
            with open(args.out / "recorded.pkl", "wb") as f:
                pickle.dump({"results": results, "why": why, "minutes": minutes}, f)
    report(results, args, why, (time.monotonic() - started) / 60)


def report(results: dict[str, Arms], args: argparse.Namespace, why: str, minutes: float) -> None:
    rows, doc = summarize(results, args)
    print(text_table(rows))
    print(f"\n(recorded in {minutes:.1f} min; {why})")
    (args.out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")


def summarize(results: dict[str, Arms], args: argparse.Namespace) -> tuple[list, dict]:  # type: ignore[type-arg]
    header = [
        "plant",
        "Δ instructions",
        "Δ wall (median)",
        f"wall only: called (n={args.wall})",
        f"instructions only (n={args.instr})",
        "both: called / no_change",
        "runs per compare: wall only → both",
        "machine time per compare: wall only → both",
        "attribution",
    ]
    rows, doc = [header], {}
    for name, arms in results.items():
        walls = [run_compare(arms, s, counted=False) for s in range(args.wall)]
        both = [run_compare(arms, 1000 + s, counted=True) for s in range(args.wall)]
        instr = [instr_only(arms, 2000 + s) for s in range(args.instr)]
        d_instr = statistics.median(arms.head_counts) / statistics.median(arms.base_counts) - 1
        d_wall = statistics.median(
            h.ttfb_s - b.ttfb_s
            for blk in arms.blocks
            for b, h in zip(blk["base"], blk["head"], strict=True)
        )

        def called(vs: list[str]) -> str:
            return f"{100 * sum(v in ('regression', 'improvement') for v in vs) / len(vs):.0f}%"

        wall_runs = statistics.median(n for _, n, _ in walls)
        both_runs = statistics.median(n + k for _, n, k in both)
        wall_time = wall_runs * arms.sample_s
        both_time = statistics.median(n * arms.sample_s + k * arms.count_s for _, n, k in both)
        no_change = f"{100 * sum(v == 'no_change' for v, _, _ in both) / len(both):.0f}%"
        rows.append(
            [
                name,
                f"{100 * d_instr:+.3f}%",
                f"{1000 * d_wall:+.0f} ms",
                called([v for v, _, _ in walls]),
                called(instr),
                f"{called([v for v, _, _ in both])} / {no_change}",
                f"{wall_runs:.0f} → {both_runs:.0f}",
                f"{wall_time / 60:.1f} → {both_time / 60:.1f} min",
                "; ".join(arms.attribution)[:120] or "–",
            ]
        )
        doc[name] = {
            "delta_instructions_pct": 100 * d_instr,
            "delta_wall_s": d_wall,
            "wall": [v for v, _, _ in walls],
            "instructions": instr,
            "both": [v for v, _, _ in both],
            "runs": {"wall": wall_runs, "both": both_runs},
            "minutes": {"wall": wall_time / 60, "both": both_time / 60},
            "counts": {"base": arms.base_counts, "head": arms.head_counts},
            "count_s": arms.count_s,
            "sample_s": arms.sample_s,
            "attribution": arms.attribution,
        }
    return rows, doc


if __name__ == "__main__":
    main()
