"""Whether py-spy attaches here is asked once per run, with a stand-in py-spy: a script that
loses the race to attach a given number of times, then records."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.exec import profiler

FAKE = """\
#!{python}
import sys
from pathlib import Path

tries = Path({tries!r})
if sys.argv[1:] == ["--version"]:
    print("py-spy 9.9.9")
    sys.exit(0)
done = int(tries.read_text()) if tries.exists() else 0
tries.write_text(str(done + 1))
if done < {failures}:
    print("thread '<unnamed>' panicked", file=sys.stderr)
    print("   6: std::sys::thread::unix::Thread::new::thread_start", file=sys.stderr)
    sys.exit(1)
out = Path(sys.argv[sys.argv.index("--output") + 1])
out.write_text("process 1:\\"python\\";<module> (-c:1) 3\\n")
"""


def fake_py_spy(tmp_path: Path, failures: int) -> tuple[str, Path]:
    tries = tmp_path / "tries"
    exe = tmp_path / f"py-spy-{failures}"
    exe.write_text(FAKE.format(python=sys.executable, tries=str(tries), failures=failures))
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
