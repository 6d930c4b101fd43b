"""The sample runner on real processes: timeouts, crashes, leftovers, missing first batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from bot.exec.process import ProcessExecutor
from bot.model import Job, Sample

from ..conftest import PYTHON, REPO, pid_alive

pytestmark = pytest.mark.slow


def run(script, tmp_path, *args, timeout=60.0, **kw) -> Sample:
    job = Job(
        argv=(PYTHON, str(script), *args), cwd=tmp_path, root=tmp_path, timeout_s=timeout, **kw
    )
    return ProcessExecutor().run(job)


def test_hanging_script_is_killed_with_its_children(write_script, tmp_path):
    script = write_script(
        "hang.py",
        """
        import subprocess, sys, time
        kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                for _ in range(2)]
        open("kids", "w").write(" ".join(str(k.pid) for k in kids))
        time.sleep(600)
        """,
    )
    start = time.monotonic()
    sample = run(script, tmp_path, timeout=3.0)
    assert time.monotonic() - start < 15
    assert sample.status == "timeout"
    assert "3 s timeout" in sample.error
    assert sample.ttfb_s is None
    kids = [int(p) for p in (tmp_path / "kids").read_text().split()]
    assert len(kids) == 2
    assert not any(pid_alive(pid) for pid in kids)


def test_crash_reports_stderr_tail(write_script, tmp_path):
    script = write_script(
        "crash.py",
        """
        import sys
        print("loading config", file=sys.stderr)
        raise ValueError("model.hidden must be positive")
        """,
    )
    sample = run(script, tmp_path)
    assert sample.status == "crashed"
    assert sample.exit_code == 1
    assert "ValueError: model.hidden must be positive" in sample.error
    assert sample.ttfb_s is None


def test_killed_by_signal_is_named(write_script, tmp_path):
    script = write_script("seg.py", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    sample = run(script, tmp_path)
    assert sample.status == "crashed"
    assert "SIGSEGV" in sample.error


def test_no_first_batch(write_script, tmp_path):
    script = write_script("plain.py", "print('no torch here')\n")
    sample = run(script, tmp_path)
    assert sample.status == "no_first_batch"
    assert "no first batch" in sample.error


def test_missing_executable(tmp_path):
    job = Job(argv=(str(tmp_path / "nope"),), cwd=tmp_path, timeout_s=5)
    sample = ProcessExecutor().run(job)
    assert sample.status == "crashed" and "cannot start" in sample.error


def test_orphaned_workers_do_not_outlive_the_sample(write_script, tmp_path):
    """At the first batch the main process exits; its busy workers must be ended too."""
    script = write_script(
        "train.py",
        """
        import os, time, torch

        class Slow(torch.utils.data.Dataset):
            def __len__(self):
                return 10_000
            def __getitem__(self, i):
                with open(f"worker-{os.getpid()}", "w"):
                    pass
                time.sleep(0.05)
                return torch.zeros(2)

        if __name__ == "__main__":
            dl = torch.utils.data.DataLoader(Slow(), batch_size=2, num_workers=2,
                                             multiprocessing_context="fork", prefetch_factor=8)
            model = torch.nn.Linear(2, 1)
            for x in dl:
                model(x)
        """,
    )
    start = time.monotonic()
    sample = run(script, tmp_path)
    elapsed = time.monotonic() - start
    assert sample.ok, sample.error
    workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
    assert len(workers) == 2
    assert not any(pid_alive(pid) for pid in workers)
    assert elapsed < sample.ttfb_s + 10  # we did not wait for the workers' queue to drain
    assert sample.notes == ()


def test_sample_json_round_trip():
    sample = Sample(
        status="ok",
        ttfb_s=1.5,
        cpu_s=1.2,
        phases={"import_torch": 1.0},
        imported_files=("a.py",),
        notes=("n",),
        arm="head",
    )
    assert Sample.from_json(sample.to_json()) == sample


CREDENTIALS = {
    "GITHUB_TOKEN": "ghs_secret",
    "GH_TOKEN": "ghp_secret",
    "ACTIONS_RUNTIME_TOKEN": "runtime",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://oidc.example",
    "ACTIONS_CACHE_URL": "https://cache.example",
    "ACTIONS_RUNTIME_URL": "https://runtime.example",
}


def test_a_measured_process_sees_no_credential_unless_its_scenario_keeps_one(
    write_script, tmp_path, monkeypatch
):
    """The release job holds a token that writes statuses and issues, and runs every bisected
    commit; bench jobs run pull-request code. Neither may hand it a credential."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARMLESS", "kept")
    script = write_script(
        "env.py",
        """
        import json, os
        import ttfb_lab
        json.dump(dict(os.environ), open("env.json", "w"))
        ttfb_lab.first_batch()
        """,
    )
    sample = run(script, tmp_path)
    assert sample.ok, sample.error
    seen = json.loads((tmp_path / "env.json").read_text())
    assert not set(CREDENTIALS) & set(seen), sorted(set(CREDENTIALS) & set(seen))
    assert seen["HARMLESS"] == "kept"
    kept = run(script, tmp_path, pass_env=("GH_TOKEN",))
    assert kept.ok
    seen = json.loads((tmp_path / "env.json").read_text())
    assert seen.get("GH_TOKEN") == "ghp_secret" and "GITHUB_TOKEN" not in seen


def test_a_shrink_validation_sees_no_credential_either(tmp_path, monkeypatch):
    from bot.shrink.apply import shrink_command
    from bot.shrink.spec import ShrinkSpec

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "cfg.yaml").write_text("steps: 100\n")
    check = "import os, sys; sys.exit(1 if os.environ.get('GITHUB_TOKEN') else 0)"
    spec = ShrinkSpec.parse(
        {"rules": {"steps": 2}, "validate": [PYTHON, "-c", check]}, source="test"
    )
    shrunk = shrink_command(
        ["python", "t.py", "--config", "cfg.yaml"],
        spec,
        root=tmp_path,
        workdir=tmp_path,
        python=PYTHON,
        name="s",
    )
    assert shrunk.validated


def test_a_crash_after_the_report_at_exit_keeps_its_exit_code(write_script, tmp_path):
    """The probe writes a report at exit (its first batch taken from a fallback trigger); a job
    that crashed and takes a while to exit after it is a crash, not an ok sample with exit 0."""
    script = write_script(
        "late.py",
        """
        import time
        from ttfb_lab import mark

        class SlowToTearDown:
            def __del__(self):
                time.sleep(2.5)  # torch's own teardown can take this long on a busy host

        keep = SlowToTearDown()
        mark("first_batch")  # a fallback trigger: the detect mode below never fires
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
        """,
    )
    sample = run(script, tmp_path, detect="mark:never")
    assert sample.status == "crashed", sample
    assert sample.exit_code == 1 and "shapes cannot be multiplied" in sample.error


def test_a_launchers_summary_does_not_hide_the_workers_error(write_script, tmp_path):
    """torchrun ends its stderr with a summary of its own that names no cause; the sample's
    error leads with the worker's exception, which the tail alone would have cut off."""
    worker = write_script("worker.py", "raise AttributeError(\"module 'torch._C' has no cuda\")\n")
    script = write_script(
        "launch.py",
        f"""
        import subprocess, sys
        subprocess.run([sys.executable, {str(worker)!r}])
        for i in range(30):
            print(f"rank      : {{i % 2}} | exitcode  : 1 | error_file: <N/A>", file=sys.stderr)
        sys.exit(1)
        """,
    )
    sample = run(script, tmp_path)
    assert sample.status == "crashed"
    assert sample.error.startswith(
        "exit code 1: AttributeError: module 'torch._C' has no cuda …: rank      : "
    ), sample.error


def test_terminal_escapes_in_stderr_never_reach_the_error(write_script, tmp_path):
    """The tail of a sample's stderr goes to terminals, CI logs and PR comments: colours, an OSC
    clipboard write and a progress bar's carriage returns are taken out, the words kept."""
    script = write_script(
        "noisy.py",
        r"""
        import sys
        sys.stderr.write("loading  10%\r loading 100%\n")
        sys.stderr.write("\x1b]52;c;ZXZpbA==\x07\x1b[1mRuntimeError: boom\x1b[0m\x00\n")
        sys.exit(1)
        """,
    )
    sample = run(script, tmp_path)
    assert sample.status == "crashed"
    assert sample.error == "exit code 1: loading  10% | loading 100% | RuntimeError: boom"
    assert not any(ord(c) < 32 or c == "\x7f" for c in sample.error)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_ttfb_leaves_no_sample_running(write_script, tmp_path, sig):
    """A cancelled CI job or a Ctrl-C ends ttfb: the sample it was running ends with it."""
    script = write_script(
        "sleepy.py",
        """
        import os, time
        # written whole, then renamed: the test must never read a half-written pid
        with open("pid.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace("pid.tmp", "pid")
        time.sleep(120)
        """,
    )
    argv = [PYTHON, "-m", "bot.cli", "measure", "--runs", "1", "--warmup", "0", "--no-history"]
    proc = subprocess.Popen(
        [*argv, "--", PYTHON, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background of a script inherits SIGINT
        # ignored, and Python keeps it ignored (no KeyboardInterrupt)
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "pid").exists(), "the sample never started"
        pid = int((tmp_path / "pid").read_text())
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # a failed step above: leave nothing running for later tests
            proc.kill()
            proc.communicate()
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert err.strip().splitlines()[-1] in ("terminated", "interrupted")
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid), err


def test_the_garbage_collectors_time_before_the_first_batch_is_in_the_sample(
    write_script, tmp_path
):
    """The probe times the cyclic collector up to the first batch: here four full collections
    of a heap of 200,000 lists before it, and one more after it that does not count."""
    script = write_script(
        "collects.py",
        """
        import gc, time, ttfb_lab
        heap = [[i] for i in range(200_000)]
        started = time.perf_counter()
        for _ in range(4):
            gc.collect()
        open("took", "w").write(str(time.perf_counter() - started))
        ttfb_lab.first_batch()
        gc.collect()
        """,
    )
    sample = run(script, tmp_path)
    assert sample.ok, sample.error
    took = float((tmp_path / "took").read_text())
    assert sample.gc_s is not None and took * 0.9 <= sample.gc_s <= took + 0.2, (took, sample)
    # the four, and any the heap's growth set off
    assert sample.gc_full is not None and sample.gc_full >= 4
    assert sample.gc_collections is not None and sample.gc_collections >= sample.gc_full
