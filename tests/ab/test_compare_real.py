"""``ttfb compare`` on real processes: properties, not exact numbers.

A planted 300 ms sleep must be a confirmed regression; identical arms must never be called a
regression; a crashing head is broken. Seeds are fixed and the planted effect is large
enough to be stable on a noisy 2-core machine.
"""

from __future__ import annotations

import json

import pytest

from ..conftest import PYTHON

pytestmark = pytest.mark.slow

# Torch-free: the subject here is the A/B engine on real processes, not the torch hooks (the
# probe's own tests cover those), so a sample takes tens of milliseconds, not seconds.
SCRIPT = """
import sys, time
import ttfb_lab

def main():
    if "--sleep" in sys.argv:
        time.sleep(float(sys.argv[sys.argv.index("--sleep") + 1]))
    if "--crash" in sys.argv:
        raise RuntimeError("head is broken: missing config key")
    ttfb_lab.mark("config_loaded")
    import json, decimal  # some real start-up work between the marks
    json.dumps({"rows": [decimal.Decimal(i) for i in range(2000)]}, default=str)
    ttfb_lab.first_batch()

if __name__ == "__main__":
    main()
"""


def compare(run_ttfb, tmp_path, base: str, head: str, *extra: str) -> tuple[int, dict, str]:
    (tmp_path / "train.py").write_text(SCRIPT)
    out = tmp_path / "out"
    code, output, _ = run_ttfb(
        *("compare", "--root", str(tmp_path), "--out-dir", str(out), "--seed", "1"),
        *("--base-cmd", f"{PYTHON} train.py {base}", "--head-cmd", f"{PYTHON} train.py {head}"),
        *extra,
        cwd=tmp_path,
    )
    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return code, doc, output


@pytest.mark.timing
def test_planted_300ms_sleep_is_a_confirmed_regression(run_ttfb, tmp_path):
    code, doc, output = compare(
        run_ttfb,
        tmp_path,
        "",
        "--sleep 0.3",
        *("--pairs", "6", "--max-pairs", "6", "--gate"),
        "--no-attribute",  # which import moved is test_attribution's; here, the engine
    )
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression", output
    assert s["confirmed"] is True
    assert code == 1  # gate mode
    moved = [p for p in s["phases"] if p["significant"]]
    assert moved and abs(sum(p["delta_s"] for p in moved) - 0.3) < 0.1, moved
    assert "REGRESSION" in output


@pytest.mark.timing
def test_identical_arms_are_not_a_regression(run_ttfb, tmp_path):
    code, doc, output = compare(
        run_ttfb, tmp_path, "", "", "--pairs", "10", "--max-pairs", "40", "--gate"
    )
    (s,) = doc["scenarios"]
    assert s["verdict"] in ("no_change", "inconclusive"), output
    assert code == 0


def test_crashing_head_is_broken(run_ttfb, tmp_path):
    code, doc, _ = compare(run_ttfb, tmp_path, "", "--crash", "--gate")
    (s,) = doc["scenarios"]
    assert s["verdict"] == "broken"
    assert "head sample crashed" in s["error"] and "missing config key" in s["error"]
    assert s["delta_pct"] is None
    assert code == 1
    assert "head is broken: missing config key" in (tmp_path / "out" / "comment.md").read_text()
