"""The framework examples (examples/frameworks): real PyTorch Lightning and Hugging Face
``Trainer`` runs, and ``ttfb measure`` on their scenarios (lightning-cpu, hf-trainer-cpu).

Every test starts real framework processes (``import lightning`` or ``transformers`` alone
takes seconds), so all are slow. They need the ``frameworks`` extra, which ``make test``
installs; without it they are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path

import pytest

from bot.cli import main

from .conftest import PYTHON, REPO


def needs(*packages: str) -> pytest.MarkDecorator:
    """Skip unless every one of ``packages`` is installed (found without importing it)."""
    missing = [p for p in packages if find_spec(p) is None]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"{', '.join(missing)} not installed: "
        "pip install -e '.[frameworks]' (make test does)",
    )


LIGHTNING = needs("lightning")
TRANSFORMERS = needs("transformers", "accelerate")

TINY_LIGHTNING = [
    "--max-steps", "3", "--batch-size", "16", "--layers", "1", "--width", "16",
    "--train-rows", "128", "--val-rows", "32",
]  # fmt: skip
TINY_HF = [
    "--max_steps", "2", "--eval_strategy", "steps", "--eval_steps", "1",
    "--per_device_train_batch_size", "4", "--dataloader_num_workers", "0",
    "--n_layer", "1", "--n_embd", "32", "--seq_len", "16", "--train_rows", "32",
    "--eval_rows", "8",
]  # fmt: skip


def run_example(module: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m examples.frameworks.<module> ARGS`` from ``cwd`` (anything it writes into
    its working directory lands there, not in the checkout)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [PYTHON, "-m", f"examples.frameworks.{module}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
@LIGHTNING
def test_lightning_script_trains_after_its_sanity_check(tmp_path):
    root = tmp_path / "root"
    proc = run_example("lightning_train", [*TINY_LIGHTNING, "--root-dir", str(root)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = re.search(r"^done: (\d+) steps, train_loss [\d.]+", proc.stdout, re.M)
    assert done, proc.stdout
    assert int(done.group(1)) == 3
    # no logger, no checkpoints: nothing in the working directory but (at most) the root dir
    assert {p.name for p in tmp_path.iterdir()} <= {"root"}
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.slow
@TRANSFORMERS
def test_hf_script_evaluates_then_trains_offline(tmp_path):
    out = tmp_path / "out"
    proc = run_example("hf_train", [*TINY_HF, "--output_dir", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = re.search(r"^done: (\d+) steps, train_loss [\d.]+, (\d+) evaluations", proc.stdout, re.M)
    assert done, proc.stdout
    # eval_on_start, then one after each of the 2 steps
    assert (int(done.group(1)), int(done.group(2))) == (2, 3)
    assert {p.name for p in tmp_path.iterdir()} <= {"out"}
    assert not list(tmp_path.rglob("*.safetensors"))


def measure(scenario: str, tmp_path: Path) -> dict:
    """``ttfb measure --scenario NAME`` on the bundled scenario: one sample, no warm-up (each
    costs a framework start-up; the properties checked hold for every sample)."""
    out = tmp_path / "m.json"
    where = ["--root", str(REPO), "--scenarios-dir", str(REPO / "scenarios")]
    runs = ["--runs", "1", "--warmup", "0", "--no-history", "--no-depmap"]
    assert main(["measure", *where, "--scenario", scenario, *runs, "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "import_mark"),
    [
        pytest.param("lightning-cpu", "import_lightning", marks=LIGHTNING),
        pytest.param("hf-trainer-cpu", "import_transformers", marks=TRANSFORMERS),
    ],
)
def test_measure_takes_the_first_training_forward_after_the_evaluation(
    scenario, import_mark, tmp_path, capsys
):
    doc = measure(scenario, tmp_path)
    assert [s["status"] for s in doc["samples"]] == ["ok"]
    for s in doc["samples"]:
        phases = s["phases"]
        assert s["detected_by"] == "forward" and s["ttfb_s"] == phases["first_batch"]
        # torch is imported first, then the framework on top of it, then the Trainer built
        assert 0 < phases["import_torch"] < phases[import_mark] < phases["trainer_built"]
        # the imports are most of the TTFB (measured: ~80-95%)
        assert phases[import_mark] > 0.5 * s["ttfb_s"]
        # Lightning's sanity check / the Trainer's eval_on_start runs before the first step:
        # it is recorded as evaluation, not taken as the first batch
        assert phases["first_eval_forward"] < phases["first_forward"] == phases["first_batch"]
        assert s["eval_forwards"] >= 1
    assert import_mark in capsys.readouterr().out


def test_the_extra_and_the_workflows_requirements_pin_the_same_versions():
    import tomllib

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["frameworks"]
    lines = (REPO / "examples" / "frameworks" / "requirements.txt").read_text().splitlines()
    assert sorted(extra) == sorted(x for x in lines if x and not x.startswith("#"))
