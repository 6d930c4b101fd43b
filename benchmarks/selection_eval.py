"""Selection quality: recall of TTFB-moving changes against the share of full-suite cost.

Builds a git repository of the example trainer with its four CPU scenarios, learns the
dependency map, then applies 32 synthetic change sets, one branch each. Thirteen really move
TTFB (a slow or heavy import in one family's module, a slow shared module, a slow config
check, a synchronous metrics call, a fork→spawn or worker-count change in one config); the
others are neutral (docs, comments, tests, unrelated modules, configs nothing loads).

Ground truth is measured, not assumed: every scenario is run on every change set, paired
with a run of the base taken right before it (a worktree of the base commit), so the host's
drift cancels; a scenario *moved* if one of its phase segments grew by at least ``--moved-s``
seconds in two such pairs (planted effects are ≥ 0.5 s). ``--runs`` base samples per scenario
teach the dependency map. The plan of
``ttfb select`` for each change set is then scored at several CPU budgets, given as a share of
the full suite's cost: recall over (change, moved scenario) pairs, recall over moving change
sets (at least one moved scenario selected), and the share of cost spent.

    .venv/bin/python benchmarks/selection_eval.py [--runs 3] [--moved-s 0.3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import depmap, git, selection  # noqa: E402
from bot.measure import scenario_job  # noqa: E402
from bot.sample import Job, ProcessExecutor, Sample  # noqa: E402
from bot.scenarios import load_all  # noqa: E402

SCENARIOS = ("ranker-cpu", "lm-cpu", "cnn-cpu", "lm-spawn-workers")
T = "examples/trainer"
SLEEP = "import time as _t; _t.sleep(0.6)  # planted\n"


def prepend(path: str, text: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        p = repo / path
        lines = p.read_text().splitlines(keepends=True)
        # after the module docstring and __future__ import, so the module still imports
        at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("from __future__")), 0)
        p.write_text("".join([*lines[:at], text, *lines[at:]]))

    return edit


def append(path: str, text: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        p = repo / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text((p.read_text() if p.exists() else "") + text)

    return edit


def replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        p = repo / path
        text = p.read_text()
        assert old in text, (path, old)
        p.write_text(text.replace(old, new, 1))

    return edit


def rename(old: str, new: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        git.run(["mv", old, new], cwd=repo)

    return edit


CHANGES: list[tuple[str, Callable[[Path], None]]] = [
    # really move TTFB
    ("slow import: models/ranker.py", prepend(f"{T}/models/ranker.py", SLEEP)),
    ("slow import: models/lm.py", prepend(f"{T}/models/lm.py", SLEEP)),
    ("slow import: models/cnn.py", prepend(f"{T}/models/cnn.py", SLEEP)),
    ("slow import: datasets/ranker.py", prepend(f"{T}/datasets/ranker.py", SLEEP)),
    ("slow import: datasets/cnn.py", prepend(f"{T}/datasets/cnn.py", SLEEP)),
    (
        "heavy import (scipy.stats) in models/ranker.py",
        prepend(f"{T}/models/ranker.py", "import scipy.stats  # noqa: F401\n"),
    ),
    ("slow shared module: loop.py", prepend(f"{T}/loop.py", SLEEP)),
    ("slow shared module: registry.py", prepend(f"{T}/registry.py", SLEEP)),
    ("slow config check: config.py", prepend(f"{T}/config.py", SLEEP)),
    (
        "synchronous metrics call: telemetry.py",
        replace(
            f"{T}/telemetry.py",
            '    _queue.put({"event": event',
            '    __import__("time").sleep(0.6)\n    _queue.put({"event": event',
        ),
    ),
    (
        "fork -> spawn workers: cnn.yaml",
        replace("examples/configs/cnn.yaml", "start_method: fork", "start_method: spawn"),
    ),
    (
        "spawn -> fork workers: lm.yaml",
        replace("examples/configs/lm.yaml", "start_method: spawn", "start_method: fork"),
    ),
    ("slow import: datasets/lm.py", prepend(f"{T}/datasets/lm.py", SLEEP)),
    # neutral
    ("docs: README", append("README.md", "\nMore words.\n")),
    ("docs: examples/README.md", append("examples/README.md", "\nA note.\n")),
    ("comment in models/cnn.py", append(f"{T}/models/cnn.py", "\n# a comment\n")),
    ("comment in loop.py", append(f"{T}/loop.py", "\n# a comment\n")),
    ("whitespace in models/lm.py", append(f"{T}/models/lm.py", "\n\n")),
    ("new test file", append("tests/test_extra.py", "def test_x():\n    assert True\n")),
    ("new unrelated tool", append("tools/plot.py", "import sys\nprint(sys.argv)\n")),
    ("new config nothing loads", append("examples/configs/big.yaml", "seed: 1\n")),
    (
        "docstring in models/ranker.py",
        replace(
            f"{T}/models/ranker.py",
            '"""',
            '"""Ranker. ',
        ),
    ),
    ("comment in config.py", append(f"{T}/config.py", "\n# note\n")),
    ("comment in preprocess.py", append(f"{T}/preprocess.py", "\n# note\n")),
    ("unused helper in synth.py", append(f"{T}/synth.py", "\n\ndef _unused():\n    return 1\n")),
    (
        "log_every in ranker.yaml",
        replace("examples/configs/ranker.yaml", "log_every: 100", "log_every: 50"),
    ),
    ("lr in lm.yaml", replace("examples/configs/lm.yaml", "lr: 0.001", "lr: 0.002")),
    ("lr in cnn.yaml", replace("examples/configs/cnn.yaml", "lr: 0.05", "lr: 0.04")),
    ("rename a doc", rename("examples/README.md", "examples/GUIDE.md")),
    ("gitignore", append(".gitignore", "\n*.tmp\n")),
    ("comment in train.py", append(f"{T}/train.py", "\n# note\n")),
    ("comment in telemetry.py", append(f"{T}/telemetry.py", "\n# note\n")),
]


def segments(sample: Sample) -> dict[str, float]:
    phases = sorted(sample.phases.items(), key=lambda kv: kv[1])
    out, previous = {}, 0.0
    for name, t in phases:
        if t <= (sample.ttfb_s or 0) + 1e-9:
            out[name] = t - previous
            previous = t
    return out


def measure(repo: Path, names: list[str], runs: int, tmp: Path) -> dict[str, list[Sample]]:
    scenarios = {s.name: s for s in load_all(repo / "scenarios")}
    out = {}
    for name in names:
        job = scenario_job(scenarios[name], root=repo, workdir=tmp)
        samples = [ProcessExecutor().run(job) for _ in range(runs)]
        bad = [s for s in samples if not s.ok]
        if bad:
            raise SystemExit(f"{name} failed in {repo}: {bad[0].error}")
        out[name] = samples
    return out


def growth(base: Sample, head: Sample) -> dict[str, float]:
    """Per phase segment both samples have: head − base, seconds."""
    b, h = segments(base), segments(head)
    return {k: h[k] - b[k] for k in b.keys() & h.keys()}


def run_ok(job: Job, where: Path) -> Sample:
    sample = ProcessExecutor().run(job)
    if not sample.ok:
        raise SystemExit(f"{job.scenario} failed in {where}: {sample.error}")
    return sample


def moved(base: Job, head: Job, threshold: float, where: Path) -> tuple[bool, int]:
    """Ground truth for one scenario and change, measured in pairs taken back to back (so the
    host's drift cancels): a first (base, head) pair in which no segment grew by
    ``threshold`` means unmoved; otherwise a second pair in the opposite order decides, and
    the scenario moved if one segment grew by ``threshold`` in both. Returns (moved, runs)."""
    first = growth(run_ok(base, where), run_ok(head, where))
    suspects = {k for k, d in first.items() if d >= threshold}
    if not suspects:
        return False, 2
    head_s = run_ok(head, where)
    second = growth(run_ok(base, where), head_s)
    return any(second.get(k, 0.0) >= threshold for k in suspects), 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--moved-s", type=float, default=0.3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ttfb-seleval-") as d:
        tmp = Path(d)
        repo = tmp / "repo"
        repo.mkdir()
        shutil.copytree(
            REPO / "examples",
            repo / "examples",
            ignore=shutil.ignore_patterns("__pycache__", "runs"),
        )
        (repo / "scenarios").mkdir()
        for name in SCENARIOS:
            shutil.copy(REPO / "scenarios" / f"{name}.yaml", repo / "scenarios")
        (repo / "README.md").write_text("# trainer\n")
        (repo / ".gitignore").write_text("runs/\n.ttfb/\n")
        git.init_repo(repo)
        base = git.commit_all(repo, "base")
        print("learning the dependency map and measuring the base…", file=sys.stderr)
        base_samples = measure(repo, list(SCENARIOS), args.runs, tmp)
        dm_path = repo / ".ttfb" / "history.sqlite"
        for name, samples in base_samples.items():
            depmap.record_samples(dm_path, name, samples, revision=base)
        dm = depmap.load(dm_path)
        files = {n: (e.imported, e.opened) for n, e in dm.entries.items()}
        infos = [selection.scenario_info(s, root=repo) for s in load_all(repo / "scenarios")]
        full_cost = sum(s.est_seconds * (2 * 20 + 2) for s in infos)

        scenarios = {s.name: s for s in load_all(repo / "scenarios")}
        base_tree = tmp / "base-tree"
        git.run(["worktree", "add", "--quiet", "--detach", str(base_tree), base], cwd=repo)
        (tmp / "w-base").mkdir()
        (tmp / "w-head").mkdir()
        base_jobs = {
            n: scenario_job(scenarios[n], root=base_tree, workdir=tmp / "w-base") for n in SCENARIOS
        }
        truth: list[set[str]] = []
        plans_input = []
        truth_runs = 0
        for i, (label, edit) in enumerate(CHANGES):
            git.run(["checkout", "--quiet", "-B", f"change-{i}", base], cwd=repo)
            edit(repo)
            head = git.commit_all(repo, label)
            changes = [
                selection.Change(p, s, o) for s, p, o in git.changed_paths(base, head, cwd=repo)
            ]
            hit = set()
            for n in SCENARIOS:
                head_job = scenario_job(scenarios[n], root=repo, workdir=tmp / "w-head")
                yes, runs = moved(base_jobs[n], head_job, args.moved_s, repo)
                truth_runs += runs
                if yes:
                    hit.add(n)
            truth.append(hit)
            plans_input.append((label, changes, head))
            print(f"{i + 1:2d}/{len(CHANGES)} {label}: moved {sorted(hit) or '-'}", file=sys.stderr)

    rows = [
        (
            "CPU budget (share of full suite)",
            "recall (change, scenario)",
            "recall (moving changes)",
            "cost spent (share of full suite)",
            "explored",
        )
    ]
    missed: dict[float, list[str]] = {}
    for share in (0.2, 0.33, 0.5, 1.0):
        caught = total = caught_changes = moving = 0
        spent = explored = 0.0
        for (_label, changes, head), hit in zip(plans_input, truth, strict=True):
            p = selection.plan(
                changes,
                infos,
                files,
                budget_cpu_s=share * full_cost,
                budget_gpu_s=0.0,
                settings=selection.Settings(seed=int(head[:8], 16)),
            )
            chosen = {x.scenario for x in p.selected}
            missed.setdefault(share, []).extend(f"{_label} → {n}" for n in sorted(hit - chosen))
            caught += len(hit & chosen)
            total += len(hit)
            if hit:
                moving += 1
                caught_changes += bool(hit & chosen)
            spent += sum(x.cost_s for x in p.selected) / full_cost
            explored += sum(1 for x in p.selected if x.why == "exploration")
        rows.append(
            (
                f"{share:.0%}",
                f"{caught}/{total} = {caught / max(total, 1):.1%}",
                f"{caught_changes}/{moving} = {caught_changes / max(moving, 1):.1%}",
                f"{spent / len(plans_input):.1%}",
                f"{explored:.0f} runs",
            )
        )
    print(
        f"\n{len(CHANGES)} change sets, {sum(bool(t) for t in truth)} moved TTFB of at "
        f"least one scenario ({sum(len(t) for t in truth)} (change, scenario) pairs); "
        f"ground truth from paired base/head runs ({truth_runs} process runs), a segment "
        f"growing by ≥ {args.moved_s:g} s in two pairs\n"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for share, names in missed.items():
        if names:
            print(f"\nmissed at {share:.0%}: " + "; ".join(names))


if __name__ == "__main__":
    main()
