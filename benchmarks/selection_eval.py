"""Selection quality: recall of TTFB-moving changes against the share of full-suite cost.

Builds a git repository of the example trainer with its four CPU scenarios, learns the
dependency map, then applies 51 synthetic change sets, one branch each. Twenty-five are meant
to move TTFB (a slow or heavy import in one family's module, a slow model or dataset build, a
slow shared module, a slow config check, a synchronous metrics call, a start-method or
worker-count change in one config); the others are meant to be neutral (docs, comments,
tests, unrelated modules, configs nothing loads).

Ground truth is measured, not assumed: every scenario is run on every change set, paired
with a run of the base taken right before it (a worktree of the base commit), so the host's
drift cancels; a scenario *moved* if one of its phase segments grew by at least ``--moved-s``
seconds in three such pairs (planted effects are 0.6 s). ``--runs`` base samples per scenario
teach the dependency map. The plan of ``ttfb select`` for each change set is then scored at
several CPU budgets, given as a share of the full suite's cost:

- recall of moving changes: at least one scenario that moved was selected, so the PR is
  flagged (the measure of predictive test selection, "faulty changes caught");
- recall of (change, moved scenario) pairs;
- the share of the full suite's cost spent, on average over the change sets.

``--save FILE`` keeps the measured ground truth and map as JSON; ``--load FILE`` scores the
current selection code against it without measuring again. ``--learn-seed N`` scores a second
time with the history a bot would gather as the change sets land in a seeded order.

    .venv/bin/python benchmarks/selection_eval.py [--runs 3] [--moved-s 0.3] [--save F | --load F]
        [--learn-seed N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot import git  # noqa: E402
from bot.ab.targets import scenario_job  # noqa: E402
from bot.exec.process import ProcessExecutor  # noqa: E402
from bot.model import Job, Sample  # noqa: E402
from bot.scenarios import load_all  # noqa: E402
from bot.selection import candidates  # noqa: E402
from bot.selection import plan as selection  # noqa: E402
from bot.selection.depmap_model import DepMap, Entry  # noqa: E402
from bot.stats.calibration import wilson_upper  # noqa: E402
from bot.store import depmap_db as depmap  # noqa: E402

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


SLOW_CALL = '    __import__("time").sleep(0.6)  # planted\n'


def in_body(path: str, signature_end: str) -> Callable[[Path], None]:
    """A blocking call as the first statement of the function whose signature's last line
    ends with ``signature_end`` (after its docstring, when it has one)."""

    def edit(repo: Path) -> None:
        p = repo / path
        lines = p.read_text().splitlines(keepends=True)
        at = next(i for i, ln in enumerate(lines) if ln.rstrip().endswith(signature_end)) + 1
        if lines[at].lstrip().startswith('"""'):
            if lines[at].count('"""') < 2:  # a docstring over several lines
                at += 1
                while '"""' not in lines[at]:
                    at += 1
            at += 1
        lines.insert(at, SLOW_CALL)
        p.write_text("".join(lines))

    return edit


CHANGES: list[tuple[str, Callable[[Path], None]]] = [
    # meant to move TTFB (the ground truth below decides)
    ("slow import: models/ranker.py", prepend(f"{T}/models/ranker.py", SLEEP)),
    ("slow import: models/lm.py", prepend(f"{T}/models/lm.py", SLEEP)),
    ("slow import: models/cnn.py", prepend(f"{T}/models/cnn.py", SLEEP)),
    ("slow import: datasets/ranker.py", prepend(f"{T}/datasets/ranker.py", SLEEP)),
    ("slow import: datasets/cnn.py", prepend(f"{T}/datasets/cnn.py", SLEEP)),
    ("slow import: datasets/lm.py", prepend(f"{T}/datasets/lm.py", SLEEP)),
    (
        "heavy import (scipy.stats) in models/ranker.py",
        prepend(f"{T}/models/ranker.py", "import scipy.stats  # noqa: F401\n"),
    ),
    (
        "heavy import (scipy.signal) in models/cnn.py",
        prepend(f"{T}/models/cnn.py", "import scipy.signal  # noqa: F401\n"),
    ),
    (
        "heavy import (scipy.optimize) in datasets/lm.py",
        prepend(f"{T}/datasets/lm.py", "import scipy.optimize  # noqa: F401\n"),
    ),
    ("slow model build: models/lm.py", in_body(f"{T}/models/lm.py", "-> TransformerLM:")),
    ("slow model build: models/cnn.py", in_body(f"{T}/models/cnn.py", "-> ConvNet:")),
    (
        "slow dataset build: datasets/ranker.py",
        in_body(f"{T}/datasets/ranker.py", "-> ClickLogDataset:"),
    ),
    ("slow norm stats: preprocess.py", in_body(f"{T}/preprocess.py", ") -> NormStats:")),
    ("slow shared module: loop.py", prepend(f"{T}/loop.py", SLEEP)),
    ("slow shared module: registry.py", prepend(f"{T}/registry.py", SLEEP)),
    ("slow shared module: datasets/base.py", prepend(f"{T}/datasets/base.py", SLEEP)),
    ("slow shared module: synth.py", prepend(f"{T}/synth.py", SLEEP)),
    ("slow shared module: schema.py", prepend(f"{T}/schema.py", SLEEP)),
    ("slow shared module: preprocess.py", prepend(f"{T}/preprocess.py", SLEEP)),
    ("slow config check: config.py", prepend(f"{T}/config.py", SLEEP)),
    (
        "synchronous metrics call: telemetry.py",
        replace(
            f"{T}/telemetry.py",
            '    _queue.put({"event": event',
            '    __import__("time").sleep(0.6)\n    _queue.put({"event": event',
        ),
    ),
    ("slow entry point: train.py", prepend(f"{T}/train.py", SLEEP)),
    (
        "fork -> spawn workers: cnn.yaml",
        replace("examples/configs/cnn.yaml", "start_method: fork", "start_method: spawn"),
    ),
    (
        "spawn -> fork workers: lm.yaml",
        replace("examples/configs/lm.yaml", "start_method: spawn", "start_method: fork"),
    ),
    (
        "2 -> 4 spawn workers: lm.yaml",
        replace("examples/configs/lm.yaml", "num_workers: 2", "num_workers: 4"),
    ),
    # meant to be neutral
    ("docs: README", append("README.md", "\nMore words.\n")),
    ("docs: examples/README.md", append("examples/README.md", "\nA note.\n")),
    ("comment in models/cnn.py", append(f"{T}/models/cnn.py", "\n# a comment\n")),
    ("comment in loop.py", append(f"{T}/loop.py", "\n# a comment\n")),
    ("whitespace in models/lm.py", append(f"{T}/models/lm.py", "\n\n")),
    ("new test file", append("tests/test_extra.py", "def test_x():\n    assert True\n")),
    ("new unrelated tool", append("tools/plot.py", "import sys\nprint(sys.argv)\n")),
    ("new config nothing loads", append("examples/configs/big.yaml", "seed: 1\n")),
    (
        "new trainer module nothing imports",
        append(f"{T}/export.py", "def to_onnx(model):\n    return model\n"),
    ),
    (
        "docstring in models/ranker.py",
        replace(f"{T}/models/ranker.py", '"""', '"""Ranker. '),
    ),
    ("docstring in models/lm.py", replace(f"{T}/models/lm.py", '"""', '"""LM. ')),
    ("comment in config.py", append(f"{T}/config.py", "\n# note\n")),
    ("comment in preprocess.py", append(f"{T}/preprocess.py", "\n# note\n")),
    ("comment in datasets/base.py", append(f"{T}/datasets/base.py", "\n# note\n")),
    ("comment in schema.py", append(f"{T}/schema.py", "\n# note\n")),
    ("comment in datasets/lm.py", append(f"{T}/datasets/lm.py", "\n# note\n")),
    ("unused helper in synth.py", append(f"{T}/synth.py", "\n\ndef _unused():\n    return 1\n")),
    (
        "unused helper in registry.py",
        append(f"{T}/registry.py", "\n\ndef _names():\n    return []\n"),
    ),
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
    ("comment in models/ranker.py", append(f"{T}/models/ranker.py", "\n# note\n")),
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
    ``threshold`` means unmoved; otherwise two more pairs, in the opposite order and then the
    first again, decide, and the scenario moved if one segment grew by ``threshold`` in all
    three. Returns (moved, process runs)."""

    def pair(head_first: bool) -> dict[str, float]:
        if head_first:
            head_s = run_ok(head, where)
            return growth(run_ok(base, where), head_s)
        return growth(run_ok(base, where), run_ok(head, where))

    suspects = {k for k, d in pair(head_first=False).items() if d >= threshold}
    runs = 2
    for head_first in (True, False):
        if not suspects:
            break
        grown = pair(head_first)
        runs += 2
        suspects = {k for k in suspects if grown.get(k, 0.0) >= threshold}
    return bool(suspects), runs


def ground_truth(runs: int, moved_s: float) -> dict[str, Any]:
    """Measure: learn the map on the base, then every scenario on every change set."""
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
        base_samples = measure(repo, list(SCENARIOS), runs, tmp)
        dm_path = repo / ".ttfb" / "history.sqlite"
        for name, samples in base_samples.items():
            ok = [s for s in samples if s.ok]
            depmap.record(
                dm_path,
                name,
                imported=set().union(*(s.imported_files for s in ok)),
                opened=set().union(*(s.opened_files for s in ok)),
                revision=base,
            )
        dm = depmap.load(dm_path)

        scenarios = {s.name: s for s in load_all(repo / "scenarios")}
        with git.worktree(base, cwd=repo, parent=tmp) as base_tree:
            (tmp / "w-base").mkdir()
            (tmp / "w-head").mkdir()
            base_jobs = {
                n: scenario_job(scenarios[n], root=base_tree, workdir=tmp / "w-base")
                for n in SCENARIOS
            }
            out: list[dict[str, Any]] = []
            for i, (label, edit) in enumerate(CHANGES):
                git.run(["checkout", "--quiet", "-B", f"change-{i}", base], cwd=repo)
                edit(repo)
                head = git.commit_all(repo, label)
                hit, spent = [], 0
                for n in SCENARIOS:
                    head_job = scenario_job(scenarios[n], root=repo, workdir=tmp / "w-head")
                    yes, used = moved(base_jobs[n], head_job, moved_s, repo)
                    spent += used
                    if yes:
                        hit.append(n)
                out.append(
                    {
                        "label": label,
                        "head": head,
                        "changes": [list(c) for c in git.changed_paths(base, head, cwd=repo)],
                        "moved": hit,
                        "runs": spent,
                    }
                )
                print(f"{i + 1:2d}/{len(CHANGES)} {label}: moved {hit or '-'}", file=sys.stderr)
    return {
        "version": 1,
        "moved_s": moved_s,
        "base_runs": runs,
        "depmap": {n: [sorted(e.imported), sorted(e.opened)] for n, e in dm.entries.items()},
        "change_sets": out,
    }


def recall_cell(k: int, n: int) -> str:
    low = 1.0 - wilson_upper(n - k, n) if n else 0.0
    return f"{k}/{n} = {k / max(n, 1):.1%} (≥{low:.0%})"


class Learner:
    """The history a bot would gather while the change sets land one after another: each
    selected scenario's compare gives a verdict (here: the ground truth), counted by the
    dependency map as ``ttfb compare`` records it."""

    def __init__(self, files: dict[str, tuple[frozenset[str], frozenset[str]]]) -> None:
        self.dm = DepMap({n: Entry(imported=i, opened=o) for n, (i, o) in files.items()})

    def history(self) -> selection.Learned:
        return selection.Learned(paths={n: e.paths for n, e in self.dm.entries.items()})

    def record(self, chosen: set[str], hit: set[str], changed: set[str]) -> None:
        for n in chosen:
            self.dm = self.dm.with_verdict(n, moved=n in hit, changed=changed)


def score(truth: dict[str, Any], *, learn_seed: int | None = None) -> None:
    files = {
        n: (frozenset(imported), frozenset(opened))
        for n, (imported, opened) in truth["depmap"].items()
    }
    infos = [
        candidates.scenario_info(s, root=REPO)
        for s in load_all(REPO / "scenarios")
        if s.name in SCENARIOS
    ]
    per_scenario = {s.name: s.est_seconds * (2 * selection.Settings().pairs + 2) for s in infos}
    full_cost = sum(per_scenario.values())
    sets = truth["change_sets"]
    runs = sum(c["runs"] for c in sets)
    moving = [c for c in sets if c["moved"]]
    pairs = sum(len(c["moved"]) for c in sets)
    print(
        f"\n{len(sets)} change sets; {len(moving)} moved TTFB of at least one scenario "
        f"({pairs} (change, scenario) pairs). Ground truth: paired base/head runs "
        f"({runs} process runs), a phase segment growing by ≥ {truth['moved_s']:g} s in "
        f"three pairs.\n"
    )
    for c in sets:
        print(f"  {c['label']}: {', '.join(c['moved']) or '-'}")
    rows = [
        (
            "CPU budget (share of suite)",
            "recall, moving changes (95% low)",
            "recall, (change, scenario)",
            "cost spent (share of suite)",
            "explored runs",
        )
    ]
    missed: dict[str, list[str]] = {}
    order = list(sets)
    if learn_seed is not None:  # the order in which the change sets land
        random.Random(learn_seed).shuffle(order)
    for label, share in (("20%", 0.2), ("25%", 0.25), ("33%", 1 / 3), ("50%", 0.5), ("100%", 1.0)):
        caught = caught_changes = 0
        spent = explored = 0.0
        learner = Learner(files)
        for c in order:
            changes = candidates.changes_from(c["changes"])
            p = selection.plan(
                changes,
                infos,
                files,
                budget_cpu_s=share * full_cost,
                budget_gpu_s=0.0,
                learned=learner.history() if learn_seed is not None else None,
                settings=selection.Settings(seed=int(c["head"][:8], 16)),
            )
            chosen = {x.scenario for x in p.selected}
            hit = set(c["moved"])
            learner.record(chosen, hit, {q for ch in changes for q in ch.paths})
            missed.setdefault(label, []).extend(f"{c['label']} → {n}" for n in sorted(hit - chosen))
            caught += len(hit & chosen)
            caught_changes += bool(hit & chosen)
            spent += sum(x.cost_s for x in p.selected) / full_cost
            explored += sum(1 for x in p.selected if x.why == "exploration")
        rows.append(
            (
                label,
                recall_cell(caught_changes, len(moving)),
                recall_cell(caught, pairs),
                f"{spent / len(sets):.1%}",
                f"{explored:.0f}",
            )
        )
    print(
        "\nwith no history"
        if learn_seed is None
        else f"\nwith the history learned as the change sets land (order seed {learn_seed})"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(
        "\none scenario costs "
        + ", ".join(f"{n} {v / full_cost:.0%}" for n, v in sorted(per_scenario.items()))
        + " of the suite; (≥x%) is the 95% Wilson lower bound"
    )
    for label, names in missed.items():
        if names:
            print(f"\nmissed at {label}: " + "; ".join(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--moved-s", type=float, default=0.3)
    parser.add_argument("--save", type=Path, help="write the measured ground truth here")
    parser.add_argument("--load", type=Path, help="score against a saved ground truth")
    parser.add_argument(
        "--learn-seed",
        type=int,
        help="also score with the history gathered as the change sets land in a seeded order",
    )
    args = parser.parse_args()
    if args.load:
        truth = json.loads(args.load.read_text())
    else:
        truth = ground_truth(args.runs, args.moved_s)
        if args.save:
            args.save.write_text(json.dumps(truth, indent=1) + "\n")
    score(truth)
    if args.learn_seed is not None:
        score(truth, learn_seed=args.learn_seed)


if __name__ == "__main__":
    main()
