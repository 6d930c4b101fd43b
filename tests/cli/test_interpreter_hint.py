"""A job that cannot import what it needs says which interpreter ran and how to pick another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import PYTHON

MEASURE = (PYTHON, "-m", "bot.cli", "measure", "--runs", "1", "--warmup", "0", "--no-history")


def test_a_missing_module_names_the_interpreter_and_the_way_out(tmp_path):
    (tmp_path / "train.py").write_text("import torchvision_is_not_installed_here\n")
    proc = subprocess.run(
        [*MEASURE, "--", "python", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "cannot import 'torchvision_is_not_installed_here'" in out
    assert "choose the interpreter with --python PATH" in out
    assert "python" in out.split("cannot import")[0].rsplit(":", 1)[-1]  # the interpreter's path


def test_other_crashes_get_no_interpreter_hint(tmp_path):
    (tmp_path / "train.py").write_text("raise ValueError('bad config')\n")
    proc = subprocess.run(
        [*MEASURE, "--", "python", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "bad config" in proc.stdout + proc.stderr
    assert "choose the interpreter" not in proc.stdout + proc.stderr


def bare_python_on_path(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A ``bin/python`` that is this venv's base interpreter, first on ``PATH``: what an
    activated environment other than ttfb's own looks like (it lacks the ``bot`` package)."""
    assert sys.prefix != sys.base_prefix, "the suite runs in a venv (make setup)"
    base = getattr(sys, "_base_executable", sys.executable)
    bindir = tmp_path / "env" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(base)
    return bindir / "python", {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_a_bare_python_is_the_one_path_finds_and_the_hint_names_the_one_that_has_the_module(
    tmp_path,
):
    """``python`` in a typed command runs as the user's shell would run it, not as the
    interpreter ttfb was installed into (pipx, ``uv tool``); when that one lacks a module the
    interpreter running ttfb has, the hint names it."""
    env_python, env = bare_python_on_path(tmp_path)
    (tmp_path / "train.py").write_text(
        "import sys, pathlib\npathlib.Path('ran').write_text(sys.executable)\nimport bot\n"
    )
    proc = subprocess.run(
        [*MEASURE, "--", "python", "train.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert (tmp_path / "ran").read_text() == str(env_python)
    out = proc.stdout + proc.stderr
    assert f"{env_python} cannot import 'bot'; {PYTHON} can: choose it with --python PATH" in out
