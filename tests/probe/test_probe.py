"""The probe on real torch processes: detection, phases, workers, chaining, files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot import probe
from bot.exec.process import ProcessExecutor
from bot.exec.spawn import clock_ns, end_group, probe_env
from bot.model import Job

from ..conftest import PYTHON

pytestmark = pytest.mark.slow

TRAIN = """
import os, sys
import torch

class Scaled(torch.utils.data.Dataset):
    # A dataset whose items go through an nn.Module: workers make forward calls too.
    def __init__(self):
        self.t = torch.nn.Linear(4, 4)
    def __len__(self):
        return 64
    def __getitem__(self, i):
        with torch.no_grad():
            return self.t(torch.ones(4) * i)

def main():
    Path = __import__("pathlib").Path
    Path(sys.argv[3]).write_text(str(os.getpid()))
    workers, ctx = int(sys.argv[1]), sys.argv[2]
    dl = torch.utils.data.DataLoader(
        Scaled(), batch_size=8, num_workers=workers,
        multiprocessing_context=ctx if workers else None)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step, x in enumerate(dl):
        if step == 0:  # this process's own CPU, just before its first forward is reported
            t = os.times()
            Path(sys.argv[3] + ".cpu").write_text(str(t.user + t.system))
        loss = model(x).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    print("done", step)

if __name__ == "__main__":
    main()
"""


def run_probe(
    script: Path,
    *args: str,
    stop: str = "first_batch",
    detect: str = "auto",
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
):
    """Run ``script`` under the probe directly (no runner) and return (report, completed)."""
    out = script.parent / "probe.json"
    job = Job(
        argv=(),
        cwd=script.parent,
        stop=stop,
        detect=detect,
        root=script.parent,
        env=extra_env or {},
    )
    env = probe_env(job, out, clock_ns())
    # Files, not pipes, and the whole group ended after: orphaned DataLoader workers would
    # otherwise hold a pipe open long after the measured process exited.
    with open(script.parent / "stdout", "w+") as so, open(script.parent / "stderr", "w+") as se:
        popen = subprocess.Popen(
            [PYTHON, str(script), *args],
            cwd=script.parent,
            env=env,
            stdout=so,
            stderr=se,
            start_new_session=True,
        )
        try:
            code = popen.wait(timeout=timeout)
        finally:
            end_group(popen.pid)
        so.seek(0)
        se.seek(0)
        proc = subprocess.CompletedProcess(popen.args, code, so.read(), se.read())
    report = json.loads(out.read_text()) if out.exists() else None
    return report, proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``trained(WORKERS, CONTEXT)``: TRAIN run once under the probe with those DataLoader
    arguments, in a directory of its own; (report, completed process, directory). Each run
    starts torch (and spawned workers start it again), so tests that only read one share it."""
    runs: dict[tuple[str, str], tuple[dict, subprocess.CompletedProcess, Path]] = {}

    def run(workers: str, ctx: str) -> tuple[dict, subprocess.CompletedProcess, Path]:
        if (workers, ctx) not in runs:
            where = tmp_path_factory.mktemp(f"train-{workers}-{ctx}")
            script = where / "train.py"
            script.write_text(TRAIN)
            report, proc = run_probe(script, workers, ctx, str(where / "pid"))
            runs[workers, ctx] = (report, proc, where)
        return runs[workers, ctx]

    return run


def test_unmodified_script_first_forward_and_phases_in_order(trained):
    report, proc, _ = trained("0", "fork")
    assert proc.returncode == 0, proc.stderr
    assert "done" not in proc.stdout  # stopped at the first batch, not run to the end
    assert report["detected_by"] == "forward"
    phases = report["phases"]
    order = ["interpreter_ready", "import_torch", "first_dataloader_batch", "first_forward"]
    times = [phases[name] for name in order]
    assert times == sorted(times), phases
    assert 0 < phases["interpreter_ready"] < phases["import_torch"]
    assert report["first_batch_s"] == phases["first_forward"]
    assert report["cpu_s"] > 0.3 and report["peak_rss_mb"] > 50


@pytest.mark.parametrize("ctx", ["fork", "spawn"])
def test_dataloader_workers_never_report(trained, ctx):
    """Workers call nn.Module forward in __getitem__; only the main process may report."""
    report, proc, where = trained("2", ctx)
    assert proc.returncode == 0, proc.stderr
    main_pid = int((where / "pid").read_text())
    assert report["pid"] == main_pid
    assert (where / "probe.json.claim").read_text() == str(main_pid)
    assert report["detected_by"] == "forward"
    # The main process's first forward comes after its first batch; a worker's would not.
    assert report["phases"]["first_forward"] >= report["phases"]["first_dataloader_batch"]
    leftovers = [p.name for p in where.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_spawn_workers_cpu_counted(trained):
    """Two spawned workers each start Python and import torch again: their CPU is in the total.
    Compared with the main process's own CPU in the same run (not with another run, whose CPU
    time a busy host inflates by its own amount)."""
    report, _, where = trained("2", "spawn")
    own = float((where / "pid.cpu").read_text())
    assert report["cpu_s"] - own > 1.0, (own, report["cpu_s"])


def test_explicit_mark_wins_and_named_marks_recorded(write_script, tmp_path):
    script = write_script(
        "train.py",
        """
        import torch
        import ttfb_lab
        model = torch.nn.Linear(2, 2)
        model(torch.zeros(2))          # a warm-up forward the mark must override
        ttfb_lab.mark("config_validated")
        ttfb_lab.first_batch()
        print("after mark")
        """,
    )
    report, proc = run_probe(script, detect="mark")
    assert proc.returncode == 0, proc.stderr
    assert report["detected_by"] == "mark"
    assert "after mark" not in proc.stdout
    phases = report["phases"]
    assert phases["first_forward"] < phases["config_validated"] <= phases["first_batch"]


def test_auto_mode_takes_whichever_comes_first(write_script):
    script = write_script(
        "train.py",
        """
        import torch, ttfb_lab
        ttfb_lab.first_batch()
        torch.nn.Linear(2, 2)(torch.zeros(2))
        """,
    )
    report, proc = run_probe(script)
    assert proc.returncode == 0, proc.stderr
    assert report["detected_by"] == "mark"
    assert "first_forward" not in report["phases"]


EVAL_FIRST = """
import sys, time, contextlib
import torch

MODE = sys.argv[1]
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.DataLoader(torch.randn(64, 4), batch_size=8)

def evaluate():
    model.eval()
    guard = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode,
             "eval_mode_only": contextlib.nullcontext}[MODE]
    with guard():
        for i, x in enumerate(data):
            if i == 3:
                break
            model(x)
            time.sleep(0.1)  # an evaluation that costs 0.3 s in all
        try:
            model(torch.zeros(3))  # a forward that raises: the depth must come back to 0
        except RuntimeError:
            pass
    model.train()

evaluate()                       # evaluation at step 0, before the first training step
for x in data:
    loss = model(x).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
print("done")
"""


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "eval_mode_only"])
def test_first_batch_is_the_first_training_forward_after_an_evaluation(write_script, mode):
    script = write_script("train.py", EVAL_FIRST)
    report, proc = run_probe(script, mode)
    assert proc.returncode == 0, proc.stderr
    assert "done" not in proc.stdout
    phases = report["phases"]
    assert report["detected_by"] == "forward"
    assert report["first_batch_s"] == phases["first_forward"]
    # three batches plus the one that raised; the Linear/ReLU calls inside them are not counted
    assert report["eval_forwards"] == 4
    assert phases["first_forward"] - phases["first_eval_forward"] >= 0.3
    # the evaluation loader's batches (grad disabled in two of the modes) come first; in the
    # dataloader sense, the first batch is the first one yielded while grad is enabled
    assert phases["first_dataloader_batch"] <= phases["first_forward"]


def test_forward_mode_keeps_any_forward(write_script):
    script = write_script("train.py", EVAL_FIRST)
    report, proc = run_probe(script, "no_grad", detect="forward")
    assert proc.returncode == 0, proc.stderr
    assert report["detected_by"] == "forward"
    assert report["eval_forwards"] == 0 and "first_eval_forward" not in report["phases"]
    assert report["first_batch_s"] == report["phases"]["first_forward"]
    # stopped at that forward (the evaluation's first): no eval forwards counted above, and
    # the script never ran on to its end; a wall-time bound here (first forward within 5 s of
    # torch's import) failed at 6 s on a loaded 2-core box while saying nothing more
    assert "done" not in proc.stdout


def test_dataloader_mode_skips_a_loader_iterated_under_no_grad(write_script):
    script = write_script("train.py", EVAL_FIRST)
    report, proc = run_probe(script, "no_grad", detect="dataloader")
    assert proc.returncode == 0, proc.stderr
    phases = report["phases"]
    assert report["detected_by"] == "dataloader"
    assert phases["first_dataloader_batch"] - phases["first_eval_forward"] >= 0.3


def test_only_evaluation_falls_back_to_the_eval_forward_at_exit(write_script):
    script = write_script(
        "eval_only.py",
        """
        import torch
        model = torch.nn.Linear(2, 2).eval()
        with torch.no_grad():
            model(torch.zeros(2))
        print("evaluated")
        """,
    )
    report, proc = run_probe(script)
    assert proc.stdout.strip() == "evaluated"
    assert report["at_exit"] and report["detected_by"] == "eval_forward"
    assert report["eval_forwards"] == 1


def test_dataloader_mode_and_fallback_at_exit(write_script):
    script = write_script(
        "data_only.py",
        """
        import torch
        dl = torch.utils.data.DataLoader(list(range(10)), batch_size=2)
        print(sum(int(b.sum()) for b in dl))
        """,
    )
    report, proc = run_probe(script, detect="dataloader")
    assert report["detected_by"] == "dataloader" and not report["at_exit"]
    assert proc.stdout == ""  # stopped at the first batch
    (script.parent / "probe.json").unlink()
    (script.parent / "probe.json.claim").unlink()
    report, proc = run_probe(script)  # auto: no forward ever comes
    assert proc.stdout.strip() == "45"
    assert report["at_exit"] and report["detected_by"] == "dataloader"
    assert "never fired" in report["notes"][0]


def test_stop_after_k_optimizer_steps(write_script, tmp_path):
    script = write_script("train.py", TRAIN)
    report, proc = run_probe(script, "0", "fork", str(tmp_path / "pid"), stop="steps:3")
    assert proc.returncode == 0, proc.stderr
    assert "done" not in proc.stdout
    assert report["steps"] == 3
    phases = report["phases"]
    assert phases["first_batch"] < phases["step_1"] < phases["step_2"] < phases["step_3"]


def test_chains_to_existing_sitecustomize(write_script, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text(
        "import os\nopen(os.environ['MARKER'], 'w').write('ran')\n"
    )
    script = write_script("train.py", "import torch\ntorch.nn.Linear(1, 1)(torch.zeros(1))\n")
    marker = tmp_path / "marker"
    report, proc = run_probe(script, extra_env={"PYTHONPATH": str(theirs), "MARKER": str(marker)})
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "ran"
    assert report["detected_by"] == "forward"


def test_repo_files_imported_and_opened(write_script, tmp_path):
    write_script("helper.py", "VALUE = 3\n")
    vendored = tmp_path / "lib" / "site-packages"
    vendored.mkdir(parents=True)
    (vendored / "vendored.py").write_text("X = 1\n")
    (tmp_path / "data.txt").write_text("1 2 3\n")
    script = write_script(
        "train.py",
        """
        import json, sys, torch, helper
        sys.path.insert(0, "lib/site-packages")
        import vendored
        rows = open("data.txt").read().split()
        torch.nn.Linear(1, 1)(torch.zeros(1))
        """,
    )
    report, proc = run_probe(script)
    assert proc.returncode == 0, proc.stderr
    assert {"helper.py", "train.py"} <= set(report["imported_files"])
    assert "data.txt" in report["opened_files"]
    assert not any(f.startswith("/") or "json" in f for f in report["imported_files"])
    listed = report["imported_files"] + report["opened_files"]
    assert not any("site-packages" in f or "__pycache__" in f for f in listed), listed


def test_inactive_without_contract(write_script):
    """Without TTFB_LAB_OUT the sitecustomize does nothing visible."""
    script = write_script("t.py", "import ttfb_lab\nprint(ttfb_lab.active())\n")
    import os

    from bot import probe

    env = {**os.environ, "PYTHONPATH": str(probe.SITE_DIR)}
    proc = subprocess.run([PYTHON, str(script)], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "False" and proc.stderr == ""


def test_runner_reports_through_sample(write_script, tmp_path):
    script = write_script("train.py", TRAIN)
    job = Job(
        argv=(PYTHON, str(script), "2", "fork", str(tmp_path / "pid")),
        cwd=tmp_path,
        root=tmp_path,
        timeout_s=120,
    )
    sample = ProcessExecutor().run(job)
    assert sample.ok, sample.error
    assert sample.detected_by == "forward"
    assert sample.ttfb_s == pytest.approx(sample.phases["first_batch"])
    assert sample.wall_s >= sample.ttfb_s


def test_self_time_accounting(write_script, tmp_path):
    from bot import probe

    script = write_script("train.py", "import torch\ntorch.nn.Linear(1, 1)(torch.zeros(1))\n")
    timed, _ = run_probe(script, extra_env={probe.ENV_SELF_TIME: "1"})
    parts = timed["probe_self_breakdown_s"]
    assert {"startup", "torch_hooks", "audit_hook"} <= set(parts)
    assert 0 < timed["probe_self_s"] < timed["first_batch_s"]
    assert timed["probe_self_s"] == pytest.approx(sum(parts.values()))
    assert timed["probe_audit_events"] > 100  # importing torch alone raises thousands
    (tmp_path / "probe.json").unlink()
    (tmp_path / "probe.json.claim").unlink()
    plain, _ = run_probe(script)
    assert plain["probe_self_s"] is None


def test_site_dir_is_byte_compiled_copy(tmp_path, monkeypatch):
    """The compiled copy goes under $XDG_CACHE_HOME (here a temporary one, never the real
    ~/.cache); the copy and its compilation are memoised per process, so forgotten first."""
    from bot import probe

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    memos = (probe._site_copy, probe._compiled_for)
    for memo in memos:
        memo.cache_clear()
    try:
        site = probe.site_dir()
    finally:  # later callers in this process find their own cache again
        for memo in memos:
            memo.cache_clear()
    assert site.parent == tmp_path / "cache" / "ttfb-lab"
    assert site != probe.SITE_DIR
    for name in ("sitecustomize.py", "_ttfb_probe.py", "ttfb_lab.py"):
        assert (site / name).read_bytes() == (probe.SITE_DIR / name).read_bytes()
    tag = __import__("sys").implementation.cache_tag
    assert (site / "__pycache__" / f"_ttfb_probe.{tag}.pyc").is_file()


def test_deterministic_flag_does_not_import_dynamo(write_script, tmp_path):
    from bot import probe

    script = write_script(
        "t.py",
        """
        import sys, torch
        print(torch.are_deterministic_algorithms_enabled(), "torch._dynamo" in sys.modules)
        """,
    )
    _, proc = run_probe(script, stop="exit", extra_env={probe.ENV_DETERMINISTIC: "1"})
    assert proc.stdout.split() == ["True", "False"], proc.stderr


def test_named_mark_as_first_batch_without_torch(write_script):
    """``mark:NAME`` makes a custom milestone the first batch (here, a config check)."""
    script = write_script(
        "check.py",
        """
        import time, ttfb_lab
        time.sleep(0.05)
        ttfb_lab.mark("config_loaded")
        print("after")
        """,
    )
    report, proc = run_probe(script, detect="mark:config_loaded")
    assert proc.returncode == 0 and "after" not in proc.stdout
    assert report["detected_by"] == "mark:config_loaded"
    assert report["first_batch_s"] == report["phases"]["config_loaded"] > 0.05
    assert report["cpu_s"] is not None


LAUNCH = """
import runpy, sys
sys.argv = ["torchrun", "--standalone", "--nproc-per-node", "2", "ddp.py"]
runpy.run_module("torch.distributed.run", run_name="__main__")
"""

DDP = """
import os, time
import torch

rank = int(os.environ["RANK"])
with open(f"rank{rank}.pid", "w") as f:
    f.write(str(os.getpid()))
if rank == 0:
    time.sleep(1.0)  # rank 0 is the slow one: a rank-blind probe would report rank 1
torch.nn.Linear(4, 1)(torch.randn(2, 4))
"""


def test_under_torchrun_rank_0_reports(write_script, tmp_path):
    """torchrun starts one process per rank, each with the probe. The job's first batch is
    rank 0's (where its logs and checkpoints come from), even when another rank is faster."""
    launcher = write_script("launch.py", LAUNCH)
    write_script("ddp.py", DDP)
    report, proc = run_probe(launcher, extra_env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert report is not None, proc.stderr[-2000:]
    assert report["pid"] == int((tmp_path / "rank0.pid").read_text())
    assert report["detected_by"] == "forward"


def test_under_torchrun_the_sample_stops_at_rank_0s_first_batch(write_script, tmp_path):
    """The other ranks would train on (here: sleep 60 s after their first batch); the sample
    ends shortly after rank 0's report instead, ok, and says why."""

    write_script("ddp.py", DDP + "\nif rank != 0:\n    time.sleep(60)\n")
    launcher = write_script("launch.py", LAUNCH)
    job = Job(
        argv=(PYTHON, str(launcher)),
        cwd=tmp_path,
        root=tmp_path,
        timeout_s=120,
        env={"OMP_NUM_THREADS": "1"},
    )
    sample = ProcessExecutor().run(job)
    assert sample.ok, sample.error
    assert sample.wall_s is not None and sample.wall_s < 40, sample.wall_s
    assert any("after the first batch was reported" in n for n in sample.notes), sample.notes


# Torch-free: who may report is decided for every trigger alike, the explicit mark included.
MARKED = "import ttfb_lab\nttfb_lab.first_batch()\n"


@pytest.mark.parametrize(
    ("env", "reports"),
    [
        ({"SLURM_PROCID": "1"}, False),
        ({"OMPI_COMM_WORLD_RANK": "3"}, False),
        ({"PMI_RANK": "2"}, False),
        ({"SLURM_PROCID": "0"}, True),
        ({"RANK": "0", "SLURM_PROCID": "1"}, True),  # torchrun's worker rank wins over srun's task
        ({"RANK": "1", "SLURM_PROCID": "0"}, False),
    ],
)
def test_only_global_rank_0_reports_whatever_the_launcher(write_script, monkeypatch, env, reports):
    for var in probe.RANK_VARS:  # as if the runner itself ran outside any launcher
        monkeypatch.delenv(var, raising=False)
    script = write_script("train.py", MARKED)
    report, proc = run_probe(script, extra_env=env)
    assert proc.returncode == 0, proc.stderr
    assert (report is not None) is reports, report


def test_a_rank_the_runner_itself_inherited_does_not_count(write_script, monkeypatch):
    """ttfb run as task 1 of an srun step: the measured job inherits SLURM_PROCID=1 from the
    runner, which says nothing about the job's own ranks, so it still reports."""
    monkeypatch.setenv("SLURM_PROCID", "1")
    script = write_script("train.py", MARKED)
    report, proc = run_probe(script)
    assert proc.returncode == 0, proc.stderr
    assert report is not None
