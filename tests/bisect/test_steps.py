"""``ttfb bisect`` on a real git history of the example trainer with a planted blocking call.

The scenario is the trainer's own config check (``--validate-only``, which never imports
torch) measured to its ``config_loaded`` mark, so each of the ~34 samples of a step takes a
fraction of a second and the whole bisect stays well under a minute.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.bisect import search as bisect
from bot.cli import main
from bot.store.history_db import History

from ..conftest import commit, init_example_repo, plant_config_sleep

pytestmark = pytest.mark.slow

SCENARIO = """\
name: config-check
description: The trainer's config validation, to its config_loaded mark
command: [python, -m, examples.trainer.train, --config, examples/configs/ranker.yaml,
          --validate-only]
first_batch: "mark:config_loaded"
timeout_s: 60
"""
PLANTED = 8  # the commit (1-based, after the good one) that adds the blocking call


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list[str]]:
    repo = init_example_repo(
        tmp_path_factory.mktemp("bisect") / "repo", scenarios={"config-check": SCENARIO}
    )
    shas = [commit(repo, "good: the trainer as it ships")]
    for i in range(1, 13):
        if i == PLANTED:
            plant_config_sleep(repo, 0.3, '"fetch the schema registry"')
            shas.append(commit(repo, "Validate configs against the schema registry"))
        else:
            note = repo / "examples" / "trainer" / ("loop.py" if i % 2 else "synth.py")
            note.write_text(note.read_text() + f"\n# change {i}\n")
            shas.append(commit(repo, f"harmless change {i}"))
    return repo, shas


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
    assert doc["version"] == 1 and doc["commits"] == 12
    assert [c["commit"] for c in doc["culprits"]] == [shas[PLANTED]]
    assert doc["culprits"][0]["subject"] == "Validate configs against the schema registry"
    # ⌈log2 11⌉ + 2 on clean data; on real noise the percent estimates of a ~0.1 s process
    # can leave a gap that costs one check of culprit → bad (which then finds nothing)
    assert doc["comparisons"] <= bisect.budget(11) + 1
    if doc["comparisons"] == bisect.budget(11) + 1:  # the extra step: culprit → bad, clean
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


def test_bisect_with_a_command_after_dashes(history, tmp_path):
    repo, shas = history
    out = tmp_path / "bisect.json"
    code = main(
        [
            "bisect",
            "--root",
            str(repo),
            "--good",
            shas[5],
            "--bad",
            shas[10],
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
            "-m",
            "examples.trainer.train",
            "--config",
            "examples/configs/lm.yaml",
            "--validate-only",
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["scenario"] == "command" and doc["commits"] == 5
    assert [c["commit"] for c in doc["culprits"]] == [shas[PLANTED]]


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
