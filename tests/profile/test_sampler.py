"""The in-process sampler on a job that reaches its first batch before the sampler's first
look: the profiling sample is taken again, a bounded number of times.

The sampler looks every 500 ms here (``--profile-rate 2``): a job that reports at once (its
interpreter's start-up, ~0.1 s) is never seen, and one that then spins 0.8 s always is. The job
counts its profiled runs in a file, and spins from run ``INSTANT_RUNS + 1`` on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.exec import profiler
from bot.probe import ENV_PROFILE_SAMPLER

pytestmark = pytest.mark.slow

TRAIN = f"""\
import os, time
from pathlib import Path

import ttfb_lab

if os.environ.get("{ENV_PROFILE_SAMPLER}"):
    runs = Path("profiled-runs")
    done = int(runs.read_text()) if runs.exists() else 0
    runs.write_text(str(done + 1))
    if done >= int(os.environ["INSTANT_RUNS"]):
        end = time.perf_counter() + 0.8
        while time.perf_counter() < end:
            pass
ttfb_lab.first_batch()
"""


def measure(run_ttfb, tmp_path: Path, monkeypatch, instant_runs: int) -> tuple[str, int]:
    """``ttfb measure --profile`` under the sampler; its output and the job's profiled runs."""
    (tmp_path / "train.py").write_text(TRAIN)
    monkeypatch.setenv("INSTANT_RUNS", str(instant_runs))
    ran = run_ttfb(
        *("measure", "--runs", "1", "--no-history", "--first-batch", "mark"),
        *("--profile", "--profiler", "sampler", "--profile-rate", "2", "--profile-runs", "1"),
        *("--profile-out", str(tmp_path / "flame.html"), "--", "python", "train.py"),
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.output
    return ran.output, int((tmp_path / "profiled-runs").read_text())


def test_a_sample_the_sampler_saw_nothing_of_is_taken_again(run_ttfb, tmp_path, monkeypatch):
    output, runs = measure(run_ttfb, tmp_path, monkeypatch, instant_runs=1)
    assert runs == 2, output
    assert "profile: 1 samples under in-process sampler" in output, output
    assert (tmp_path / "flame.html").exists()


def test_the_retakes_are_bounded_and_the_error_says_how_many(run_ttfb, tmp_path, monkeypatch):
    output, runs = measure(run_ttfb, tmp_path, monkeypatch, instant_runs=99)
    assert runs == profiler.SAMPLER_TRIES
    assert f"wrote no stacks in {profiler.SAMPLER_TRIES} runs of the job" in output, output
