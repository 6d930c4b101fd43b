"""Which import it was: attribution samples under ``-X importtime`` on real processes, and the
sentence the reports carry."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from bot.ab.attribution import script_of
from bot.exec.process import ProcessExecutor
from bot.model import Job
from bot.stats import importtrace

from ..conftest import PYTHON

pytestmark = pytest.mark.slow

TRAIN = """
import telemetry, ttfb_lab
ttfb_lab.first_batch()
"""
TELEMETRY = """
import os
if os.environ.get("HEAVY") == "1":
    import fractions, decimal   # what the head change adds
"""


def test_compare_names_the_new_import_and_the_file_that_brought_it(run_ttfb, tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "telemetry.py").write_text(TELEMETRY)
    out = tmp_path / "out"
    _, output, _ = run_ttfb(
        *("compare", "--root", str(tmp_path)),
        *("--base-cmd", f"{PYTHON} train.py", "--head-cmd", f"{PYTHON} train.py"),
        *("--head-env", "HEAVY=1", "--first-batch", "mark", "--attribute"),
        *("--pairs", "4", "--max-pairs", "4", "--no-history", "--instructions", "off"),
        *("--out-dir", str(out)),
        cwd=tmp_path,
    )
    assert (out / "results.json").exists(), output
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    a = s["attribution"]
    assert "error" not in a, a
    added = {m["name"]: m for m in a["added"]}
    assert set(added) >= {"fractions"} or set(added) >= {"decimal"}, a["added"]
    sentence = next(x for x in a["sentences"] if "newly imports" in x)
    assert "first from telemetry.py" in sentence, a["sentences"]
    assert a["removed"] == []
    assert "newly imports" in (out / "comment.md").read_text()


def test_script_of_a_command():
    job = Job(argv=("/usr/bin/python3", "-u", "train.py", "--x=1"), cwd=Path("/r"), root=Path("/r"))
    assert script_of(job) == "train.py"
    job = Job(argv=("python", "-m", "examples.trainer.train", "--config", "c.yaml"), cwd=job.cwd)
    assert script_of(job) == "examples/trainer/train.py"
    assert script_of(Job(argv=("torchrun", "--nproc", "2", "x.py"), cwd=job.cwd)) is None


IMPORT_LINES = "import time: self [us] | cumulative | imported package\n"


def test_attribution_that_would_pass_the_budget_is_skipped_and_says_so(tmp_path):
    """A clear finding (head +30%, scripted) wants attribution samples; with a budget they do
    not fit in, none run, and the results, the terminal and the comment say why."""
    from bot.cli import main
    from bot.report.compare_view import render_comment

    segments = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}
    arm = {"segments": segments, "sd_pct": 2, "importtime": IMPORT_LINES}
    head = dict(arm, segments=dict(segments, model_built=0.9))
    fake = tmp_path / "fake.yaml"
    fake.write_text(json.dumps({"version": 1, "seed": 3, "arms": {"base": arm, "head": head}}))
    (tmp_path / "train.py").write_text("")
    out = tmp_path / "out"
    argv = ["compare", "--fake", str(fake), "--root", str(tmp_path), "--out-dir", str(out)]
    argv += ["--base-cmd", "python train.py", "--head-cmd", "python train.py --new"]
    argv += ["--no-history", "--no-profile", "--budget-s", "2", "--seed", "3"]
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(argv) == 0
    said = err.getvalue().splitlines()
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    assert s["verdict"] == "regression"
    skipped = s["attribution"]["skipped"]
    assert skipped.startswith("3+3 samples would take ~") and "of the budget left" in skipped
    assert "added" not in s["attribution"]
    assert any("imports not attributed: 3+3 samples" in line for line in said), said
    comment = render_comment(json.loads((out / "results.json").read_text()))
    assert "imports not attributed: 3+3 samples would take" in comment


def test_an_import_samples_garbage_collections_are_timed_by_the_module_being_imported(tmp_path):
    """The probe times each collection of an ``-X importtime`` sample against the module whose
    import it interrupted; the import tree then leaves it out of that module's own time."""
    (tmp_path / "train.py").write_text("import warmup, ttfb_lab\nttfb_lab.first_batch()\n")
    (tmp_path / "warmup.py").write_text(
        "import gc\nHEAP = [[i] for i in range(200_000)]\nfor _ in range(4):\n    gc.collect()\n"
    )
    job = Job(argv=(PYTHON, "train.py"), cwd=tmp_path, root=tmp_path, importtime=True)
    sample = ProcessExecutor().run(job)
    assert sample.ok, sample.error
    assert sample.importtime_gc["warmup"] > 0.02, sample.importtime_gc
    assert "ttfb_lab" not in sample.importtime_gc  # a module that did not collect
    traced = importtrace.parse(sample.importtime or "").get("warmup")
    own = importtrace.own_times(sample.importtime or "", sample.importtime_gc).get("warmup")
    assert traced is not None and own is not None
    taken = traced.self_us - own.self_us
    assert abs(taken - sample.importtime_gc["warmup"] * 1e6) <= 1, (traced, own)
