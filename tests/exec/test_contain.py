"""Nothing a sample starts outlives it, its output is capped, and it never learns where the
trusted state lives."""

from __future__ import annotations

import json
import os
import time

import pytest

from bot.exec import contain, spawn
from bot.exec.process import ProcessExecutor
from bot.model import Job

from ..conftest import PYTHON

DAEMON = """
import os, subprocess, sys, time
import ttfb_lab
marker = sys.argv[1]
code = "import os, sys, time; time.sleep(2.5); open(sys.argv[1], 'w').write('outlived')"
if sys.argv[2] == "setsid":
    subprocess.Popen([sys.executable, "-c", code, marker], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
else:  # a double fork: the grandchild is orphaned and leaves the session
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(2.5)
            open(marker, "w").write("outlived")
        os._exit(0)
time.sleep(0.3)
ttfb_lab.first_batch()
"""


@pytest.mark.parametrize("means", ["host", "subreaper"])
@pytest.mark.parametrize("how", ["setsid", "double-fork"])
def test_a_daemon_started_by_the_sample_ends_with_it(tmp_path, monkeypatch, how, means):
    """By a cgroup of its own where the host allows one (else as below), and by the child
    subreaper and the environment token, as on a runner without cgroup delegation."""
    if means == "subreaper":
        monkeypatch.setattr(contain, "_cgroup_root", lambda: None)
    script = tmp_path / "t.py"
    script.write_text(DAEMON)
    marker = tmp_path / "marker"
    job = Job(argv=(PYTHON, str(script), str(marker), how), cwd=tmp_path, timeout_s=30)
    sample = ProcessExecutor().run(job)
    assert sample.ok, sample.error
    time.sleep(3.5)  # past the daemon's 2.5 s
    assert not marker.exists(), f"a {how} daemon outlived its sample"


def test_output_over_the_cap_ends_the_sample_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(spawn, "OUTPUT_CAP_BYTES", 1024 * 1024)
    script = tmp_path / "t.py"
    script.write_text(
        "import sys, time\nfor _ in range(200):\n    sys.stdout.write('x' * 65536)\n"
        "    sys.stdout.flush()\n    time.sleep(0.01)\ntime.sleep(30)\n"
    )
    started = time.monotonic()
    sample = ProcessExecutor().run(Job(argv=(PYTHON, str(script)), cwd=tmp_path, timeout_s=60))
    assert time.monotonic() - started < 15
    assert sample.status == "crashed" and "output over the cap of 1 MB" in (sample.error or "")


def test_measured_code_never_sees_the_history_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TTFB_LAB_DB", str(tmp_path / "history.sqlite"))
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    seen = tmp_path / "env.json"
    script = tmp_path / "t.py"
    script.write_text(
        "import json, os, sys\nimport ttfb_lab\n"
        "json.dump(dict(os.environ), open(sys.argv[1], 'w'))\nttfb_lab.first_batch()\n"
    )
    sample = ProcessExecutor().run(Job(argv=(PYTHON, str(script), str(seen)), cwd=tmp_path))
    assert sample.ok, sample.error
    env = json.loads(seen.read_text())
    assert "TTFB_LAB_DB" not in env and "GITHUB_TOKEN" not in env
    assert os.environ["TTFB_LAB_DB"] == str(tmp_path / "history.sqlite")  # ours is intact
    assert env["TTFB_LAB_OUT"].endswith("probe.json")  # the probe's own contract, as ever
