"""The differential profile on real processes: torch-free scripts, a real git repository, the
real profiler (py-spy where it attaches, else the probe's in-process sampler).

One repository: ``main`` loads a config, builds an index and marks the first batch; the
``planted`` commit adds a busy function (``tokenize_vocab``, ~0.2 s of CPU on an idle core,
more under load) and a wait in a named function (``wait_for_collector``, 0.1 s of sleep): the
busy one is the larger by a margin, so which row is on top does not depend on the load. Each
compare is forced with ``--profile``, so the profile is tested whatever the timed verdict."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bot import git as gitlib
from bot.cli import main
from bot.exec import profiler

pytestmark = pytest.mark.slow

TRAIN = """\
import sys
import time

import ttfb_lab


def load_config():
    import json, decimal, email.parser, html.parser  # noqa: F401  (some import work)

    time.sleep(0.1)
    return {{"rows": 2000}}


def build_index(rows):
    total = 0
    for i in range(rows * 400):
        total += i % 7
    return total
{planted}

def warm_cache():
    {warm}
    return [0] * 16


def pick_device():
    {pick}
    return "cpu"


def main():
    cfg = load_config()
    heap = [[i] for i in range(200_000)]  # live objects: a full collection has work to do
    build_index(cfg["rows"])
    warm_cache()
    pick_device()
{calls}    ttfb_lab.first_batch()
    return heap


if __name__ == "__main__":
    main()
"""
PLANTED = '''

def tokenize_vocab(rows):
    """Builds the vocabulary the slow way."""
    words = {}
    for i in range(rows * 900):
        words[i % 5003] = words.get(i % 5003, 0) + 1
    return words


def wait_for_collector():
    """Waits for the metrics collector to acknowledge."""
    time.sleep(0.1)
'''
CALLS = "    tokenize_vocab(cfg['rows'])\n    wait_for_collector()\n"
# Four full collections (~60 ms), in warm_cache at the base and in pick_device at the head: a
# change elsewhere moves where the collector runs; neither function's own work changed
COLLECT = "for _ in range(4): __import__('gc').collect()"
BASE = {"planted": "", "calls": "", "warm": COLLECT, "pick": "pass"}
HEAD = {"planted": PLANTED, "calls": CALLS, "warm": "pass", "pick": COLLECT}
SCENARIO = "name: toy\ncommand: [python, train.py]\nfirst_batch: mark\ntimeout_s: 60\n"
FAST = ["--pairs", "4", "--max-pairs", "4", "--no-attribute", "--no-history", "--profile"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("profile-real") / "repo"
    (root / "scenarios").mkdir(parents=True)
    (root / "scenarios" / "toy.yaml").write_text(SCENARIO)
    (root / "train.py").write_text(TRAIN.format(**BASE))
    gitlib.init_repo(root)
    base = gitlib.commit_all(root, "Toy trainer")
    (root / "train.py").write_text(TRAIN.format(**HEAD))
    head = gitlib.commit_all(root, "Tokenize the vocabulary, report to the collector")
    return root, base, head


def compare(root: Path, base: str, head: str, out: Path) -> dict:
    argv = ["compare", "--root", str(root), "--scenario", "toy", "--base", base, "--head", head]
    assert main([*argv, *FAST, "--out-dir", str(out)]) == 0
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    return s


@pytest.fixture(scope="module")
def planted(repo, tmp_path_factory) -> tuple[dict, Path]:
    root, base, head = repo
    out = tmp_path_factory.mktemp("planted-out")
    return compare(root, base, head, out), out


def test_a_planted_busy_function_is_the_top_row_and_a_planted_sleep_is_found(planted):
    s, out = planted
    p = s["profile"]
    assert p["runs"] == 5 and "error" not in p, p
    names = [r["function"] for r in p["rows"]]
    assert names[:2] == ["tokenize_vocab", "wait_for_collector"], p["rows"]
    busy, wait = p["rows"][:2]
    assert (busy["file"], busy["line"], busy["repo"]) == ("train.py", 21, True)
    assert 60 < wait["delta_ms"] < 300 and wait["ci_low_ms"] > 0
    assert (out / "flame-toy.html").exists()
    assert "`tokenize_vocab`" in (out / "comment.md").read_text()


def test_a_collection_the_change_moved_to_another_function_is_not_a_row(planted):
    """The head's change moves four full collections from warm_cache to pick_device. A
    profiler charges them to those functions in every sample alike; the profile counts them
    apart, so neither is a row, and the collections' own time is reported unchanged."""
    s, out = planted
    p = s["profile"]
    names = {r["function"] for r in p["rows"]}
    assert not names & {"warm_cache", "pick_device"}, p["rows"]
    gc = p["gc"]
    assert gc["base_ms"] > 20 and not gc["significant"], gc
    assert gc["placed_pct"] > 80, gc
    assert "garbage collection" in (out / "comment.md").read_text()


def test_an_aa_has_no_significant_row(repo, tmp_path):
    root, _, head = repo
    s = compare(root, head, head, tmp_path / "out")
    assert s["profile"]["runs"] == 5
    assert s["profile"]["rows"] == [], s["profile"]["rows"]


def test_without_py_spy_the_in_process_sampler_is_used_and_named(repo, tmp_path, monkeypatch):
    root, base, head = repo
    monkeypatch.setattr(profiler, "find_py_spy", lambda: None)
    s = compare(root, base, head, tmp_path / "out")
    p = s["profile"]
    assert p["profiler"].startswith("in-process sampler") and "py-spy not found" in p["profiler"]
    assert [r["function"] for r in p["rows"]][:1] == ["tokenize_vocab"], p["rows"]
    assert not {r["function"] for r in p["rows"]} & {"warm_cache", "pick_device"}, p["rows"]
    assert p["gc"]["placed_pct"] > 80, p["gc"]
    assert "in-process sampler" in (tmp_path / "out" / "comment.md").read_text()


def test_measure_profile_prints_top_functions_and_writes_the_flame_graph(repo, tmp_path, run_ttfb):
    root, _, head = repo
    gitlib.run(["checkout", "-q", head], cwd=root)
    flame = tmp_path / "flame.html"
    ran = run_ttfb(
        "measure",
        "--runs",
        "1",
        "--no-history",
        "--first-batch",
        "mark",
        "--profile",
        "--profile-runs",
        "2",
        "--profile-out",
        str(flame),
        "--",
        "python",
        "train.py",
        cwd=root,
    )
    assert ran.code == 0, ran.output
    assert "top functions by self time (ms per sample):" in ran.stdout
    assert "tokenize_vocab  train.py:21" in ran.stdout
    assert f"flame graph: {flame}" in ran.stdout
    assert "tokenize_vocab" in flame.read_text()


def test_a_python_shim_that_takes_its_time_is_profiled(repo, tmp_path, run_ttfb, monkeypatch):
    """``python`` as a version manager's shim (a script that spends seconds choosing before it
    runs Python, as pyenv's does under load): py-spy records the interpreter the shim chose,
    instead of giving up on a process that is not Python yet."""
    if profiler.find_py_spy() is None:
        pytest.skip("py-spy is not installed")
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python"
    shim.write_text(f'#!/bin/sh\nsleep 2\nexec {sys.executable} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    root, _, head = repo
    gitlib.run(["checkout", "-q", head], cwd=root)
    ran = run_ttfb(
        *("measure", "--runs", "1", "--no-history", "--first-batch", "mark", "--profile"),
        *("--profile-runs", "1", "--profile-out", str(tmp_path / "flame.html")),
        *("--", "python", "train.py"),
        cwd=root,
    )
    assert ran.code == 0, ran.output
    assert "tokenize_vocab  train.py:21" in ran.stdout, ran.output


def test_the_flame_graph_renders_in_chromium_and_names_the_function(planted):
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from ..dashboard.conftest import chromium_path

    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: apt-get install chromium (or set TTFB_LAB_CHROMIUM)")
    _, out = planted
    problems: list[str] = []
    with sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable)
        page = browser.new_page()
        page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("requestfailed", lambda r: problems.append(f"fetched: {r.url}"))
        page.goto((out / "flame-toy.html").as_uri())
        page.wait_for_load_state("load")
        frame = page.locator('g.frame[data-function="tokenize_vocab"]')
        assert frame.count() == 1
        box = frame.locator("rect").bounding_box()
        assert box is not None and box["width"] > 20
        assert frame.locator("rect").get_attribute("fill").startswith("#")
        frame.hover()
        assert "tokenize_vocab — train.py:21" in page.locator("#details").inner_text()
        page.fill("#find", "wait_for")
        assert page.locator("g.frame.match").count() >= 1
        browser.close()
    assert problems == []


LAUNCHER = """\
import os
import subprocess
import sys


def launch():
    ranks = [
        subprocess.Popen([sys.executable, "worker.py"], env={**os.environ, "RANK": str(rank)})
        for rank in (0, 1)
    ]
    for p in ranks:
        p.wait()


launch()
"""
WORKER = """\
import os
import time

import ttfb_lab


def rank_zero_setup():
    total = 0
    for i in range(6_000_000):  # long enough for py-spy to find rank 0 on a loaded host
        total += i % 3


def other_rank_setup():
    time.sleep(0.4)


if os.environ["RANK"] == "0":
    rank_zero_setup()
else:
    other_rank_setup()
ttfb_lab.first_batch()
time.sleep(30)  # the other rank trains on; the sample ends with the first batch
"""


def test_under_a_launcher_the_profile_is_rank_zeros(tmp_path, run_ttfb):
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    (tmp_path / "worker.py").write_text(WORKER)
    gitlib.init_repo(tmp_path)
    ran = run_ttfb(
        "measure",
        "--runs",
        "1",
        "--no-history",
        "--first-batch",
        "mark",
        "--profile",
        "--profile-runs",
        "2",
        "--profile-out",
        str(tmp_path / "f.html"),
        "--",
        "python",
        "launcher.py",
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.output
    top = ran.stdout.split("top functions by inclusive time")[1]
    assert "rank_zero_setup  worker.py:7" in top
    assert "other_rank_setup" not in ran.stdout and "launch  launcher.py" not in ran.stdout


ARMS = """\
import os
import time

import ttfb_lab


def parse_records():
    return [str(i).zfill(8) for i in range(200_000)]


def slow_path():
    time.sleep(0.3)


parse_records()
if os.environ.get("SLOW") == "1":
    slow_path()
ttfb_lab.first_batch()
"""
OTHER_PYTHON = Path("/root/.pyenv/versions/3.13.0/bin/python3")


def test_env_arms_and_interpreter_arms_are_profiled(tmp_path, run_ttfb):
    (tmp_path / "train.py").write_text(ARMS)
    gitlib.init_repo(tmp_path)
    common = ["--first-batch", "mark", *FAST]
    ran = run_ttfb(
        "compare",
        "--name",
        "env",
        "--base-env",
        "SLOW=0",
        "--head-env",
        "SLOW=1",
        *common,
        "--out-dir",
        str(tmp_path / "env"),
        "--",
        "python",
        "train.py",
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.output
    (s,) = json.loads((tmp_path / "env" / "results.json").read_text())["scenarios"]
    assert [r["function"] for r in s["profile"]["rows"]][:1] == ["slow_path"]
    if not OTHER_PYTHON.exists():
        pytest.skip(f"no second interpreter at {OTHER_PYTHON}")
    ran = run_ttfb(
        "compare",
        "--name",
        "py",
        "--base-python",
        sys.executable,
        "--head-python",
        str(OTHER_PYTHON),
        *common,
        "--out-dir",
        str(tmp_path / "py"),
        "--",
        "python",
        "train.py",
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.output
    (s,) = json.loads((tmp_path / "py" / "results.json").read_text())["scenarios"]
    p = s["profile"]
    assert "error" not in p and p["flame"], p.get("error")
    # one frame per function across both interpreters: the standard library by module
    assert any(n[1] == "parse_records" and n[5] > 0 and n[6] > 0 for n in p["flame"])
