"""CPU work to first batch on real processes under valgrind: a spread change that wall time
cannot resolve in ten pairs is a confirmed regression on instructions, a planted sleep is
invisible to them, and an A/A ends ``no_change`` at the first look."""

from __future__ import annotations

import json
import shutil

import pytest

from ..conftest import PYTHON

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
]

SCRIPT = """
import sys, time
import ttfb_lab
if "--more-work" in sys.argv:
    import decimal, fractions  # imports more: CPU work spread over start-up
if "--sleep" in sys.argv:
    time.sleep(0.3)            # blocking: wall time only
import json
json.dumps({"rows": list(range(20000))})
ttfb_lab.first_batch()
"""


def compare(run_ttfb, tmp_path, head_flag: str, *extra: str) -> tuple[dict, str]:
    (tmp_path / "train.py").write_text(SCRIPT)
    out = tmp_path / "out"
    _, output, _ = run_ttfb(
        *("compare", "--root", str(tmp_path)),
        *("--base-cmd", f"{PYTHON} train.py", "--head-cmd", f"{PYTHON} train.py {head_flag}"),
        *("--first-batch", "mark", "--instructions", "on", "--no-history", "--seed", "1"),
        # a 50 ms script takes seconds under callgrind: more than its first look's samples
        *("--count-cap-s", "120"),
        *("--out-dir", str(out), *extra),
        cwd=tmp_path,
    )
    assert (out / "results.json").exists(), output
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    return s, output


def test_more_imports_are_a_confirmed_cpu_work_regression(run_ttfb, tmp_path):
    s, err = compare(run_ttfb, tmp_path, "--more-work", "--pairs", "4", "--max-pairs", "4")
    work = s["instructions"]
    assert work["stable"] and work["direction"] == 1 and work["delta_pct"] > 1, work
    assert work["confirm"]["reproduced"] is True
    assert s["verdict"] == "regression", s["reason"]
    assert "counting CPU work from start to the first forward, 1+1 run(s)" in err
    # the finding triggers attribution: it names what head newly imports
    assert any("newly imports" in x for x in s["attribution"]["sentences"]), s["attribution"]


def test_a_planted_sleep_does_not_move_the_instruction_count(run_ttfb, tmp_path):
    s, err = compare(
        run_ttfb, tmp_path, "--sleep", "--pairs", "4", "--max-pairs", "4", "--no-attribute"
    )
    assert "counting CPU work" in err, err  # --instructions on wins over conftest's off
    work = s["instructions"]
    assert work["stable"] and abs(work["delta_pct"]) < 0.1, work


@pytest.mark.quiet  # no_change at the first look needs the wall-time look to be quiet too
def test_an_aa_ends_no_change_at_the_first_look(run_ttfb, tmp_path):
    s, err = compare(run_ttfb, tmp_path, "", "--pairs", "10", "--max-pairs", "80")
    assert "counting CPU work" in err, err
    assert s["instructions"]["unchanged"], s["instructions"]
    assert s["verdict"] == "no_change" and s["pairs"] == 10, s["reason"]
    assert s["reason"].startswith("CPU work from start to the first forward unchanged")
