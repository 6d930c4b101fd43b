"""Config trees built in code and overridden with ``--a.b=value`` (minGPT's ``CfgNode`` and
``merge_from_args``): defaults read through the script and the package it imports from, and
the shrunk values appended as arguments the script really applies."""

from __future__ import annotations

import json
import subprocess

from bot.shrink import attrconfig

from ..conftest import PYTHON
from .test_styles import changed, shrunk

NODE = '''\
from ast import literal_eval


class CN:
    """A config node: attributes, and --a.b=value arguments merged onto them."""

    def merge_from_args(self, args):
        for arg in args:
            key, val = arg[2:].split("=")
            try:
                val = literal_eval(val)
            except ValueError:
                pass
            *parents, last = key.split(".")
            node = self
            for p in parents:
                node = getattr(node, p)
            setattr(node, last, val)

    def to_dict(self):
        return {k: v.to_dict() if isinstance(v, CN) else v for k, v in self.__dict__.items()}
'''
TRAINER = """\
from pkg.node import CN


class Trainer:
    @staticmethod
    def get_default_config():
        C = CN()
        C.device = 'auto'
        C.num_workers = 4
        C.max_iters = None
        C.batch_size = 64
        C.learning_rate = 3e-4
        return C
"""
SCRIPT = """\
import json
import sys

from pkg.node import CN
from pkg.trainer import Trainer


class CharDataset:
    @staticmethod
    def get_default_config():
        C = CN()
        C.block_size = 128
        return C


def get_config():
    C = CN()
    C.system = CN()
    C.system.seed = 3407
    C.data = CharDataset.get_default_config()
    C.trainer = Trainer.get_default_config()
    C.trainer.learning_rate = 5e-4
    return C


if __name__ == "__main__":
    config = get_config()
    config.merge_from_args(sys.argv[1:])
    print(json.dumps(config.to_dict()))
"""


def modules(name: str) -> str | None:
    return {"pkg.node": NODE, "pkg.trainer": TRAINER}.get(name)


def test_defaults_are_read_through_the_builders_and_the_package():
    got = attrconfig.read(SCRIPT, modules)
    assert got.values == {
        "system": {"seed": 3407},
        "data": {"block_size": 128},
        "trainer": {
            "device": "auto",
            "num_workers": 4,
            "max_iters": None,
            "batch_size": 64,
            "learning_rate": 5e-4,  # the script's own value wins over the class default
        },
    }
    assert got.texts["trainer.learning_rate"] == "5e-4"


def test_a_script_that_does_not_merge_arguments_is_not_read():
    plain = SCRIPT.replace("config.merge_from_args(sys.argv[1:])", "pass")
    assert attrconfig.read(plain, modules).values == {}
    assert attrconfig.read("def get_config(:", modules).values == {}


def test_a_mingpt_style_project_is_shrunk_from_its_subfolder(tmp_path):
    """The package at the repository's top, the script two folders down (``projects/chargpt``),
    run from there with the package on ``PYTHONPATH``: as minGPT's README says to."""
    (tmp_path / ".git").mkdir()  # the repository's top, where the package is found
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "node.py").write_text(NODE)
    (tmp_path / "pkg" / "trainer.py").write_text(TRAINER)
    here = tmp_path / "projects" / "chargpt"
    here.mkdir(parents=True)
    (here / "chargpt.py").write_text(SCRIPT)
    argv = ["python", "chargpt.py", "--system.seed=1"]
    out = shrunk(argv, here)
    assert out.argv[:3] == tuple(argv)  # what was given is kept byte for byte
    assert set(out.argv[3:]) == {
        "--data.block_size=64",
        "--trainer.batch_size=32",
        "--trainer.num_workers=2",
    }
    assert changed(out)["trainer.batch_size"] == (64, 32, "attribute-config")
    ran = subprocess.run(
        [PYTHON, *out.argv[1:]],
        cwd=here,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(ran.stdout)
    assert config["trainer"]["batch_size"] == 32 and config["data"]["block_size"] == 64
    assert config["system"]["seed"] == 1 and config["trainer"]["learning_rate"] == 5e-4
