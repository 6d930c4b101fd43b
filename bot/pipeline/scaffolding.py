"""``ttfb init``'s pipeline: a scenario file written from one run of a command, run where the
user stands.

A new user has a training command, not a scenario. ``init`` drafts the scenario (the command,
where it runs, ``shrink: {auto: true}`` when ``auto`` finds something to shrink), runs that
draft once, to its first batch, through the measure pipeline (``bot.pipeline.measuring``: the
probe, shrinking, the timeout; no history, but the dependency map learns what it imported, so
``select`` knows the scenario from its first change), so a production command that takes
minutes runs as small as the scenario will, and writes what that run showed:

- ``command`` as given, and ``workdir`` (the folder it ran in, relative to the root);
- ``env: PYTHONPATH``: your ``PYTHONPATH``'s entries inside the repository, relative to the
  workdir, so that each arm imports its own revision's packages;
- ``inputs``: the files it read under the root that git does not track (a prepared dataset,
  a tokenizer; not those it wrote): no revision's worktree has them, so a compare links them
  in. A folder with more than ``FOLDER_AT`` of them becomes one ``folder/**`` glob;
- ``paths``: the folder's files (``workdir/**``), when it is not the root;
- ``resources``: a GPU runner when the run initialised CUDA, and ``est_seconds`` from its TTFB;
- ``shrink: {auto: true}`` when ``auto`` finds something to shrink in the command.

The file is checked against the scenario schema before it is written, atomically; an existing
one is replaced only with ``force``. A run that fails writes nothing.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .. import git
from ..atomic import STATE_DIR, write_text_atomic
from ..errors import ConfigError, UsageError
from ..exec import host
from ..model import Progress, Sample
from ..scenarios import parse_scenario
from ..shrink import apply as shrinkrun
from ..shrink.spec import ShrinkSpec
from .measuring import measure
from .options import MeasureOptions, StoreOptions, where_in

FOLDER_AT = 5  # inputs in one folder beyond this become one glob of the folder
GENERIC = {"train", "main", "run", "fit", "pretrain", "finetune", "__main__", "cli"}
NAME = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True)
class InitOptions:
    root: Path
    cwd: Path
    command: tuple[str, ...]
    scenarios_dir: Path  # relative to the root, or absolute
    name: str | None = None
    force: bool = False
    python: str | None = None
    timeout_s: float = 300.0


@dataclass(frozen=True)
class Scaffold:
    path: Path
    text: str
    sample: Sample
    notes: tuple[str, ...]
    # The interpreter the run used when it is not the one running ttfb (which a scenario's
    # ``python`` means): the next commands need ``--python`` to run the same one.
    python: str | None = None


def scenario_name(command: Sequence[str], where: str, top: str = "") -> str:
    """``chargpt`` for ``python chargpt.py``; ``lm-train`` for ``python train.py`` in
    ``examples/lm``, ``nanogpt-train`` at the top of ``nanogpt`` (``top``: the repository's
    folder): a script named like every trainer says little alone."""
    script = next((a for a in command[1:] if a.endswith(".py") and not a.startswith("-")), None)
    module = next((command[i + 1] for i, a in enumerate(command[:-1]) if a == "-m"), None)
    if script:
        stem = PurePosixPath(script).stem
    elif module:
        stem = module.rsplit(".", 1)[-1]  # -m pkg.train → train
    else:
        stem = PurePosixPath(command[0]).name
    folder = PurePosixPath(where).name if where != "." else top
    name = f"{folder}-{stem}" if stem.lower() in GENERIC and folder else stem
    return NAME.sub("-", name.lower()).strip("-._")[:64] or "training"


def init(opts: InitOptions, *, progress: Progress | None = None) -> Scaffold:
    """Run the command once and write its scenario (module docstring)."""
    if git.toplevel(opts.root) is None:
        raise UsageError(f"init: {opts.root} is not in a git repository (scenarios live in one)")
    # the interpreter `python` means in the typed command, decided once for the shrink check,
    # the run and the next commands: the one PATH finds unless --python says otherwise
    opts = replace(opts, python=opts.python or host.typed_python(opts.command[0]))
    where = where_in(opts.root, opts.cwd)
    name = opts.name or scenario_name(opts.command, where, opts.root.name)
    folder = opts.root / opts.scenarios_dir  # an absolute one stays as it is
    path = folder / f"{name}.yaml"
    if path.exists() and not opts.force:
        raise UsageError(f"init: {path} exists; pass --force to replace it, or --name NAME")
    draft, notes = _draft(opts, name, where)
    scenario = parse_scenario({**draft, "timeout_s": opts.timeout_s}, source=path)
    if progress:
        how = "shrunk by auto, as the scenario will run it" if "shrink" in draft else "as given"
        progress(
            f"init: one run of the command, {how}, to its first batch "
            f"(at most {opts.timeout_s:g} s)"
        )
    started = time.time()
    measured = measure(
        MeasureOptions(
            root=opts.root,
            store=StoreOptions(root=opts.root, record=False),  # learns what it imports
            scenarios=(scenario,),
            runs=1,
            warmup=0,
            python=opts.python,
        )
    )
    got = next(iter(measured.samples.values()), ())
    sample = got[-1] if got else Sample("crashed", error="no sample ran")
    if not sample.ok:
        raise ConfigError(f"init: the command did not reach its first batch: {sample.error}")
    data = _complete(draft, opts.root, where, sample, started, notes)
    text = _render(data, sample)
    parse_scenario(yaml.safe_load(text), source=path)  # what is written must load
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    python = opts.python
    apart = python and os.path.abspath(python) != os.path.abspath(sys.executable)
    return Scaffold(path, text, sample, tuple(notes), python if apart else None)


def _draft(opts: InitOptions, name: str, where: str) -> tuple[dict[str, Any], list[str]]:
    """What is known before the run: the command, where it runs, how, whether it shrinks."""
    notes: list[str] = []
    data: dict[str, Any] = {"name": name, "command": list(opts.command)}
    if where != ".":
        data["workdir"] = where
    pythonpath = _pythonpath(opts.root, opts.root / where)
    if pythonpath:
        data["env"] = {"PYTHONPATH": pythonpath}
        notes.append(f"env: PYTHONPATH {pythonpath} (your PYTHONPATH, relative to the workdir)")
    if _shrinks(opts, where):
        data["shrink"] = {"auto": True}
    else:
        notes.append("shrink: auto finds nothing to shrink in this command; it runs as given")
    return data, notes


def _complete(
    draft: dict[str, Any],
    root: Path,
    where: str,
    sample: Sample,
    started: float,
    notes: list[str],
) -> dict[str, Any]:
    """The draft with what the run showed: inputs, paths, the runner and the cost."""
    data = dict(draft)
    inputs = _inputs(root, sample.opened_files, started)
    if inputs:
        first: tuple[str, ...] = ("name", "command", "workdir", "env")
        head: dict[str, Any] = {k: data.pop(k) for k in first if k in data}
        data = {**head, "inputs": inputs, **data}
        notes.append(f"inputs: {len(inputs)} glob(s) of files it read that git does not track")
    if where != ".":
        data["paths"] = [f"{where}/**"]
    gpu = "cuda_init" in sample.phases
    ttfb = sample.ttfb_s or 1.0
    data["resources"] = {
        "runner": ["self-hosted", "gpu"] if gpu else ["ubuntu-latest"],
        "gpu": int(gpu),
        "est_seconds": max(1, math.ceil(ttfb)),
    }
    data["timeout_s"] = max(120, math.ceil(ttfb * 10))
    data["tags"] = ["pr", "release"]
    return data


def _pythonpath(root: Path, workdir: Path) -> str:
    """Your ``PYTHONPATH``'s entries inside the repository, relative to the workdir (so that
    each arm's worktree has its own), or ""."""
    inside = []
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        here = Path(entry).resolve() if entry else None
        if here is not None and here.is_relative_to(root.resolve()):
            inside.append(os.path.relpath(here, workdir.resolve()))
    return os.pathsep.join(inside)


def _inputs(root: Path, opened: Sequence[str], started: float) -> list[str]:
    """The files it read that git does not track, as globs (a busy folder as one); a file
    changed since the run started is one it wrote (a log, a checkpoint), not an input."""
    tracked = set(git.run(["ls-files", "-z"], cwd=root).split("\0"))
    untracked = sorted(
        f
        for f in opened
        if f not in tracked
        and not f.startswith(f"{STATE_DIR}/")
        and (root / f).is_file()
        and (root / f).stat().st_mtime < started
    )
    by_folder: dict[str, list[str]] = defaultdict(list)
    for f in untracked:
        by_folder[PurePosixPath(f).parent.as_posix()].append(f)
    globs: list[str] = []
    for parent, files in sorted(by_folder.items()):
        if len(files) > FOLDER_AT and parent != ".":
            globs.append(f"{parent}/**")
        else:
            globs.extend(files)
    return globs[:100]


def _shrinks(opts: InitOptions, where: str) -> bool:
    """Whether ``shrink --auto`` changes anything in the command, where it runs."""
    spec = ShrinkSpec.parse({"auto": True}, source="init")
    with tempfile.TemporaryDirectory(prefix="ttfb-init-") as tmp:
        try:
            shrunk = shrinkrun.shrink_command(
                list(opts.command),
                spec,
                root=opts.root,
                workdir=Path(tmp),
                python=opts.python or "python",
                name="init",
                cwd=opts.root / where,
            )
        except ConfigError:
            return False
    return bool(shrunk.result.changes)


def _render(data: dict[str, Any], sample: Sample) -> str:
    head = (
        f"# Written by `ttfb init` from one run: TTFB {sample.ttfb_s:.2f} s, first batch by "
        f"{sample.detected_by or 'the probe'}.\n# Edit freely; the fields are in "
        "scenarios/README.md of TTFB Lab.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
