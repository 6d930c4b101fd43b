"""The research-shaped GPT example end to end, in a fresh clone: its data is prepared into
ignored files by the scenario's ``setup:``, its Python-file config is shrunk in the program's
own syntax (``--compile=False`` untouched), and its first batch is the first training step
after the evaluation at step 0."""

from __future__ import annotations

import json
import shutil

import pytest

from bot.cli import main

from .conftest import REPO, commit, git

pytestmark = pytest.mark.slow


def test_gpt_scenario_prepares_shrinks_and_finds_the_first_training_step(
    tmp_path, capsys, run_ttfb
):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "gpt", repo / "examples" / "gpt")
    (repo / "scenarios").mkdir()
    shutil.copy(REPO / "scenarios" / "gpt-cpu.yaml", repo / "scenarios")
    shutil.rmtree(repo / "examples" / "gpt" / "data" / "chars", ignore_errors=True)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "gpt example")
    assert ".bin" not in git(repo, "ls-files")  # the prepared data is never tracked

    out = tmp_path / "m.json"
    runs = ["--runs", "1", "--warmup", "0", "--no-history", "--no-depmap", "--json", str(out)]
    code = main(["measure", "--root", str(repo), "--scenario", "gpt-cpu", *runs])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "setup `python data/prepare.py 300000`" in err and "not counted as TTFB" in err
    (sample,) = json.loads(out.read_text())["samples"]
    phases = sample["phases"]
    assert sample["detected_by"] == "forward" and sample["eval_forwards"] >= 2
    assert phases["first_eval_forward"] < phases["first_forward"] == phases["first_batch"]

    command = ["python", "train.py", "config/train_chars.py", "--compile=False", "--device=cpu"]
    shrunk = run_ttfb("shrink", "--auto", "--", *command, cwd=repo / "examples" / "gpt")
    argv = shrunk.stdout.split()
    assert shrunk.code == 0, shrunk.output
    assert argv[:5] == command  # every argument no rule touched, byte for byte
    assert "--max_iters=2" in argv and "--n_layer=2" in argv, shrunk.stdout
