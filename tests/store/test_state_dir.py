"""TTFB Lab's state in a checkout (``.ttfb/``: history, sample logs) stays out of git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot.cli import main

from ..conftest import SEGMENTS, commit, git


def scripted_compare(tmp_path, monkeypatch, folder: str) -> Path:
    """A repository whose script lives in ``folder``; an A/A compare of scripted samples run
    from there with the default history and sample log. The repository."""
    repo = tmp_path / "repo"
    (repo / folder).mkdir(parents=True)
    (repo / folder / "t.py").write_text("x = 1\n")
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    spec = {"version": 1, "seed": 1, "arms": {"base": {"segments": SEGMENTS, "sd_pct": 2}}}
    (tmp_path / "fake.json").write_text(json.dumps(spec))
    monkeypatch.delenv("TTFB_LAB_DB", raising=False)
    monkeypatch.chdir(repo / folder)
    argv = ["compare", "--fake", str(tmp_path / "fake.json"), "--base", base, "--head", base]
    assert main([*argv, "--", "python", "t.py"]) == 0
    return repo


def test_a_compare_leaves_nothing_for_git_add_in_the_users_checkout(tmp_path, monkeypatch):
    """The history and the sample log go under ``.ttfb/`` in the checkout by default; that
    directory ignores itself, so ``git add -A`` after a compare commits nothing of it (a
    benchmark's scratch repository committed the history database into a plant)."""
    repo = scripted_compare(tmp_path, monkeypatch, ".")
    assert (repo / ".ttfb" / "history.sqlite").exists()
    assert list((repo / ".ttfb" / "samples").glob("*.jsonl"))
    git(repo, "add", "-A")
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert staged == "", staged


def test_from_a_subfolder_the_state_goes_to_the_repositorys_one_ttfb(tmp_path, monkeypatch):
    """Run from ``examples/lm/``, the sample log goes beside the history, under the
    repository's ``.ttfb/``, not into a second ``.ttfb/`` in the folder."""
    repo = scripted_compare(tmp_path, monkeypatch, "examples/lm")
    assert (repo / ".ttfb" / "history.sqlite").exists()
    assert list((repo / ".ttfb" / "samples").glob("compare-*.jsonl"))
    assert not (repo / "examples" / "lm" / ".ttfb").exists()
