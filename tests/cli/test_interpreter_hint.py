"""A job that cannot import what it needs says which interpreter ran and how to pick another."""

from __future__ import annotations

import subprocess

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
