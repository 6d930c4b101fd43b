"""The ``startup`` detect mode, where instruction counts end: the first forward of any kind,
a loader's first batch, or the mark — before an evaluation's tensor work, not after it."""

from __future__ import annotations

from .test_probe import EVAL_FIRST, run_probe


def test_start_up_ends_at_the_evaluation_that_comes_before_training(write_script):
    script = write_script("train.py", EVAL_FIRST)
    report, proc = run_probe(script, "no_grad", detect="startup")
    assert proc.returncode == 0, proc.stderr
    phases = report["phases"]
    assert report["detected_by"] == "eval_forward"
    assert report["first_batch_s"] == phases["first_eval_forward"]
    assert "first_forward" not in phases and report["eval_forwards"] == 1
    again = script.parent / "again"  # the same job to its first training forward (own report)
    again.mkdir()
    (again / "train.py").write_text(EVAL_FIRST)
    trained, _ = run_probe(again / "train.py", "no_grad")
    # what a count to start-up's end leaves to wall time: the evaluation's 0.3 s and more
    assert trained["phases"]["first_forward"] - trained["phases"]["first_eval_forward"] >= 0.3
