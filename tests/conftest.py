"""Shared fixtures: real processes, real git repos, and the example trainer."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from bot import git as gitlib
from bot.pipeline.comparing import COUNTING_ENV

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GOLDEN = Path(__file__).with_name("golden")
# Seconds each test module took in a recorded run (``make durations``): the order in which the
# workers of ``make unit`` take modules, longest first (see pytest_collection_modifyitems).
DURATIONS = Path(__file__).with_name("durations.json")
# Scripted phase durations (seconds) of a small training start-up, for the fake executor.
SEGMENTS = {
    "interpreter_ready": 0.03,
    "import_torch": 1.2,
    "data_ready": 0.05,
    "optimizer_created": 1.0,
    "first_forward": 0.01,
}


def golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>``; ``UPDATE_GOLDEN=1`` rewrites the file,
    so a change to a template or a view shows up as a diff to review."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{name}: no golden file yet; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs; UPDATE_GOLDEN=1 to update"


@pytest.fixture
def write_script(tmp_path: Path):
    """Write a dedented Python script into tmp_path and return its path."""

    def write(name: str, body: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return write


class Ran(NamedTuple):
    """What ``run_ttfb`` saw: the exit status, then standard output and error together."""

    code: int
    output: str
    stdout: str


def ttfb_process(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``ttfb ARGS`` as a process of its own, from ``cwd``, with ``env`` over this one's: for
    what only a fresh process shows (its own environment, where it stands, its exit)."""
    return subprocess.run(
        [PYTHON, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def run_ttfb(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``run_ttfb(*ARGS, cwd=DIR)``: ``ttfb ARGS`` run in this process from ``DIR`` (a
    ``Ran``). The measured programs still run as real processes; only the CLI is not started
    again, which costs ~2 s a time."""
    from bot.cli import main

    def run(*args: str, cwd: Path) -> Ran:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        out = capsys.readouterr()
        return Ran(code, out.out + out.err, out.out)

    return run


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.fixture(autouse=True)
def _no_inherited_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never inherit a probe contract from an outer measured process, and their runs go
    to a history database of their own, never the checkout's .ttfb/history.sqlite.

    Compares count no CPU work unless a test asks for it (``--instructions on``, or
    ``TTFB_LAB_INSTRUCTIONS`` set again): on a host with valgrind every real compare would
    otherwise count under callgrind, minutes of CPU for a suite that tests wall time."""
    for key in list(os.environ):
        if key.startswith("TTFB_LAB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TTFB_LAB_DB", str(tmp_path / "history.sqlite"))
    monkeypatch.setenv(COUNTING_ENV, "off")


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its standard output, stripped."""
    return gitlib.run(list(args), cwd=repo).strip()


def commit(repo: Path, message: str) -> str:
    """Commit everything in ``repo``; the new commit's SHA."""
    return gitlib.commit_all(repo, message)


def init_example_repo(
    repo: Path, *, scenarios: Mapping[str, str] | None = None, copy: Sequence[str] = ()
) -> Path:
    """A fresh git repository (branch ``main``, nothing committed) at ``repo`` holding the
    example trainer, the given scenario texts (file stem → YAML) and copies of the project's
    own scenarios named in ``copy``."""
    repo.mkdir(parents=True)
    shutil.copytree(
        REPO / "examples", repo / "examples", ignore=shutil.ignore_patterns("__pycache__", "runs")
    )
    (repo / "scenarios").mkdir()
    for stem, text in (scenarios or {}).items():
        (repo / "scenarios" / f"{stem}.yaml").write_text(text)
    for name in copy:
        shutil.copy(REPO / "scenarios" / f"{name}.yaml", repo / "scenarios")
    gitlib.init_repo(repo)
    return repo


def plant_config_sleep(repo: Path, seconds: float, comment: str) -> None:
    """Make the example trainer's config loading block for ``seconds``."""
    config = repo / "examples" / "trainer" / "config.py"
    text = config.read_text()
    anchor = "    source = str(path)\n"
    assert anchor in text, "config.py changed: the planted call needs a new anchor"
    planted = f'{anchor}    __import__("time").sleep({seconds})  # {comment}\n'
    config.write_text(text.replace(anchor, planted, 1))


# A torch-free "trainer" for real bisects and release runs: a sample takes tens of
# milliseconds, so a planted sleep of 200 ms is a slowdown of several times that a loaded
# 2-core runner's scheduling delays (up to ~100 ms seen at load 6) do not hide, and a whole
# bisect of a few commits takes seconds.
CONFIG_CHECK_TRAIN = """\
import ttfb_lab
import config

config.load()
ttfb_lab.mark("config_loaded")
"""
CONFIG_CHECK_CONFIG = """\
def load():
    return {"steps": 100}
"""


def init_config_check_repo(repo: Path, scenario: str) -> Path:
    """A fresh git repository (branch ``main``, nothing committed) at ``repo`` holding
    ``train.py`` (loads ``config.py``, then marks ``config_loaded``), ``notes.txt`` and the
    scenario text as ``scenarios/config-check.yaml``."""
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "config-check.yaml").write_text(scenario)
    (repo / "train.py").write_text(CONFIG_CHECK_TRAIN)
    (repo / "config.py").write_text(CONFIG_CHECK_CONFIG)
    (repo / "notes.txt").write_text("notes\n")
    gitlib.init_repo(repo)
    return repo


def plant_config_check_sleep(repo: Path, seconds: float, comment: str) -> None:
    """Make ``config.py`` of an ``init_config_check_repo`` block for ``seconds`` on import."""
    config = repo / "config.py"
    config.write_text(f"import time\ntime.sleep({seconds})  # {comment}\n" + config.read_text())


# --- Ctrl-C -------------------------------------------------------------------------------
_interrupted = False


def _interrupt(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C stops a test run, the timing lane of ``make unit`` included. That lane is a
    background job of the recipe's shell, which starts it with SIGINT ignored (POSIX, for a
    shell without job control), and ttfb's ``main()``, which many tests call in-process, turns
    KeyboardInterrupt into exit status 130, so the run went on to its next test. The handler
    here takes SIGINT back and notes it; the run stops after the test it landed in
    (``pytest_runtest_teardown``). xdist's workers are left to their controller."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.default_int_handler):
        signal.signal(signal.SIGINT, _interrupt)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if _interrupted:
        item.session.shouldstop = "interrupted (SIGINT)"


# --- the suite's own garbage collection ---------------------------------------------------
# Collecting the suite (importing scipy, PyGithub, hypothesis and 84 test modules) ran ~1,500
# cyclic collections, 0.85 s of its 4.4 CPU-s, in each of the five pytest processes of ``make
# unit``. None runs while the suite collects; then gc.freeze() leaves everything imported so
# far out of every later collection. The measured processes are not touched.
gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()
    gc.enable()


# --- scheduling: longest module first -----------------------------------------------------
# ``make unit`` hands whole modules to its workers (``--dist loadscope``, so module fixtures are
# built once). xdist's own order puts modules with many tests first, which left the slowest
# module (seven tests, a minute and more) to start last and run alone at the end. Longest
# first is the classic bound for this (a makespan within 4/3 of the best); a module the record
# lacks counts as quick. Stale numbers only make the order worse, never a result wrong.


def _module(nodeid: str) -> str:
    """The test module a node id names (``tests/x/test_y.py``), the key of the record."""
    return nodeid.split("::")[0]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        metavar="PATH",
        help="write each test module's total seconds (setup, call, teardown) to PATH as JSON",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        seconds = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return
    items.sort(key=lambda item: -float(seconds.get(_module(item.nodeid), 0.0)))  # stable


_durations: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[_module(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("record_durations")
    if path and not hasattr(session.config, "workerinput"):  # the controller sees every report
        recorded = {m: round(s, 1) for m, s in sorted(_durations.items())}
        Path(path).write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
