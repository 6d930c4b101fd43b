"""``ttfb measure`` end to end: real processes, JSON output, skips and one-line errors."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.store.versioned import read_sample_log

from ..conftest import PYTHON, REPO

SCRIPT = """
import time, torch
time.sleep(0.05)
dl = torch.utils.data.DataLoader(list(range(8)), batch_size=4)
model = torch.nn.Linear(1, 1)
for b in dl:
    model(b.float().unsqueeze(1))
"""


@pytest.mark.slow
def test_measure_command_writes_versioned_json_and_log(run_ttfb, tmp_path, write_script):
    script = write_script("train.py", SCRIPT)
    out = tmp_path / "m.json"
    code, output, stdout = run_ttfb(
        *("measure", "--runs", "2", "--warmup", "0", "--json", str(out)),
        *("--", PYTHON, str(script)),
        cwd=tmp_path,
    )
    assert code == 0, output
    doc = json.loads(out.read_text())
    assert doc["version"] == 1
    assert [s["status"] for s in doc["samples"]] == ["ok", "ok"]
    for s in doc["samples"]:
        assert s["ttfb_s"] > 0.05 and s["cpu_s"] > 0 and s["peak_rss_mb"] > 0
        assert list(s["phases"])[:2] == ["interpreter_ready", "import_torch"]
    assert doc["summary"]["ok"] == 2 and doc["summary"]["ttfb_s"]["n"] == 2
    assert "TTFB" in stdout and "import_torch" in stdout
    header, samples = read_sample_log(out.with_suffix(".samples.jsonl"))
    assert header["kind"] == "ttfb-samples" and len(samples) == 2


@pytest.mark.slow
def test_measure_crashing_command_exits_1_with_stderr(run_ttfb, tmp_path, write_script):
    script = write_script("bad.py", "raise SystemExit('config: lr must be > 0')\n")
    code, _, out = run_ttfb("measure", "--runs", "3", "--", PYTHON, str(script), cwd=tmp_path)
    assert code == 1
    assert "1 crashed" in out  # the failed warm-up stops the run: no more attempts
    assert "lr must be > 0" in out


def test_gpu_scenario_is_skipped_not_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TTFB_LAB_GPUS", "0")
    from bot.exec import host as hostinfo

    hostinfo.gpus.cache_clear()
    code = main(
        [
            "measure",
            "--scenario",
            "ranker-gpu",
            "--scenarios-dir",
            str(REPO / "scenarios"),
            "--json",
            str(tmp_path / "m.json"),
        ]
    )
    hostinfo.gpus.cache_clear()
    assert code == 0
    out = capsys.readouterr().out
    assert "skipped: needs 1 GPU(s)" in out and "self-hosted, gpu" in out
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["summary"]["skipped"].startswith("needs 1 GPU(s)")
    hostinfo.gpus.cache_clear()
    code = main(
        [
            "compare",
            "--scenario",
            "ranker-gpu",
            "--scenarios-dir",
            str(REPO / "scenarios"),
            "--base-env",
            "A=1",
            "--head-env",
            "A=2",
            "--no-history",
        ]
    )
    hostinfo.gpus.cache_clear()
    out = capsys.readouterr().out
    assert "SKIPPED  ranker-gpu: skipped: needs 1 GPU(s)" in out, out  # said once, not twice


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["measure", "--scenario", "nope"], "error: --scenario: no scenario named 'nope'"),
        (["measure"], "error: measure: give --scenario NAME, --all, or a command after --"),
        (["measure", "--scenario", "x", "--", "true"], "not both"),
    ],
)
def test_measure_usage_errors_are_one_line(args, expected, capsys):
    code = main([args[0], "--scenarios-dir", str(REPO / "scenarios"), *args[1:]])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1


def test_malformed_scenario_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncommand: [python]\nresources: {gpu: two}\n")
    code = main(["measure", "--scenario", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {bad}: resources.gpu:")


@pytest.mark.parametrize("runs", ["0", "-1", "many"])
def test_bad_runs_argument(runs, capsys):
    with pytest.raises(SystemExit) as exited:  # argparse's usage error, as the process exits
        main(["measure", "--runs", runs, "--", "true"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--runs" in err and "positive integer" in err
