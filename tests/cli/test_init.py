"""``ttfb init``: a scenario written from one real run of a command, where the user stands, that
``measure --scenario`` then runs; and the one-line refusals that write nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.pipeline.scaffolding import scenario_name
from bot.scenarios import load_scenario

from ..conftest import commit, git, ttfb_process

TRAIN = """\
import json, os, sys
import ttfb_lab
import pkg

text = open("data/corpus.txt").read()
os.makedirs("runs", exist_ok=True)
with open("runs/log.txt", "w") as f:  # written by the run: not an input
    f.write(text)
ttfb_lab.first_batch()
"""


def ttfb(cwd: Path, *args: str, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    return ttfb_process(cwd, *args, env={"PYTHONPATH": pythonpath} if pythonpath else None)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A package at the top, the trainer in ``examples/lm`` reading an ignored corpus."""
    repo = tmp_path / "repo"
    sub = repo / "examples" / "lm"
    (sub / "data").mkdir(parents=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    (sub / "train.py").write_text(TRAIN)
    (repo / ".gitignore").write_text("data/\nruns/\n")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "the lm example")
    (sub / "data" / "corpus.txt").write_text("to be or not to be\n")
    return repo


def run_init(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # The bot's own package must stay importable beside the user's PYTHONPATH entry.
    bot = str(Path(__file__).parents[2])
    return ttfb(
        repo / "examples" / "lm",
        "init",
        *extra,
        "--",
        "python",
        "train.py",
        pythonpath=os.pathsep.join([str(repo), bot]),
    )


def test_init_writes_a_scenario_that_measure_then_runs(repo):
    made = run_init(repo)
    assert made.returncode == 0, made.stderr
    path = repo / "scenarios" / "lm-train.yaml"
    data = yaml.safe_load(path.read_text())
    assert made.stdout == path.read_text()
    assert data["name"] == "lm-train" and data["command"] == ["python", "train.py"]
    assert data["workdir"] == "examples/lm"
    assert data["inputs"] == ["examples/lm/data/corpus.txt"]  # read; runs/log.txt was written
    assert data["env"] == {"PYTHONPATH": "../.."}  # the repository, from the workdir
    assert data["paths"] == ["examples/lm/**"] and "shrink" not in data
    assert data["resources"]["gpu"] == 0 and data["resources"]["est_seconds"] >= 1
    assert f"wrote {path}; next: ttfb measure --scenario lm-train" in made.stderr
    load_scenario(path)  # valid against the schema
    measured = ttfb(repo, "measure", "--scenario", "lm-train", "--runs", "1", "--no-history")
    assert measured.returncode == 0, measured.stderr + measured.stdout
    assert "lm-train: 1 ok" in measured.stdout


def test_an_existing_scenario_is_kept_unless_forced(repo):
    assert run_init(repo).returncode == 0
    path = repo / "scenarios" / "lm-train.yaml"
    path.write_text(path.read_text() + "# mine\n")
    again = run_init(repo)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == (
        f"error: init: {path} exists; pass --force to replace it, or --name NAME"
    )
    assert path.read_text().endswith("# mine\n")
    assert run_init(repo, "--force").returncode == 0
    assert not path.read_text().endswith("# mine\n")


def test_a_command_that_fails_writes_nothing(repo):
    (repo / "examples" / "lm" / "data" / "corpus.txt").unlink()
    made = run_init(repo)
    assert made.returncode == 2
    last = made.stderr.strip().splitlines()[-1]
    assert last.startswith("error: init: the command did not reach its first batch: exit code 1")
    assert "corpus.txt" in last
    assert not (repo / "scenarios").exists()


@pytest.mark.parametrize(
    ("command", "where", "name"),
    [
        (["python", "chargpt.py"], "projects/chargpt", "chargpt"),
        (
            ["python", "train.py", "--epochs", "1"],
            "examples/word_language_model",
            "word_language_model-train",
        ),
        (["python", "-m", "trainer.train"], ".", "train"),
        (["python", "train.py", "config/train_shakespeare_char.py"], ".", "nanogpt-train"),
        (["torchrun", "--nproc_per_node=2", "main.py"], "distributed/ddp", "ddp-main"),
        (["accelerate", "launch"], ".", "accelerate"),
    ],
)
def test_scenario_names(command, where, name):
    top = "nanogpt" if "config/train_shakespeare_char.py" in command else ""
    assert scenario_name(command, where, top) == name


def test_without_scenarios_select_points_at_init(repo):
    ran = ttfb(repo / "examples" / "lm", "select", "--base", "HEAD", "--head", "HEAD")
    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        f"error: {repo / 'scenarios'}: scenario directory not found (write a first scenario with "
        "`ttfb init -- CMD ARGS` where you run the job, or pass --scenarios-dir DIR)"
    )


def test_outside_a_repository_init_says_so_before_running_anything(tmp_path):
    (tmp_path / "train.py").write_text("open('ran', 'w').write('yes')\n")
    ran = ttfb(tmp_path, "init", "--", "python", "train.py")
    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        f"error: init: {tmp_path} is not in a git repository (scenarios live in one)"
    )
    assert not (tmp_path / "ran").exists() and not (tmp_path / "scenarios").exists()


def test_the_one_run_is_the_shrunk_command_the_scenario_will_run(repo):
    """A production command can take minutes to its first batch (nanoGPT evaluates 2 × 200
    batches first): init runs it shrunk by ``auto``, as the scenario will."""
    sub = repo / "examples" / "lm"
    (sub / "train.py").write_text(
        "import argparse, ttfb_lab\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--batch-size', type=int, default=512)\n"
        "open('seen.txt', 'w').write(str(p.parse_args().batch_size))\n"
        "ttfb_lab.first_batch()\n"
    )
    commit(repo, "an argparse trainer")
    made = run_init(repo)
    assert made.returncode == 0, made.stderr
    assert "one run of the command, shrunk by auto, as the scenario will run it" in made.stderr
    assert (sub / "seen.txt").read_text() == "32"
    data = yaml.safe_load((repo / "scenarios" / "lm-train.yaml").read_text())
    assert data["shrink"] == {"auto": True} and "inputs" not in data  # seen.txt was written


def test_the_run_teaches_selection_what_the_scenario_imports(repo):
    """The package at the top is outside the scenario's ``paths``: selection knows the scenario
    depends on it from what init's run imported (the dependency map), not from a glob."""
    assert run_init(repo).returncode == 0
    base = commit(repo, "a scenario for the lm example")
    (repo / "pkg" / "__init__.py").write_text("SLOW = True\n")
    head = commit(repo, "pkg: slower")
    ran = ttfb(repo, "select", "--base", base, "--head", head, "--json", "plan.json")
    assert ran.returncode == 0, ran.stderr
    plan = yaml.safe_load((repo / "plan.json").read_text())
    assert [(p["scenario"], p["reason"]) for p in plan["selected"]] == [
        ("lm-train", "pkg/__init__.py (import)")
    ]


def test_the_next_commands_name_the_interpreter_the_run_used_when_it_is_not_ttfbs(repo, tmp_path):
    """The run used the ``python`` on ``PATH`` (an activated environment); a scenario's
    ``python`` is the interpreter running ttfb. When the two differ, the commands init
    suggests next pass ``--python`` so that they run what the one run ran."""
    bindir = tmp_path / "env" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(sys.executable)  # a path of its own: not ttfb's
    bot = str(Path(__file__).parents[2])
    where = repo / "examples" / "lm"
    for path_first, name in ((bindir, "apart"), (Path(sys.executable).parent, "same")):
        env = {
            "PYTHONPATH": os.pathsep.join([str(repo), bot]),
            "PATH": f"{path_first}{os.pathsep}{os.environ['PATH']}",
        }
        made = ttfb_process(where, "init", "--name", name, "--", "python", "train.py", env=env)
        assert made.returncode == 0, made.stderr
        (last,) = [line for line in made.stderr.splitlines() if line.startswith("wrote ")]
        if name == "apart":
            assert f"next: ttfb measure --scenario apart --python {bindir / 'python'}, then" in last
            assert f"--base-python {bindir / 'python'} --head-python {bindir / 'python'}" in last
        else:
            assert "--python" not in last, last
