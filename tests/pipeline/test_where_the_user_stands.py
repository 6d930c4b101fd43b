"""Commands run where the user stands: the same path, relative to the repository root, in
every arm's checkout (``cd examples/x && ttfb compare -- python main.py`` just works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import commit, git, ttfb_process

SCRIPT = """
import json, os, sys
import ttfb_lab

with open(os.environ["WHERE_LOG"], "a") as f:
    f.write(json.dumps([os.getcwd(), sys.argv[1:]]) + "\\n")
ttfb_lab.first_batch()
"""
SMALL = ("--pairs", "2", "--max-pairs", "2", "--instructions", "off", "--no-attribute")


@pytest.fixture
def repo(tmp_path) -> tuple[Path, list[str]]:
    """A monorepo of examples: the training script lives in examples/lm/, not at the root."""
    repo = tmp_path / "repo"
    sub = repo / "examples" / "lm"
    sub.mkdir(parents=True)
    (sub / "train.py").write_text(SCRIPT)
    (repo / "scenarios").mkdir()
    (repo / "scenarios" / "lm.yaml").write_text(
        "name: lm\ncommand: [python, train.py, --from-scenario]\nworkdir: examples/lm\n"
    )
    git(repo, "init", "-q", "-b", "main")
    first = commit(repo, "the lm example")
    (sub / "train.py").write_text(SCRIPT + "# faster\n")
    return repo, [first, commit(repo, "lm: faster")]


def ttfb(cwd: Path, log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ttfb_process(cwd, *args, env={"WHERE_LOG": str(log)})


def seen(log: Path) -> list[tuple[str, list[str]]]:
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def test_a_compare_of_revisions_runs_the_command_in_the_users_folder_of_each_arm(repo, tmp_path):
    root, (first, second) = repo
    log = tmp_path / "where.jsonl"
    out = tmp_path / "out"
    proc = ttfb(
        root / "examples" / "lm",
        log,
        *("compare", "--base", first, "--head", second, "--no-history", *SMALL),
        *("--out-dir", str(out), "--", "python", "train.py", "--epochs", "1"),
    )
    assert proc.returncode == 0, proc.stderr
    runs = seen(log)
    assert len(runs) >= 6
    for cwd, argv in runs:
        assert Path(cwd).parts[-2:] == ("examples", "lm") and argv == ["--epochs", "1"]
        assert not Path(cwd).is_relative_to(root)  # each arm's own worktree, not the checkout
    doc = json.loads((out / "results.json").read_text())
    assert doc["base"]["where"] == "examples/lm" and "(in examples/lm/)" in doc["head"]["label"]


def test_base_and_head_commands_run_in_the_users_folder_too(repo, tmp_path):
    root, _ = repo
    log = tmp_path / "where.jsonl"
    proc = ttfb(
        root / "examples" / "lm",
        log,
        *("compare", "--no-history", *SMALL),
        *("--base-cmd", "python train.py", "--head-cmd", "python train.py --new"),
    )
    assert proc.returncode == 0, proc.stderr
    cwds = {Path(cwd) for cwd, _ in seen(log)}
    assert cwds == {(root / "examples" / "lm").resolve()}


def test_a_scenarios_workdir_is_where_its_command_runs(repo, tmp_path):
    root, (first, second) = repo
    log = tmp_path / "where.jsonl"
    proc = ttfb(
        root,
        log,
        *("compare", "--scenario", "lm", "--base", first, "--head", second, "--no-history"),
        *SMALL,
    )
    assert proc.returncode == 0, proc.stderr
    for cwd, argv in seen(log):
        assert Path(cwd).parts[-2:] == ("examples", "lm") and argv == ["--from-scenario"]


def test_a_script_missing_in_one_arm_breaks_that_arm_with_one_line(repo, tmp_path):
    root, (_, second) = repo
    git(root, "mv", "examples/lm/train.py", "examples/lm/main.py")
    third = commit(root, "lm: train.py is main.py now")
    out = tmp_path / "out"
    proc = ttfb(
        root / "examples" / "lm",
        tmp_path / "where.jsonl",
        *("compare", "--base", second, "--head", third, "--no-history", *SMALL),
        *("--out-dir", str(out), "--", "python", "train.py"),
    )
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    assert s["verdict"] == "broken"
    assert s["reason"] == f"head: examples/lm: no such file 'train.py' at {third[:10]}"
    assert proc.returncode == 0  # without --gate a broken scenario is reported, not an error


def test_a_file_only_the_users_checkout_has_is_named_with_the_input_that_links_it(repo, tmp_path):
    """Data kept out of git (``input.txt`` beside the trainer, ignored) is in no worktree: the
    broken line names the file and the ``--input`` that links it, and with it the compare runs."""
    root, (first, _) = repo
    sub = root / "examples" / "lm"
    (root / ".gitignore").write_text("input.txt\n")
    (sub / "train.py").write_text("text = open('input.txt').read()\n" + SCRIPT)
    second = commit(root, "lm: read the corpus")
    (sub / "input.txt").write_text("to be or not to be\n")
    args = ("compare", "--base", first, "--head", second, "--no-history", *SMALL)
    out = tmp_path / "out"
    proc = ttfb(
        sub, tmp_path / "where.jsonl", *args, "--out-dir", str(out), "--", "python", "train.py"
    )
    assert proc.returncode == 0, proc.stderr
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    assert s["verdict"] == "broken"
    assert (
        "head sample crashed: exit code 1: examples/lm/input.txt is in your checkout but not in "
        "this revision (untracked or ignored by git): link it into each arm with --input "
        "examples/lm/input.txt (a scenario: inputs:)"
    ) in s["reason"]
    linked = ("--input", "examples/lm/input.txt", "--out-dir", str(tmp_path / "linked"))
    proc = ttfb(sub, tmp_path / "where.jsonl", *args, *linked, "--", "python", "train.py")
    assert proc.returncode == 0, proc.stderr
    (s,) = json.loads((tmp_path / "linked" / "results.json").read_text())["scenarios"]
    assert s["verdict"] != "broken", s["reason"]
    # written from the folder the user stands in, the same file
    here = ("--input", "input.txt", "--out-dir", str(tmp_path / "here"))
    proc = ttfb(sub, tmp_path / "where.jsonl", *args, *here, "--", "python", "train.py")
    assert proc.returncode == 0, proc.stderr
    (s,) = json.loads((tmp_path / "here" / "results.json").read_text())["scenarios"]
    assert s["verdict"] != "broken", s["reason"]


def test_a_missing_file_the_checkout_lacks_too_gets_no_input_hint(repo, tmp_path):
    root, (first, _) = repo
    sub = root / "examples" / "lm"
    (sub / "train.py").write_text("text = open('corpus.txt').read()\n" + SCRIPT)
    second = commit(root, "lm: read a corpus nobody made")
    out = tmp_path / "out"
    proc = ttfb(
        sub,
        tmp_path / "where.jsonl",
        *("compare", "--base", first, "--head", second, "--no-history", *SMALL),
        *("--out-dir", str(out), "--", "python", "train.py"),
    )
    assert proc.returncode == 0, proc.stderr
    (s,) = json.loads((out / "results.json").read_text())["scenarios"]
    assert s["verdict"] == "broken" and "corpus.txt" in s["reason"]
    assert "--input" not in s["reason"]


def test_with_uncommitted_changes_the_default_head_is_the_working_tree(repo, tmp_path):
    """``ttfb compare -- python train.py`` with an edit not yet committed measures the edit
    (against ``HEAD``, the merge-base being ``HEAD`` itself), and leaves the checkout as it was."""
    root, (_, second) = repo
    sub = root / "examples" / "lm"
    (sub / "train.py").write_text("import sys; sys.argv.append('edited')\n" + SCRIPT)
    (sub / "notes.txt").write_text("untracked: not part of it\n")
    status = git(root, "status", "--porcelain")
    log = tmp_path / "where.jsonl"
    out = tmp_path / "out"
    proc = ttfb(
        sub,
        log,
        *("compare", "--no-history", *SMALL, "--out-dir", str(out), "--", "python", "train.py"),
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        f"compare: head is your working tree: HEAD {second[:7]} with uncommitted changes to 1 "
        "tracked file(s)"
    ) in proc.stderr
    assert (
        f"compare: base is {second[:7]} 'lm: faster', where the head leaves main (its "
        "merge-base; --base REV to choose another)"
    ) in proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["base"]["revision"] == second and doc["head"]["revision"] != second
    runs = seen(log)  # the edit makes the script log an argument: head's runs, not base's
    assert {tuple(argv) for _, argv in runs} == {(), ("edited",)}
    assert len({cwd for cwd, argv in runs if argv}) == 1  # one worktree, not the checkout
    assert not any(Path(cwd).is_relative_to(root) for cwd, _ in runs)
    assert git(root, "status", "--porcelain") == status and not git(root, "stash", "list")


def test_a_clean_checkout_still_asks_for_a_base_when_head_is_the_merge_base(repo, tmp_path):
    root, _ = repo
    proc = ttfb(
        root / "examples" / "lm",
        tmp_path / "where.jsonl",
        "compare",
        *SMALL,
        "--",
        "python",
        "x.py",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --base: the merge-base with main is the head commit itself; pass --base REV"
    )


def test_a_pythonpath_into_the_checkout_means_each_arms_own_copy(repo, tmp_path):
    """``PYTHONPATH=$REPO`` so that a script in a subfolder can ``import pkg`` (minGPT's way):
    each arm imports its own revision's ``pkg``, not the checkout's."""
    root, _ = repo
    sub = root / "examples" / "lm"
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("VERSION = 'one'\n")
    (sub / "train.py").write_text("import sys, pkg; sys.argv.append(pkg.VERSION)\n" + SCRIPT)
    one = commit(root, "pkg one")
    (root / "pkg" / "__init__.py").write_text("VERSION = 'two'\n")
    two = commit(root, "pkg two")
    (root / "pkg" / "__init__.py").write_text("VERSION = 'checkout'\n")  # uncommitted
    log = tmp_path / "where.jsonl"
    env = {"WHERE_LOG": str(log), "PYTHONPATH": str(root)}
    argv = ["compare", "--base", one, "--head", two, "--no-history", *SMALL]
    proc = ttfb_process(sub, *argv, "--", "python", "train.py", env=env)
    assert proc.returncode == 0, proc.stderr
    assert {tuple(argv) for _, argv in seen(log)} == {("one",), ("two",)}


def test_uncommitted_changes_without_a_default_branch_are_compared_with_head(tmp_path):
    """A repository whose only branch is ``dev`` (no main, no origin): an edit not yet
    committed is still compared, against ``HEAD``."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT)
    git(root, "init", "-q", "-b", "dev")
    first = commit(root, "dev only")
    (root / "train.py").write_text("import sys; sys.argv.append('edited')\n" + SCRIPT)
    out = tmp_path / "out"
    proc = ttfb(
        root,
        tmp_path / "where.jsonl",
        *("compare", "--no-history", *SMALL, "--out-dir", str(out), "--", "python", "train.py"),
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["base"]["revision"] == first and doc["head"]["revision"] != first
    assert f"compare: base is HEAD {first[:7]}: no default branch found" in proc.stderr
    clean = ttfb(root, tmp_path / "w2.jsonl", "compare", "--head", "HEAD", *SMALL, "--", "x")
    assert clean.returncode == 2
    assert clean.stderr.strip() == "error: --base: no default branch found; pass --base REV"


def test_a_shallow_clone_without_the_merge_base_asks_for_a_base(repo, tmp_path):
    """A CI-style ``--depth 1`` clone of a feature branch holds no commit in common with
    ``origin/main``: the error says so, and how to go on, instead of git's own words."""
    root, _ = repo
    git(root, "checkout", "-q", "-b", "feature")
    (root / "examples" / "lm" / "train.py").write_text(SCRIPT + "# feature\n")
    commit(root, "feature work")
    git(root, "checkout", "-q", "main")  # origin/HEAD: main
    clone = tmp_path / "clone"
    depth = ("--depth", "1", "--no-single-branch", "--branch", "feature")
    git(tmp_path, "clone", "-q", *depth, root.as_uri(), str(clone))
    proc = ttfb(clone / "examples" / "lm", tmp_path / "w.jsonl", "compare", *SMALL, "--", "x")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: --base: origin/main and the head have no common commit in this shallow clone "
        "(git fetch --unshallow); pass --base REV"
    )


def test_a_revision_that_cannot_be_checked_out_is_named(repo, tmp_path):
    """A base whose files git cannot check out (here a blob is gone, as in a partial mirror):
    one line that names the revision, and no worktree left behind."""
    root, _ = repo
    (root / "data.bin").write_text("only in this commit\n")
    lost = commit(root, "data")
    blob = git(root, "rev-parse", f"{lost}:data.bin").strip()
    git(root, "rm", "-q", "data.bin")
    head = commit(root, "no data")
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    proc = ttfb(root, tmp_path / "w.jsonl", "compare", "--base", lost, "--head", head, *SMALL,
                "--", "python", "examples/lm/train.py")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: checking out {lost[:12]}: git worktree add"), line
    assert len(git(root, "worktree", "list").splitlines()) == 1  # only the checkout itself


def test_a_bare_python_in_a_compared_command_is_the_one_path_finds(repo, tmp_path):
    """As in ``measure``: each arm of ``compare -- python train.py`` runs the ``python`` the
    user's shell would (an activated environment), not the interpreter running ttfb."""
    root, _ = repo
    bindir = tmp_path / "env" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    log = tmp_path / "where.jsonl"
    env = {"WHERE_LOG": str(log), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    sub = root / "examples" / "lm"
    script = "import sys; sys.argv.append(sys.executable)\n" + SCRIPT
    (sub / "train.py").write_text(script)
    commit(root, "log the interpreter")
    third = git(root, "rev-parse", "HEAD").strip()
    argv = ["compare", "--base", third, "--head", third, "--no-history", *SMALL]
    proc = ttfb_process(sub, *argv, "--", "python", "train.py", env=env)
    assert proc.returncode == 0, proc.stderr
    assert {tuple(a) for _, a in seen(log)} == {(str(bindir / "python"),)}
