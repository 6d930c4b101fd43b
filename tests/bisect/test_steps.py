"""``ttfb bisect`` on a real git history with a planted blocking call.

One bisect runs real processes: a torch-free script that imports a config module and marks
``config_loaded`` (``conftest.init_config_check_repo``), so a sample takes tens of milliseconds
and a planted 200 ms sleep is a slowdown of several times that no load on a shared 2-core
runner hides. The other checks the command line's wiring (a command after ``--``,
``--first-batch``) with scripted samples whose arm is picked by the commit a job's checkout is
at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bot.bisect import search as bisect
from bot.cli import main
from bot.exec.scripted import ScriptedExecutor
from bot.model import Job, Sample
from bot.store.history_db import History

from ..conftest import (
    SEGMENTS,
    commit,
    git,
    init_config_check_repo,
    plant_config_check_sleep,
)

SCENARIO = """\
name: config-check
description: The script's config loading, to its config_loaded mark
command: [python, train.py]
first_batch: "mark:config_loaded"
timeout_s: 60
"""
COMMITS = 6  # after the good one
PLANTED = 4  # the commit (1-based, after the good one) that adds the blocking call


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list[str]]:
    repo = init_config_check_repo(tmp_path_factory.mktemp("bisect") / "repo", SCENARIO)
    shas = [commit(repo, "good: the script as it ships")]
    for i in range(1, COMMITS + 1):
        if i == PLANTED:
            plant_config_check_sleep(repo, 0.2, "fetch the schema registry")
            shas.append(commit(repo, "Validate configs against the schema registry"))
        else:
            changed = repo / ("notes.txt" if i % 2 else "train.py")
            changed.write_text(changed.read_text() + f"\n# change {i}\n")
            shas.append(commit(repo, f"harmless change {i}"))
    return repo, shas


@pytest.mark.slow
@pytest.mark.timing
def test_bisect_names_the_planted_commit(history, tmp_path, capsys):
    repo, shas = history
    out = tmp_path / "bisect.json"
    code = main(
        [
            "bisect",
            "--root",
            str(repo),
            "--scenarios-dir",
            str(repo / "scenarios"),
            "--good",
            shas[0],
            "--bad",
            shas[-1],
            "--scenario",
            "config-check",
            "--pairs",
            "6",
            "--max-pairs",
            "6",
            "--json",
            str(out),
            "--samples",
            str(tmp_path / "s.jsonl"),
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["version"] == 1 and doc["commits"] == COMMITS
    assert [c["commit"] for c in doc["culprits"]] == [shas[PLANTED]]
    assert doc["culprits"][0]["subject"] == "Validate configs against the schema registry"
    # ⌈log2 (N-1)⌉ + 2 on clean data; on real noise the percent estimates of a short process
    # can leave a gap that costs one check of culprit → bad (which then finds nothing)
    assert doc["comparisons"] <= bisect.budget(COMMITS - 1) + 1
    if doc["comparisons"] == bisect.budget(COMMITS - 1) + 1:  # the extra step: culprit → bad
        last = doc["steps"][-1]
        assert last["commit"] == shas[-1] and last["verdict"] != "regression"
        assert all("no further regression" in n for n in doc["notes"])
    text = capsys.readouterr().out
    assert f"culprit {shas[PLANTED][:10]}" in text and "◆" in text
    # the bisect and each of its steps are in the history (TTFB_LAB_DB, set by conftest)
    with History(os.environ["TTFB_LAB_DB"]) as h:
        runs = h.recent(limit=100)
    steps = [r for r in runs if r["kind"] == "bisect-step"]
    assert [r["kind"] for r in runs].count("bisect") == 1
    assert len(steps) == doc["comparisons"]
    assert all(r["verdict"] in ("regression", "no_change", "inconclusive") for r in steps)


def test_bisect_with_a_command_after_dashes(history, tmp_path, monkeypatch):
    """The command after ``--`` and ``--first-batch`` reach every job, each job's checkout is
    at the commit it measures, and the scripted history (slow from the planted commit on)
    leads the search to that commit."""
    repo, shas = history
    spec = {
        "version": 1,
        "seed": 5,
        "arms": {
            "base": {"segments": SEGMENTS, "sd_pct": 2},
            "slow": {"segments": dict(SEGMENTS, data_ready=0.4), "sd_pct": 2},
        },
        "revisions": {"slow": shas[PLANTED:]},
    }
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump(spec))
    jobs: list[Job] = []
    checkouts: list[tuple[str | None, str]] = []  # (the job's commit, its cwd's HEAD)
    run = ScriptedExecutor.run

    def spy(self: ScriptedExecutor, job: Job) -> Sample:
        jobs.append(job)
        checkouts.append((job.revision, git(job.cwd, "rev-parse", "HEAD")))
        return run(self, job)

    monkeypatch.setattr(ScriptedExecutor, "run", spy)
    out = tmp_path / "bisect.json"
    code = main(
        [
            "bisect",
            "--root",
            str(repo),
            "--fake",
            str(fake),
            "--good",
            shas[1],
            "--bad",
            shas[-1],
            "--pairs",
            "6",
            "--max-pairs",
            "6",
            "--first-batch",
            "mark:config_loaded",
            "--json",
            str(out),
            "--samples",
            str(tmp_path / "s.jsonl"),
            "--",
            "python",
            "train.py",
            "--config",
            "my run.yaml",
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["scenario"] == "command" and doc["commits"] == COMMITS - 1
    assert [c["commit"] for c in doc["culprits"]] == [shas[PLANTED]]
    assert jobs and all(j.argv[-3:] == ("train.py", "--config", "my run.yaml") for j in jobs)
    assert {j.detect for j in jobs} == {"mark:config_loaded"}
    # each job runs in a checkout of the commit it measures
    assert all(rev in shas[1:] and head == rev for rev, head in checkouts), checkouts


def test_bad_revisions_are_one_line_errors(history, capsys):
    repo, shas = history
    assert (
        main(
            [
                "bisect",
                "--root",
                str(repo),
                "--good",
                "nope",
                "--bad",
                shas[-1],
                "--scenario",
                str(repo / "scenarios" / "config-check.yaml"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: --good: unknown git revision 'nope'")
    assert (
        main(
            [
                "bisect",
                "--root",
                str(repo),
                "--good",
                shas[-1],
                "--bad",
                shas[0],
                "--scenario",
                str(repo / "scenarios" / "config-check.yaml"),
            ]
        )
        == 2
    )
    assert "has no commits after" in capsys.readouterr().err
