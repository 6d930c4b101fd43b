"""Instruction counters on real processes: what is counted, what repeats, what must not move.

Properties, not exact numbers: a count repeats within 0.1%, an extra import raises it, a
planted sleep does not, a forked child's work is counted (once under callgrind, together
with its parent's pre-fork instructions under cachegrind), a child still running at the
first batch is counted when the group is ended gently and lost when it ignores SIGTERM.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.errors import UsageError
from bot.exec.counters import (
    BACKENDS,
    THREAD_VARS,
    Count,
    Counter,
    Perf,
    Valgrind,
    choose,
    count_sample,
    determinism,
    parse_perf,
    read_valgrind,
    spread_pct,
    stable,
)
from bot.model import Job

from ..conftest import PYTHON

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind")
ADDR_NO_RANDOMIZE = 0x0040000
KEYS = ",".join(("PYTHONHASHSEED", *THREAD_VARS, "TTFB_CANARY"))

SCRIPT = """
import json, multiprocessing, os, sys, time
import ttfb_lab

def child():
    sum(range(200000))

def main():
    seen = {key: os.environ.get(key) for key in sys.argv[1].split(",")}
    with open("/proc/self/personality") as f:
        seen["personality"] = f.read().strip()
    with open("../seen.json", "w") as f:  # outside the script's directory (sys.path[0])
        json.dump(seen, f)
    if "--sleep" in sys.argv:
        time.sleep(0.3)
    if "--import" in sys.argv:
        import decimal  # a dependency that imports more
    if "--fork" in sys.argv:
        p = multiprocessing.get_context("fork").Process(target=child)
        p.start()
        p.join()
    if "--work" in sys.argv:
        child()
    ttfb_lab.first_batch()

if __name__ == "__main__":
    main()
"""

# The main process reports at once; its child is still starting (under valgrind) and must
# be let finish its work, then ended by SIGTERM so that valgrind writes its counts.
GENTLE = """
import subprocess, sys
import ttfb_lab

body = "import sys, time; sum(range(300000)); open('done', 'w').close(); time.sleep(600)"
if "--ignore-term" in sys.argv:
    body = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + body
subprocess.Popen([sys.executable, "-c", body])
ttfb_lab.first_batch()
"""


def job(script: Path, *args: str, timeout: float = 20.0) -> Job:
    return Job(
        argv=(PYTHON, str(script), *args),
        cwd=script.parent,
        root=script.parent,
        detect="mark",
        timeout_s=timeout,
        env={"TTFB_CANARY": "kept", "OMP_NUM_THREADS": "8"},
    )


def make(tmp: Path, name: str, text: str) -> Path:
    """``tmp/job/name``: work directories go to ``tmp/runs``, out of the script's directory
    (``sys.path[0]``), whose listing the import system reads and so counts."""
    (tmp / "job").mkdir(exist_ok=True)
    (tmp / "job" / name).write_text(text)
    return tmp / "job" / name


def count(script: Path, *args: str, mode: str = "valgrind", **kw: float) -> Count:
    runs = script.parent.parent / "runs"
    workdir = runs / f"{len(list(runs.glob('*'))) if runs.exists() else 0}"
    timeout = kw.pop("timeout", 20.0)
    return count_sample(job(script, *args, timeout=timeout), BACKENDS[mode], workdir=workdir, **kw)


@pytest.fixture(scope="module")
def counted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("counted")


@pytest.fixture(scope="module")
def counted(counted_dir: Path) -> dict[str, Count]:
    """One cachegrind count per variant of SCRIPT (two of the plain one); ``seen-base.json``
    in ``counted_dir``: what the first one saw."""
    script = make(counted_dir, "train.py", SCRIPT)
    counts = {"base": count(script, KEYS)}
    (counted_dir / "seen-base.json").write_text((counted_dir / "seen.json").read_text())
    for name, flag in [("again", ""), ("sleep", "--sleep"), ("import", "--import")]:
        counts[name] = count(script, KEYS, *([flag] if flag else []))
    counts["fork"] = count(script, KEYS, "--fork")
    counts["work"] = count(script, KEYS, "--work")
    return counts


# --- pure ---------------------------------------------------------------------------------


def test_spread_and_stable_at_the_edges():
    assert math.isnan(spread_pct([]))
    assert spread_pct([5.0]) == 0.0
    assert spread_pct([7.0, 7.0, 7.0]) == 0.0
    assert spread_pct([99.0, 101.0]) == pytest.approx(2.0)
    assert math.isnan(spread_pct([-1.0, 1.0]))  # zero mean: no ZeroDivisionError
    assert stable([1e8, 1e8 + 5e4])  # 0.05%
    assert not stable([1e8, 1e8 + 2e5])  # 0.2%
    assert stable([1e8, 1e8 + 2e5], limit_pct=0.5)
    assert not stable([1e8])  # one value says nothing about repeatability
    assert not stable([])


def test_parse_perf_csv():
    text = "# started on Mon\n\n123456789,,instructions:u,1002345,100.00,,\n"
    assert parse_perf(text) == (123456789, "123456789")
    assert parse_perf("<not supported>,,instructions:u,0,100.00,,\n") == (None, "<not supported>")
    assert parse_perf("<not counted>,,instructions:u,0,0.00,,\n")[0] is None
    assert parse_perf("42,,cycles:u,1,100.00,,\n") == (None, "")
    assert parse_perf("") == (None, "")


def write_log(d: Path, pid: int, parent: int, command: str) -> None:
    (d / f"vg.log.{pid}").write_text(
        f"=={pid}== Cachegrind, a cache and branch-prediction profiler\n"
        f"=={pid}== Command: {command}\n=={pid}== Parent PID: {parent}\n"
    )


def test_read_valgrind_sums_every_file_and_flags_lost_and_forked(tmp_path):
    (tmp_path / "cg.out.100").write_text("events: Ir\nfn=main\n0 7\nsummary: 1000\n")
    (tmp_path / "cg.out.100.1").write_text("events: Ir\nsummary: 9\nfn=x\n0 9\ntotals: 500\n")
    (tmp_path / "cg.out.101").write_text("events: Ir\nsummary: 300\n")
    (tmp_path / "cg.out.103").write_text("events: Ir\nfn=main\n0 7\n")  # cut short: no total
    write_log(tmp_path, 100, 1, "python train.py")
    write_log(tmp_path, 101, 100, "python train.py")  # forked, no exec
    write_log(tmp_path, 102, 100, "python train.py")  # SIGKILLed: a log but no counts
    write_log(tmp_path, 103, 100, "/usr/bin/true")  # exec'd, then cut short
    tally = read_valgrind(tmp_path, fork_exact=False)
    assert tally.instructions == 1800
    assert (tally.processes, tally.lost, tally.forked) == (2, 2, 1)
    assert any("[102, 103]" in n for n in tally.notes)
    assert any("callgrind" in n for n in tally.notes)
    assert read_valgrind(tmp_path, fork_exact=True).forked == 0
    assert read_valgrind(tmp_path / "runs", fork_exact=False).instructions is None


def test_valgrind_wraps_with_its_output_off_the_jobs_stderr(tmp_path):
    argv = Valgrind().wrap(["python", "train.py"], tmp_path)
    assert argv[argv.index("--") :] == ["--", "python", "train.py"]
    assert "--tool=cachegrind" in argv and "--cache-sim=no" in argv
    assert "--trace-children=yes" in argv
    assert f"--log-file={tmp_path}/vg.log.%p" in argv
    assert f"--cachegrind-out-file={tmp_path}/cg.out.%p" in argv
    callgrind = BACKENDS["callgrind"].wrap(["python"], tmp_path)
    assert "--tool=callgrind" in callgrind and "--dump-before=fork" in callgrind
    perf = Perf().wrap(["python"], tmp_path)
    assert perf[1:5] == ["stat", "-x,", "-e", "instructions:u"] and perf[-2:] == ["--", "python"]


class Fake:
    def __init__(self, name: str, ok: bool) -> None:
        self.name, self.ok, self.slowdown = name, ok, 1.0

    def available(self) -> tuple[bool, str]:
        return self.ok, f"{self.name} {'works' if self.ok else 'missing: install it'}"

    def wrap(self, argv, out_dir):  # type: ignore[no-untyped-def]
        return list(argv)

    def read(self, out_dir: Path) -> Count:
        return Count("ok")


def fakes(perf: bool, valgrind: bool) -> dict:
    return {
        "perf": Fake("perf", perf),
        "valgrind": Fake("valgrind", valgrind),
        "callgrind": Fake("callgrind", valgrind),
        "cachegrind": Fake("cachegrind", valgrind),
    }


def test_choose_prefers_perf_then_cachegrind_on_the_measured_process_and_explains():
    counter, why = choose("auto", fakes(True, True))
    assert counter.name == "perf" and why == "using perf works"
    counter, why = choose("auto", fakes(False, True))
    assert counter.name == "cachegrind"  # the measured process: start-up's own work
    assert why == "perf unavailable: perf missing: install it; using cachegrind works"
    counter, why = choose("auto", fakes(False, False))
    assert counter is None and "install it" in why and why.count("unavailable") == 2
    assert choose("valgrind", fakes(True, True))[0].name == "valgrind"
    with pytest.raises(UsageError, match="--instructions-backend perf: perf unavailable"):
        choose("perf", fakes(False, True))
    with pytest.raises(UsageError, match="expected one of auto, perf, valgrind, callgrind"):
        choose("papi", fakes(True, True))


def test_count_sample_refuses_a_used_workdir_or_an_unavailable_counter(tmp_path):
    (tmp_path / "cg.out.1").write_text("summary: 5\n")
    with pytest.raises(ValueError, match="empty directory"):
        count_sample(job(tmp_path / "t.py"), Fake("valgrind", True), workdir=tmp_path)
    with pytest.raises(UsageError, match="missing: install it"):
        count_sample(job(tmp_path / "t.py"), Fake("perf", False), workdir=tmp_path / "new")


def test_determinism_lists_what_it_sets():
    det = determinism()
    assert det.env["PYTHONHASHSEED"] == "0"
    assert all(det.env[var] == "1" for var in THREAD_VARS)
    assert "OMP_NUM_THREADS=1" in det.settings and len(det.settings) == len(det.env) + 1
    assert det.settings[-1].startswith("ASLR off" if det.prefix else "ASLR on")
    off = determinism(aslr=False)
    assert off.prefix == () and off.settings[-1].startswith("ASLR on")


# --- real processes -----------------------------------------------------------------------


@pytest.mark.slow
def test_perf_availability_on_this_host():
    ok, why = Perf().available()
    exe = shutil.which("perf")
    if exe is None:
        assert not ok and "perf not found" in why
        return
    probe = subprocess.run(
        [exe, "stat", "-e", "instructions:u", "true"], capture_output=True, text=True, check=False
    )
    if "<not supported>" not in probe.stderr:
        pytest.skip(f"perf counts here (ok={ok}: {why}); this host cannot show the refusal")
    assert not ok
    assert "not supported" in why and "valgrind" in why
    if shutil.which("valgrind"):
        counter, reason = choose("auto")
        assert counter is BACKENDS["cachegrind"]
        assert reason.startswith("perf unavailable: ") and "using valgrind" in reason


@pytest.mark.slow
@needs_valgrind
def test_count_is_large_and_repeats(counted):
    base, again = counted["base"].instructions, counted["again"].instructions
    assert counted["base"].status == "ok", counted["base"]
    assert base is not None and base > 1e6
    assert counted["base"].processes == 1 and counted["base"].lost == 0
    assert stable([base, again], limit_pct=0.1), (base, again)


@pytest.mark.slow
@needs_valgrind
def test_counted_process_sees_the_determinism_settings(counted, counted_dir):
    seen = json.loads((counted_dir / "seen-base.json").read_text())
    assert seen["PYTHONHASHSEED"] == "0"
    assert all(seen[var] == "1" for var in THREAD_VARS)  # OMP_NUM_THREADS=8 was overridden
    assert seen["TTFB_CANARY"] == "kept"  # the rest of the job's environment is unchanged
    assert counted["base"].settings == determinism().settings
    aslr_off = bool(int(seen["personality"], 16) & ADDR_NO_RANDOMIZE)
    assert aslr_off == bool(determinism().prefix)


@pytest.mark.slow
@needs_valgrind
def test_an_extra_import_before_the_first_batch_raises_the_count(counted):
    base, more = counted["base"].instructions, counted["import"].instructions
    assert more > base * 1.005, (base, more)


@pytest.mark.slow
@needs_valgrind
def test_a_planted_sleep_does_not_move_the_count(counted):
    base, slept = counted["base"].instructions, counted["sleep"].instructions
    assert spread_pct([base, slept]) < 0.1, (base, slept)
    assert counted["sleep"].wall_s > 0.3


@pytest.mark.slow
@needs_valgrind
def test_forked_childs_work_is_counted(counted, tmp_path):
    base, fork, work = (counted[k].instructions for k in ("base", "fork", "work"))
    child_work = work - base  # the child's function, run in the main process instead
    assert child_work > 1e6
    # cachegrind: the child is counted, together with a second copy of its parent's
    # instructions up to the fork, and the count says so.
    assert counted["fork"].processes == 2 and counted["fork"].forked == 1
    assert fork - base > child_work + 0.5 * base
    assert any("callgrind" in note for note in counted["fork"].notes)
    # callgrind: counts reset at the fork, so the child adds its own work, once.
    script = make(tmp_path, "train.py", SCRIPT)
    exact_base = count(script, KEYS, mode="callgrind")
    exact_fork = count(script, KEYS, "--fork", mode="callgrind")
    assert exact_fork.status == "ok" and exact_fork.processes == 2 and exact_fork.forked == 0
    added = exact_fork.instructions - exact_base.instructions
    assert child_work < added < child_work + 0.25 * base, (child_work, added, base)


@pytest.mark.slow
@needs_valgrind
def test_a_child_alive_at_the_first_batch_is_let_finish_then_counted(tmp_path):
    script = make(tmp_path, "gentle.py", GENTLE)
    result = count(script)
    assert result.status == "ok", result
    assert (tmp_path / "job" / "done").exists()  # the settle wait let it finish its work
    assert result.processes == 2 and result.lost == 0  # valgrind wrote it on SIGTERM
    assert not result.notes


@pytest.mark.slow
@needs_valgrind
def test_a_child_ignoring_sigterm_loses_its_count_and_says_so(tmp_path):
    script = make(tmp_path, "gentle.py", GENTLE)
    result = count(script, "--ignore-term", term_wait_s=1.0)
    assert result.status == "ok", result
    assert result.processes == 1 and result.lost == 1
    assert any("SIGKILL" in note for note in result.notes)


@pytest.mark.slow
@needs_valgrind
def test_timeout_is_scaled_by_the_slowdown(tmp_path):
    script = make(tmp_path, "hang.py", "import time\ntime.sleep(600)\n")
    result = count(script, timeout=0.05)  # 0.05 s x 30 = 1.5 s under valgrind
    assert result.status == "timeout"
    assert "1.5 s timeout (0.05 s x slowdown)" in result.error
    assert 1.5 <= result.wall_s < 10
    assert result.instructions is None


@pytest.mark.slow
@needs_valgrind
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("raise ValueError('model.hidden must be positive')", "crashed", "model.hidden must"),
        ("print('trained nothing')", "no_first_batch", "no first batch was seen"),
    ],
)
def test_crash_and_missing_first_batch(tmp_path, body, status, message):
    script = make(tmp_path, "bad.py", body + "\n")
    counter = Counter(BACKENDS["valgrind"], workdir=tmp_path / "runs")
    assert (counter.name, counter.slowdown, counter.settings) == (
        "valgrind",
        30.0,
        determinism().settings,
    )
    result = counter.count(job(script))
    assert [d.name for d in (tmp_path / "runs").iterdir()] == ["count-001-job"]
    assert result.status == status
    assert message in result.error
    assert "Cachegrind" not in result.error  # valgrind's own output stays in its log
    assert result.instructions is None
