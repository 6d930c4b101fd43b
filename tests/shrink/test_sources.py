"""Where a command's values come from: its script, Python config files, Hydra configs, argv."""

from __future__ import annotations

import ast

import pytest

from bot.errors import ConfigError
from bot.shrink import argv as shrinkargs
from bot.shrink import hydra, pyconfig
from bot.shrink.sources import find

from ..conftest import REPO


def test_pyconfig_reads_module_level_literals_only_before_exec():
    read = pyconfig.read(
        "import os\n"
        "n_layer = 12  # comment\n"
        "lr: float = 6e-4\n"
        "accum = 5 * 8\n"
        "name = 'gpt2'\n"
        "dtype = 'bf16' if os.environ else 'fp16'\n"
        "shape = (8, 16)\n"
        "a = b = 3\n"
        "x, y = 1, 2\n"
        "steps = 10\n"
        "steps += 1\n"
        "if True:\n    hidden = 5\n"
        "exec(open('configurator.py').read())\n"
        "n_layer = 4\n"
        "after = 1\n"
    )
    assert read.execs
    names = {k: (v.value, v.text) for k, v in read.names.items()}
    assert names == {
        "lr": (6e-4, "6e-4"),
        "accum": (40, None),
        "name": ("gpt2", "'gpt2'"),
        "shape": ((8, 16), "(8, 16)"),
        "a": (3, "3"),
        "b": (3, "3"),
    }  # n_layer is reassigned after the exec: overriding it would not be seen


def test_pyconfig_tolerates_broken_files_and_finds_hydra_main():
    assert pyconfig.read("def (:\n") == pyconfig.PyConfig()
    read = pyconfig.read(
        "import hydra\n"
        "@hydra.main(version_base=None, config_path='conf', config_name='train')\n"
        "def main(cfg): ...\n"
    )
    assert read.hydra == ("conf", "train") and not read.execs
    assert pyconfig.read("@hydra.main('c', 'n')\ndef f(): ...\n").hydra == ("c", "n")


@pytest.mark.parametrize(
    ("script", "configs", "overridden", "mode"),
    [
        ("n_layer = 1\nexec(open('c.py').read())\n", [], [], (True, True)),
        ("n_layer = 1\n", [], ["n_layer"], (True, False)),  # no configurator: edit, never add
        ("n_layer = 1\n", [], ["n_layer", "other"], (False, False)),
        ("import argparse\n", [], ["steps"], (False, False)),
        (None, ["n_layer = 1\n"], ["n_layer"], (True, True)),
        (None, ["n_layer = 1\n"], [], (False, False)),  # e.g. an mmcv config: not this pattern
    ],
)
def test_python_mode_heuristic(script, configs, overridden, mode):
    read = pyconfig.read(script) if script is not None else None
    assert pyconfig.python_mode(read, [pyconfig.read(c) for c in configs], overridden) == mode


def test_program_finds_the_script_through_interpreters_and_launchers():
    exists = {"examples/trainer/train.py"}.__contains__
    cases = {
        ("python", "-u", "-X", "dev", "train.py", "--a=1"): ("train.py", 5),
        ("/venv/bin/python3.11", "-m", "examples.trainer.train", "--x"): (
            "examples/trainer/train.py",
            3,
        ),
        ("python", "-m", "pkg.missing", "--x"): (None, 3),
        ("python", "-m", "torch.distributed.run", "--nproc_per_node", "2", "t.py", "c.py"): (
            "t.py",
            6,
        ),
        ("torchrun", "--standalone", "--nproc_per_node=8", "train.py", "cfg.py"): ("train.py", 4),
        ("srun", "-N", "2", "python", "train.py"): ("train.py", 5),
        ("./train.py", "--steps", "1"): ("./train.py", 1),
        ("ttfb-train", "--steps", "1"): (None, 1),
        ("python", "-c", "print(1)", "x"): (None, 3),
    }
    for argv, (script, start) in cases.items():
        assert shrinkargs.program(argv, exists) == shrinkargs.Program(script, start), argv


def test_slots_know_each_style_and_skip_paths_and_bare_flags():
    argv = [
        "python",
        "t.py",
        "fit",
        "--config",
        "c.yaml",
        "-cn",
        "train",
        "--multirun",
        "a.b=1",
        "++c=2",
        "--fp16",
        "--max_steps",
        "-1",
        "--trainer.max_epochs=3",
        "--lr=1e-3",
        "--num-workers",
        "4",
    ]
    found = [(s.key, s.text, s.style, s.argument(argv)) for s in shrinkargs.slots(argv, 2)]
    assert found == [
        ("a.b", "1", "hydra-override", "a.b=1"),
        ("c", "2", "hydra-override", "++c=2"),
        ("max_steps", "-1", "hf-flag", "--max_steps -1"),
        ("trainer.max_epochs", "3", "lightning-flag", "--trainer.max_epochs=3"),
        ("lr", "1e-3", "flag", "--lr=1e-3"),
        ("num_workers", "4", "flag", "--num-workers 4"),
    ]
    options = shrinkargs.slots(["--cfg-options", "model.depth=50", "data.rows=9"], 0)
    assert [(s.key, s.style) for s in options] == [
        ("model.depth", "hydra-override"),
        ("data.rows", "hydra-override"),
    ]
    python = shrinkargs.slots(["--compile=False", "--n", "1"], 0, python=True)
    assert [(s.style, s.value) for s in python] == [("python-override", False), ("flag", 1)]


def test_hydra_compose_follows_defaults_packages_and_choices():
    files = {
        "config.yaml": "defaults:\n  - _self_\n  - model: big\n  - db@backup: pg\n"
        "  - optional absent: x\n  - override /extra: e\nmodel:\n  n_layer: 99\ntop: 1\n",
        "model/big.yaml": "n_layer: 24\nwidth: 1024\n",
        "model/small.yaml": "n_layer: 2\n",
        "db/pg.yaml": "port: 5432\n",
        "extra/e.yaml": "# @package _global_\ntrainer:\n  max_steps: 10\n",
    }
    load = files.get
    config = hydra.compose("config.yaml", load, {})
    assert config == {
        "model": {"n_layer": 24, "width": 1024},  # _self_ first: the group wins
        "top": 1,
        "backup": {"port": 5432},
        "trainer": {"max_steps": 10},
    }
    assert hydra.compose("config.yaml", load, {"model": "small"})["model"] == {"n_layer": 2}
    with pytest.raises(ConfigError, match=r"nope\.yaml: Hydra config not found"):
        hydra.compose("nope.yaml", load, {})


def test_hydra_location_from_flags_or_decorator():
    argv = ["python", "t.py", "--config-path=conf", "-cn", "train", "-cd", "/extra"]
    assert hydra.location(argv, 2, None) == hydra.Location("conf", "train.yaml", ("/extra",), True)
    assert hydra.location(["python", "t.py"], 2, ("c", "main.yml")) == hydra.Location(
        "c", "main.yml"
    )
    assert hydra.location(["python", "t.py"], 2, None) is None


def test_find_reports_a_missing_python_config_and_hydra_config(tmp_path):
    (tmp_path / "train.py").write_text("n_layer = 1\nexec(open('configurator.py').read())\n")
    with pytest.raises(ConfigError, match=r"config/missing\.py: Python config file not found"):
        find(["python", "train.py", "config/missing.py"], cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"x\.yaml: Hydra config not found"):
        find(["python", "train.py", "-cp", "conf", "-cn", "x"], cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"shrink\.config: Python config file not found"):
        find(["python", "train.py"], cwd=tmp_path, python_config="nope.py")


def test_find_on_the_example_trainer_sees_flags_only():
    found = find(
        ["python", "-m", "examples.trainer.train", "--config", "c.yaml", "--validate-only"],
        cwd=REPO,
    )
    assert found.program.script == "examples/trainer/train.py"
    assert found.slots == () and found.sources == ()


NEW_PURE = ("literal", "pyconfig", "hydra", "cmdline")
IMPURE = {"subprocess", "shutil", "socket", "sqlite3", "os", "pathlib", "requests", "urllib3"}


@pytest.mark.parametrize("module", NEW_PURE)
def test_new_shrink_cores_do_no_io(module):
    """As tests/test_architecture.py checks bot.shrink.rules/auto/spec/argv."""
    tree = ast.parse((REPO / "bot" / "shrink" / f"{module}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "open":
            imported.add("open()")
    assert not imported & (IMPURE | {"open()"}), (module, imported & IMPURE)
    assert not {"sources", "apply"} & {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level
    }
