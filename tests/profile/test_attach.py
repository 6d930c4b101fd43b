"""py-spy losing its race to attach, with a stand-in py-spy: a script that loses the race a
given number of times (or every job's), then records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot import git as gitlib
from bot.exec import profiler

from .test_real import ARMS  # the env-arms job: parse_records, then slow_path when SLOW=1

FAKE = """\
#!{python}
import sys
from pathlib import Path

if sys.argv[1:] == ["--version"]:
    print("py-spy 9.9.9")
    sys.exit(0)
checking = "import time; time.sleep(0.2)" in sys.argv  # the attach check's own process
tries = Path({tries!r})
done = int(tries.read_text()) if tries.exists() else 0
tries.write_text(str(done + 1))
if done < {failures} or (not checking and {loses_jobs}):
    print("Error: Failed to get process executable name. Check that the process is running.",
          file=sys.stderr)
    print("   1: py_spy::python_spy::PythonSpy::retry_new", file=sys.stderr)
    print("   6: std::sys::thread::unix::Thread::new::thread_start", file=sys.stderr)
    sys.exit(1)
out = Path(sys.argv[sys.argv.index("--output") + 1])
out.write_text("process 1:\\"python\\";<module> (-c:1) 3\\n")
"""


def fake_py_spy(tmp_path: Path, failures: int, *, loses_jobs: bool = False) -> tuple[str, Path]:
    """A stand-in py-spy that loses its first ``failures`` races to attach, and with
    ``loses_jobs`` every race but the attach check's; and the file counting its records."""
    tries = tmp_path / "tries"
    exe = tmp_path / "py-spy"
    script = FAKE.format(
        python=sys.executable, tries=str(tries), failures=failures, loses_jobs=loses_jobs
    )
    exe.write_text(script)
    exe.chmod(0o755)
    return str(exe), tries


@pytest.fixture(autouse=True)
def _fresh_answer():
    profiler.attaches.cache_clear()
    yield
    profiler.attaches.cache_clear()


def test_a_lost_race_is_tried_again_and_py_spy_is_used(tmp_path):
    exe, tries = fake_py_spy(tmp_path, failures=profiler.ATTACH_TRIES - 1)
    assert profiler.attaches(exe) == ("py-spy 9.9.9", "")
    assert tries.read_text() == str(profiler.ATTACH_TRIES)


def test_py_spy_that_never_attaches_gives_its_last_line_after_the_tries(tmp_path):
    exe, tries = fake_py_spy(tmp_path, failures=profiler.ATTACH_TRIES)
    version, why = profiler.attaches(exe)
    assert version == "" and why == (
        "py-spy cannot attach here:    6: std::sys::thread::unix::Thread::new::thread_start"
    )
    assert tries.read_text() == str(profiler.ATTACH_TRIES)  # bounded: no fourth try


def test_a_py_spy_that_cannot_run_is_not_tried_again(tmp_path):
    version, why = profiler.attaches(str(tmp_path / "missing-py-spy"))
    assert version == "" and why.startswith("py-spy cannot run:")


@pytest.mark.slow
def test_a_job_py_spy_cannot_catch_is_profiled_again_under_the_sampler(
    tmp_path, run_ttfb, monkeypatch
):
    """py-spy attaches to the check's process but loses every race to the job's (a job that
    reaches its first batch before py-spy has attached): both arms are profiled again under
    the in-process sampler, and the report says why."""
    exe, _ = fake_py_spy(tmp_path, failures=0, loses_jobs=True)
    monkeypatch.setattr(profiler, "find_py_spy", lambda: exe)
    (tmp_path / "train.py").write_text(ARMS)
    gitlib.init_repo(tmp_path)
    ran = run_ttfb(
        *("compare", "--name", "env", "--base-env", "SLOW=0", "--head-env", "SLOW=1"),
        *("--first-batch", "mark", "--pairs", "4", "--max-pairs", "4", "--no-attribute"),
        *("--no-history", "--profile", "--out-dir", str(tmp_path / "out")),
        *("--", "python", "train.py"),
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.output
    assert "base profiling sample failed; both arms again under in-process sampler" in ran.output
    (s,) = json.loads((tmp_path / "out" / "results.json").read_text())["scenarios"]
    p = s["profile"]
    assert "error" not in p, p["error"]
    assert p["profiler"].startswith("in-process sampler") and "lost the race" in p["profiler"]
    assert [r["function"] for r in p["rows"]][:1] == ["slow_path"], p["rows"]
