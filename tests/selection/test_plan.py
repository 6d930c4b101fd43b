"""Selection: the pure ranking and budgets, then a real git repository of the example trainer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.selection.candidates import Change, ScenarioInfo, matches, scenario_info
from bot.selection.plan import Learned, Settings, plan
from bot.store import depmap_db

from ..conftest import REPO, commit, git, init_example_repo

A = ScenarioInfo(
    "a", globs=("src/a/**",), own_files=("scenarios/a.yaml", "configs/a.yaml"), est_seconds=5
)
B = ScenarioInfo("b", globs=("src/b/**",), own_files=("scenarios/b.yaml",), est_seconds=5)
G = ScenarioInfo("g", globs=("src/a/**",), est_seconds=10, gpu=1, runner=("self-hosted", "gpu"))
DEPMAP = {
    "a": (frozenset({"src/a/model.py", "src/common.py"}), frozenset({"data/a.csv"})),
    "b": (frozenset({"src/b/model.py", "src/common.py"}), frozenset()),
    "g": (frozenset({"src/a/model.py", "src/common.py"}), frozenset()),
}
COST = 5 * (2 * 20 + 2)  # est_seconds × (2 × pairs + 2)


def run_plan(
    paths, *, cpu=10_000.0, gpu=10_000.0, explore=0.0, history=None, seed=0, explore_gpu=False
):
    changes = [p if isinstance(p, Change) else Change(p) for p in paths]
    return plan(
        changes,
        [A, B, G],
        DEPMAP,
        budget_cpu_s=cpu,
        budget_gpu_s=gpu,
        learned=history,
        settings=Settings(explore=explore, seed=seed, explore_gpu=explore_gpu),
    )


def names(p):
    return [x.scenario for x in p.selected]


def test_empty_change_selects_nothing():
    p = run_plan([])
    assert p.selected == () and p.unmapped == ()
    assert {s for s, _ in p.skipped} == {"a", "b", "g"}


def test_docs_only_change_selects_nothing_and_is_ignored_not_unmapped():
    p = run_plan(["README.md", "docs/guide.md", "docs/img/x.png"])
    assert p.selected == ()
    assert p.ignored == ("README.md", "docs/guide.md", "docs/img/x.png")
    assert p.unmapped == ()


def test_import_beats_glob_and_reasons_name_the_path():
    p = run_plan(["src/b/model.py"])
    assert names(p) == ["b"]
    assert p.selected[0].reason == "src/b/model.py (import)"
    p = run_plan(["src/a/new_helper.py"])  # nobody imports it yet: the globs still catch it
    assert set(names(p)) == {"a", "g"}
    assert all("(glob)" in x.reason for x in p.selected)


def test_shared_module_selects_everything_that_imports_it():
    assert set(names(run_plan(["src/common.py"]))) == {"a", "b", "g"}


def test_opened_data_file():
    p = run_plan(["data/a.csv"])
    assert names(p) == ["a"] and "(open)" in p.selected[0].reason


def test_a_dependency_file_touches_every_scenario_whose_environment_uses_it(tmp_path):
    from bot.scenarios import parse_scenario

    uses = parse_scenario(
        {"name": "u", "command": "python t.py", "environment": {"requirements": "req/base.txt"}},
        source=tmp_path / "u.yaml",
    )
    other = parse_scenario({"name": "o", "command": "python t.py"}, source=tmp_path / "o.yaml")
    infos = [scenario_info(s, root=tmp_path) for s in (uses, other)]
    p = plan([Change("req/base.txt")], infos, {}, budget_cpu_s=10_000.0, budget_gpu_s=0.0)
    assert names(p) == ["u"] and p.selected[0].reason == "req/base.txt (own)"


def test_the_script_a_scenario_runs_is_its_own_file_before_anything_is_mapped(tmp_path):
    # A first PR, no learned map yet: a change to the trainer itself must still select the
    # scenario that runs it, from the folder it runs in, and a module run by ``-m`` too.
    from bot.scenarios import parse_scenario

    (tmp_path / "lm" / "pkg").mkdir(parents=True)
    (tmp_path / "lm" / "pkg" / "main.py").write_text("")
    sub = parse_scenario(
        {"name": "sub", "command": "python train.py --epochs 1", "workdir": "lm"},
        source=tmp_path / "sub.yaml",
    )
    mod = parse_scenario(
        {"name": "mod", "command": "torchrun --nproc_per_node 2 -m pkg.main", "workdir": "lm"},
        source=tmp_path / "mod.yaml",
    )
    launcher = parse_scenario(
        {"name": "run", "command": "python -m torch.distributed.run --nproc 2 lm/fit.py"},
        source=tmp_path / "run.yaml",
    )
    infos = [scenario_info(s, root=tmp_path) for s in (sub, mod, launcher)]
    for path, want in (("lm/train.py", "sub"), ("lm/pkg/main.py", "mod"), ("lm/fit.py", "run")):
        p = plan([Change(path)], infos, {}, budget_cpu_s=10_000.0, budget_gpu_s=0.0)
        assert names(p) == [want] and p.selected[0].reason == f"{path} (own)", path


def test_seed_file_makes_every_scenario_a_must_run():
    p = run_plan(["requirements.txt"])
    assert set(names(p)) == {"a", "b", "g"}
    assert all(x.why == "must-run" for x in p.selected)
    own = run_plan(["configs/a.yaml"])
    assert names(own) == ["a"] and own.selected[0].why == "must-run"


def test_unmapped_paths_are_reported():
    p = run_plan(["tools/new_module.py", "src/b/model.py"])
    assert p.unmapped == ("tools/new_module.py",)
    assert names(p) == ["b"]


def test_renames_and_deletions_count_under_both_names():
    p = run_plan([Change("src/renamed.py", "R", old_path="src/b/model.py")])
    assert names(p) == ["b"]
    assert run_plan([Change("src/common.py", "D")]).selected != ()


def test_tiny_budget_never_exceeded_and_must_runs_dropped_plainly():
    p = run_plan(["src/common.py"], cpu=COST + 1)
    cpu = [x for x in p.selected if not x.gpu]
    assert len(cpu) == 1 and sum(x.cost_s for x in cpu) <= COST + 1
    assert any(s == "b" or s == "a" for s, r in p.skipped if "over the CPU budget" in r)
    seeds = run_plan(["pyproject.toml"], cpu=COST + 1, gpu=0)
    assert seeds.budget["cpu_spent_s"] <= COST + 1
    assert any("must-run scenario" in w for w in seeds.warnings)
    dropped = {s for s, r in seeds.skipped if "must-run" in r}
    assert dropped >= {"g"} and len(dropped) == 2


def test_gpu_scenario_with_zero_gpu_budget_is_skipped_with_that_reason():
    p = run_plan(["src/a/model.py"], gpu=0)
    assert names(p) == ["a"]
    assert dict(p.skipped)["g"] == "no GPU budget"


def test_ties_are_broken_by_name_and_history_moves_the_rank():
    p = run_plan(["src/common.py"], cpu=COST + 1, gpu=0)
    assert names(p) == ["a"]  # a and b tie on value and cost: the name decides
    hot = Learned(paths={"a": {"src/common.py": (50, 0)}, "b": {"src/common.py": (50, 20)}})
    assert names(run_plan(["src/common.py"], cpu=COST + 1, gpu=0, history=hot)) == ["b"]


def test_before_a_map_a_glob_tie_goes_to_the_scenario_named_like_the_changed_file(tmp_path):
    # Three scenarios of one trainer, alike to a glob and in cost, room for one: a change to
    # the ranker's dataset goes to the ranker's scenario (its name, its config), not to the
    # first name in the alphabet.
    from bot.scenarios import parse_scenario

    infos = [
        scenario_info(
            parse_scenario(
                {
                    "name": f"{family}-cpu",
                    "command": f"python -m trainer.train --config configs/{config}.yaml",
                    "paths": ["trainer/**"],
                    "resources": {"est_seconds": 4},
                },
                source=tmp_path / f"{family}.yaml",
            ),
            root=tmp_path,
        )
        for family, config in (("cnn", "vision"), ("lm", "lm"), ("ctr", "ranker"))
    ]
    one = 4 * (2 * 20 + 2) + 1
    for path, want in (
        ("trainer/datasets/ranker.py", "ctr-cpu"),  # by the config's name
        ("trainer/models/lm.py", "lm-cpu"),
        ("trainer/data_cnn_augment.py", "cnn-cpu"),
        ("trainer/optim.py", "cnn-cpu"),  # no word shared: the name decides
    ):
        p = plan([Change(path)], infos, {}, budget_cpu_s=one, budget_gpu_s=0.0)
        assert names(p) == [want], path
        assert {s for s, _ in p.skipped} == {i.name for i in infos} - {want}


def test_exploration_is_seeded_and_takes_at_most_one_cpu_scenario():
    """A change to b's model leaves a and g unselected. With certain exploration one of them
    is drawn, the same one for the same seed, never the GPU one, and never more than one."""
    p1 = run_plan(["src/b/model.py"], explore=1.0, seed=7)
    p2 = run_plan(["src/b/model.py"], explore=1.0, seed=7)
    assert p1 == p2
    explored = [x.scenario for x in p1.selected if x.why == "exploration"]
    assert explored == ["a"]
    assert "g" in dict(p1.skipped)
    for seed in range(20):  # whatever the draw, one scenario at most, and a CPU one
        p = run_plan(["src/b/model.py"], explore=1.0, seed=seed)
        assert [x.scenario for x in p.selected if x.why == "exploration"] == ["a"]
    gpu_ok = {
        x.scenario
        for seed in range(20)
        for x in run_plan(["src/b/model.py"], explore=1.0, seed=seed, explore_gpu=True).selected
        if x.why == "exploration"
    }
    assert gpu_ok == {"a", "g"}


def test_exploration_happens_with_its_probability():
    drawn = [
        any(
            x.why == "exploration"
            for x in run_plan(["src/b/model.py"], explore=0.2, seed=s).selected
        )
        for s in range(400)
    ]
    assert 0.12 < sum(drawn) / len(drawn) < 0.28
    assert not any(
        x.why == "exploration"
        for s in range(50)
        for x in run_plan(["src/b/model.py"], explore=0.0, seed=s).selected
    )


def test_a_docs_only_change_with_a_huge_budget_selects_nothing():
    """Regression: a 10% exploration slice of 100,000 s used to take every scenario, GPU
    included, for a README change."""
    for seed in range(20):
        p = run_plan(
            ["README.md", "docs/guide.md"], cpu=100_000, gpu=100_000, explore=1.0, seed=seed
        )
        assert p.selected == (), seed
        assert p.ignored == ("README.md", "docs/guide.md")


def test_exploration_fits_what_is_left_of_the_budget():
    p = run_plan(["src/b/model.py"], cpu=COST, gpu=0, explore=1.0)
    assert names(p) == ["b"]  # b took the whole budget: nothing left to explore with


def test_plan_json_and_matrix():
    doc = run_plan(["src/a/model.py"]).to_json()
    assert doc["version"] == 1
    assert {e["scenario"]: e["runs-on"] for e in doc["matrix"]["include"]} == {
        "a": ["ubuntu-latest"],
        "g": ["self-hosted", "gpu"],
    }
    assert all(e["family"] == 2 for e in doc["matrix"]["include"])


def test_glob_semantics():
    assert matches("README.md", "**/*.md") and matches("a/b/c.md", "**/*.md")
    assert matches("src/a/x/y.py", "src/a/**")
    assert not matches("src/ab.py", "src/a/**")


# --- a real repository ------------------------------------------------------------------------


HISTORY_DB = Path(".ttfb") / "history.sqlite"  # the module's repo keeps one history


@pytest.fixture(scope="module")
def example_repo(tmp_path_factory):
    """The example trainer and its CPU scenarios in a git repo, with a learned depmap."""
    repo = init_example_repo(
        tmp_path_factory.mktemp("sel") / "repo", copy=("ranker-cpu", "lm-cpu", "cnn-cpu")
    )
    (repo / ".gitignore").write_text("runs/\n.ttfb/\n")
    commit(repo, "base")
    assert (
        main(
            [
                "depmap",
                "update",
                "--all",
                "--root",
                str(repo),
                "--scenarios-dir",
                str(repo / "scenarios"),
                "--depmap",
                str(repo / HISTORY_DB),
            ]
        )
        == 0
    )
    return repo


def select(repo: Path, capsys, *extra: str) -> dict:
    out = repo.parent / "plan.json"
    assert (
        main(
            [
                "select",
                "--root",
                str(repo),
                "--scenarios-dir",
                str(repo / "scenarios"),
                "--base",
                "main",
                "--head",
                "HEAD",
                "--json",
                str(out),
                "--explore",
                "0",
                "--instructions",
                "off",  # these budgets are for wall-time pairs; counting has its own test
                "--depmap",
                str(repo / HISTORY_DB),
                *extra,
            ]
        )
        == 0
    )
    capsys.readouterr()
    return json.loads(out.read_text())


@pytest.mark.slow
def test_learned_map_has_family_specific_files(example_repo):
    dm = depmap_db.load(example_repo / HISTORY_DB).to_json()["scenarios"]
    assert "examples/trainer/models/cnn.py" in dm["cnn-cpu"]["imported"]
    assert "examples/trainer/models/cnn.py" not in dm["ranker-cpu"]["imported"]
    assert "examples/trainer/loop.py" in dm["ranker-cpu"]["imported"]
    # The production config is read by the shrinker, not the measured process: it reaches
    # the scenario as one of its own files instead.
    from bot.scenarios import load_scenario

    info = scenario_info(
        load_scenario(example_repo / "scenarios" / "ranker-cpu.yaml"), root=example_repo
    )
    assert "examples/configs/ranker.yaml" in info.own_files
    assert not any(".venv" in f or "site-packages" in f for f in dm["ranker-cpu"]["opened"])


@pytest.mark.slow
def test_family_module_change_selects_that_scenario_first(example_repo, capsys):
    git(example_repo, "checkout", "-q", "-b", "cnn-change", "main")
    path = example_repo / "examples" / "trainer" / "models" / "cnn.py"
    path.write_text(path.read_text() + "\nimport time  # planted\n")
    commit(example_repo, "cnn change")
    doc = select(example_repo, capsys, "--budget-cpu-s", "400")
    assert doc["selected"][0]["scenario"] == "cnn-cpu"
    assert "examples/trainer/models/cnn.py (import)" in doc["selected"][0]["reason"]
    assert doc["selected"][0]["score"] > max((s["score"] for s in doc["selected"][1:]), default=0)


@pytest.mark.slow
def test_shared_module_selects_all_that_import_it(example_repo, capsys):
    git(example_repo, "checkout", "-q", "-b", "shared-change", "main")
    path = example_repo / "examples" / "trainer" / "loop.py"
    path.write_text(path.read_text() + "\n# planted\n")
    commit(example_repo, "shared change")
    doc = select(example_repo, capsys)
    chosen = {s["scenario"]: s["reason"] for s in doc["selected"]}
    assert set(chosen) == {"ranker-cpu", "lm-cpu", "cnn-cpu"}
    assert all("loop.py (import)" in r for r in chosen.values())


@pytest.mark.slow
def test_rename_is_followed(example_repo, capsys):
    git(example_repo, "checkout", "-q", "-b", "rename", "main")
    git(example_repo, "mv", "examples/trainer/models/lm.py", "examples/trainer/models/gpt.py")
    commit(example_repo, "rename")
    doc = select(example_repo, capsys)
    first = doc["selected"][0]
    assert first["scenario"] == "lm-cpu"  # found through the old name it imported
    assert "examples/trainer/models/lm.py (import)" in first["reason"]
    assert all("(glob)" in s["reason"] for s in doc["selected"][1:])  # paths: globs only
    assert "examples/trainer/models/gpt.py" not in doc["unmapped"]
    code = main(
        [
            "select",
            "--root",
            str(example_repo),
            "--scenarios-dir",
            str(example_repo / "scenarios"),
            "--base",
            "main",
            "--explore",
            "0",
            "--budget-cpu-s",
            "200",
            "--instructions",
            "off",
            "--depmap",
            str(example_repo / HISTORY_DB),
            "--matrix",
        ]
    )
    assert code == 0
    matrix = capsys.readouterr().out
    assert json.loads(matrix) == {
        "include": [{"scenario": "lm-cpu", "runs-on": ["ubuntu-latest"], "gpu": False, "family": 1}]
    }


def test_select_bad_revision_is_one_line(capsys, tmp_path):
    assert main(["select", "--base", "nope-rev", "--root", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --base: unknown git revision 'nope-rev'") and err.count("\n") == 1


def test_candidates_spend_the_whole_budget():
    """No part of the budget is held back from candidates for exploration."""
    p = run_plan(["src/common.py"], cpu=2 * COST, gpu=0, explore=1.0)
    assert sorted(names(p)) == ["a", "b"]
    assert sum(x.cost_s for x in p.selected) <= 2 * COST


def test_tight_budget_spreads_over_the_changed_paths_before_doubling_up():
    """Two scenarios import the same changed files; a third reaches one that neither does.
    With room for two, the second pick is the one that sees the uncovered path, even though
    the redundant one is cheaper; with room for all, all run, and the plan says why."""
    x = ScenarioInfo("x", est_seconds=4)
    y = ScenarioInfo("y", est_seconds=4)
    z = ScenarioInfo("z", est_seconds=5)
    dm = {
        "x": (frozenset({"src/common.py", "src/x.py"}), frozenset()),
        "y": (frozenset({"src/common.py", "src/x.py"}), frozenset()),
        "z": (frozenset({"src/common.py", "src/z.py"}), frozenset()),
    }
    changes = [Change("src/common.py"), Change("src/x.py"), Change("src/z.py")]
    per_pair = 2 * 20 + 2

    def pick(budget):
        return plan(
            changes,
            [x, y, z],
            dm,
            budget_cpu_s=budget,
            budget_gpu_s=0,
            settings=Settings(explore=0.0),
        )

    tight = pick((4 + 5) * per_pair)
    assert names(tight) == ["x", "z"]
    assert "y" in dict(tight.skipped)
    loose = pick((4 + 4 + 5) * per_pair)
    assert names(loose) == ["x", "z", "y"]
    assert loose.selected[2].reason.endswith("covered by x already")
    assert loose.selected[2].score == 0.0 < loose.selected[1].score


def test_a_budget_equal_to_the_cost_fits_despite_rounding():
    """A budget exactly equal to the candidates' cost must not lose the last candidate to
    floating-point rounding, whatever the exploration setting."""
    x = ScenarioInfo("x", est_seconds=4)
    y = ScenarioInfo("y", est_seconds=4)
    dm = {n: (frozenset({"src/common.py"}), frozenset()) for n in ("x", "y")}
    full = 2 * 4 * (2 * 20 + 2)
    for fraction in (0.1, 0.3, 0.7):
        p = plan(
            [Change("src/common.py")],
            [x, y],
            dm,
            budget_cpu_s=full * 1.0,
            budget_gpu_s=0,
            settings=Settings(explore=fraction),
        )
        assert names(p) == ["x", "y"], fraction


def test_history_of_a_file_moves_the_rank_towards_the_scenario_it_moved():
    """a and b both import src/common.py; changes to it moved b five times out of five and a
    never. With room for one, b runs; a file with no history counts the prior, 0.1."""
    hist = Learned(paths={"a": {"src/common.py": (5, 0)}, "b": {"src/common.py": (5, 5)}})
    assert hist.path_rate("b", "src/common.py") > 0.1 > hist.path_rate("a", "src/common.py")
    assert hist.path_rate("a", "src/a/model.py") == 0.1
    assert names(run_plan(["src/common.py"], cpu=COST + 1, gpu=0, history=hist)) == ["b"]
    assert names(run_plan(["src/common.py"], cpu=COST + 1, gpu=0)) == ["a"]


def test_a_scenario_often_moved_elsewhere_does_not_outrank_the_importer_through_a_glob():
    """y was run for many shared-module changes, and they all moved it. A change to x.py,
    which only x imports and y reaches through its ``src/**`` glob, must still go to x: the
    history of other files says nothing about this one (a per-scenario rate did, and cut the
    benchmark's recall at a third of the suite from 23/24 to 18-19/24)."""
    x = ScenarioInfo("x", est_seconds=4)
    y = ScenarioInfo("y", globs=("src/**",), est_seconds=4)
    dm = {
        "x": (frozenset({"src/x.py", "src/common.py"}), frozenset()),
        "y": (frozenset({"src/common.py"}), frozenset()),
    }
    hist = Learned(paths={"y": {"src/common.py": (20, 20)}})
    p = plan(
        [Change("src/x.py")],
        [x, y],
        dm,
        budget_cpu_s=4 * (2 * 20 + 2),
        budget_gpu_s=0,
        learned=hist,
        settings=Settings(explore=0.0),
    )
    assert names(p) == ["x"]


TINY = """\
import sys, time
sys.path.insert(0, ".")
import slow, quiet
import ttfb_lab
ttfb_lab.mark("ready")
"""


@pytest.mark.slow
@pytest.mark.timing  # "moved" is the real compare's verdict on a planted 200 ms sleep
def test_a_revision_compare_records_which_changed_files_moved_the_scenario(tmp_path):
    """A real compare of two revisions: slow.py gains a 200 ms sleep (several times the
    script's start-up), notes.txt changes too.
    The map counts the verdict against slow.py (which the scenario imported), not against
    notes.txt (which it never used), and `ttfb select` reads it back."""
    repo = tmp_path / "repo"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "train.py").write_text(TINY)
    (repo / "slow.py").write_text("X = 1\n")
    (repo / "quiet.py").write_text("Y = 1\n")
    (repo / "notes.txt").write_text("a\n")
    (repo / "scenarios" / "tiny.yaml").write_text(
        "name: tiny\ncommand: [python, train.py]\nfirst_batch: 'mark:ready'\ntimeout_s: 60\n"
    )
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "slow.py").write_text("import time\ntime.sleep(0.2)\nX = 1\n")
    (repo / "notes.txt").write_text("b\n")
    head = commit(repo, "slow import")
    db = tmp_path / "history.sqlite"
    code = main(
        [
            "compare",
            "--root",
            str(repo),
            "--scenarios-dir",
            str(repo / "scenarios"),
            "--scenario",
            "tiny",
            "--base",
            base,
            "--head",
            head,
            "--pairs",
            "6",
            "--max-pairs",
            "12",  # a second look only when the first was disturbed
            "--seed",
            "1",
            "--no-attribute",
            "--db",
            str(db),
            "--depmap",
            str(db),
        ]
    )
    assert code == 0
    entry = depmap_db.load(db).entries["tiny"]
    assert "slow.py" in entry.imported and "notes.txt" not in entry.opened
    assert entry.compares == 1 and entry.moved == 1
    assert dict(entry.paths) == {"slow.py": (1, 1)}
    _, learned = depmap_db.selection_inputs(db)
    assert learned.paths["tiny"] == {"slow.py": (1, 1)}


def test_counting_costs_no_more_than_its_cap_allows():
    """A count is capped by the time of the timed samples and 5 minutes, and one that would
    not fit is not started; selection plans with the same bound. Planned at 4 counts of 32×
    each, a bundled scenario once cost 680 CPU-s, and the PR workflow's 900 s ran one
    scenario of the three a change reached."""
    from bot.selection.plan import cost_of

    small = ScenarioInfo("a", est_seconds=4)
    timed = 4 * (2 * 20 + 2)
    assert cost_of(small, Settings(count_slowdown=32.0)) == 2 * timed
    assert cost_of(small, Settings(count_slowdown=0.5)) == timed + 4 * 0.5 * 4
    assert cost_of(replace(small, counted=False), Settings(count_slowdown=32.0)) == timed
    big = ScenarioInfo("b", est_seconds=10)
    assert cost_of(big, Settings(count_slowdown=32.0)) == 10 * 42 + 300
