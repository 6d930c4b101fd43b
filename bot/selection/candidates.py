"""Which scenarios a change can reach: changed paths, seed files, globs and the learned map.

Pure and git-free: ``bot.git.changed_paths`` supplies the changes, ``bot.depmap`` the files each
scenario imported and opened. ``bot.selection`` ranks what this finds within a budget.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from ..scenarios import Scenario
from ..shrink import argv as shrinkargs

ORDER = ("own", "import", "open", "glob", "seed")  # strongest first
DEFAULT_SEEDS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements*.txt",
    "requirements/**",
    "constraints*.txt",
    "*.lock",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "environment.yml",
    "environment.yaml",
    "conda-lock.yml",
    ".python-version",
    "Dockerfile*",
    "**/Dockerfile*",
    ".github/**",
)
DEFAULT_IGNORE = (
    "*.md",
    "**/*.md",
    "*.rst",
    "**/*.rst",
    "docs/**",
    "LICENSE*",
    "NOTICE*",
    ".gitignore",
    "**/.gitignore",
)


@dataclass(frozen=True)
class Change:
    path: str
    status: str = "M"  # A, M, D, R (renamed: old_path is set)
    old_path: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, self.old_path) if self.old_path else (self.path,)


@dataclass(frozen=True)
class ScenarioInfo:
    """What selection needs to know about a scenario."""

    name: str
    globs: tuple[str, ...] = ()
    own_files: tuple[str, ...] = ()  # its YAML and config files (repository-relative)
    est_seconds: float = 10.0
    gpu: int = 0
    runner: tuple[str, ...] = ("ubuntu-latest",)
    tags: tuple[str, ...] = ()
    counted: bool = True  # its CPU work may be counted (scenario ``instructions`` is not off)
    words: frozenset[str] = frozenset()  # of its name and own files' names (``name_words``)


TouchHow = Literal["import", "open", "glob", "seed", "own"]
"""How a changed path reaches a scenario: a file its samples imported or opened, one of its
``paths:`` globs, a seed file, or its own scenario file."""


@dataclass(frozen=True)
class Touch:
    path: str
    how: TouchHow


def matches(path: str, pattern: str) -> bool:
    """Glob match where ``*`` may cross directories and a leading ``**/`` may match nothing."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:])


def touches(
    changes: Sequence[Change],
    scenario: ScenarioInfo,
    depmap: Mapping[str, tuple[frozenset[str], frozenset[str]]],
    seeds: Sequence[str],
) -> list[Touch]:
    """How each changed path reaches ``scenario`` (the strongest way per path)."""
    imported, opened = depmap.get(scenario.name, (frozenset(), frozenset()))
    found = []
    for change in changes:  # a rename reaches a scenario the strongest way either name does
        best: Touch | None = None
        for path in change.paths:
            how: TouchHow
            if path in scenario.own_files:
                how = "own"
            elif path in imported:
                how = "import"
            elif path in opened:
                how = "open"
            elif any(matches(path, g) for g in scenario.globs):
                how = "glob"
            elif any(matches(path, g) for g in seeds):
                how = "seed"
            else:
                continue
            if best is None or ORDER.index(how) < ORDER.index(best.how):
                best = Touch(path, how)
        if best is not None:
            found.append(best)
    return found


WORD = re.compile(r"[a-z0-9]+")


def name_words(*names: str) -> frozenset[str]:
    """The words of names and of file names without their folders and suffixes, in lower
    case: ``ranker-cpu`` and ``examples/configs/ranker.yaml`` give ``{ranker, cpu}``."""
    return frozenset(
        w for n in names for w in WORD.findall(PurePosixPath(n.lower()).stem or n.lower())
    )


def affinity(scenario: ScenarioInfo, touched: Sequence[Touch]) -> int:
    """How many touched paths share a word of their file name with the scenario's name or own
    files (``examples/trainer/datasets/ranker.py`` and ``ranker-cpu``). Before a run has mapped
    what a scenario imports, it breaks the tie between scenarios that a glob reaches alike."""
    return sum(bool(name_words(t.path) & scenario.words) for t in touched)


def is_ignored(path: str, patterns: Sequence[str]) -> bool:
    """True for a path no scenario should be run for (documentation, licences, …)."""
    return any(matches(path, g) for g in patterns)


HOSTED_LABEL = re.compile(
    r"(ubuntu|windows|macos)-(latest|\d+(\.\d+)?)(-(arm|arm64|intel|large|xlarge))?", re.I
)


def is_self_hosted(labels: Sequence[str]) -> bool:
    """Whether a job with these ``runs-on`` labels may land on a self-hosted runner: any label
    that is not one of GitHub's hosted images counts, in any letter case (``Self-Hosted``, a
    runner group's custom label, a larger runner's name), and so does an empty set."""
    return not labels or any(not HOSTED_LABEL.fullmatch(label.strip()) for label in labels)


def changes_from(rows: Sequence[tuple[str, str, str | None]]) -> list[Change]:
    """``Change`` records from ``git.changed_paths``'s (status, path, old path) rows."""
    return [Change(path, status, old) for status, path, old in rows]


def _from_root(path: PurePosixPath) -> str:
    """``path`` (relative to the repository root, maybe through ``..``) in normal form."""
    return posixpath.normpath(path.as_posix())


def scenario_info(scenario: Scenario, *, root: Path) -> ScenarioInfo:
    """ScenarioInfo for a loaded ``bot.scenarios.Scenario`` (its YAML and config files)."""
    own: list[str] = []
    source = Path(scenario.source).resolve() if scenario.source is not None else None
    if source is not None and source.is_relative_to(root.resolve()):
        own.append(source.relative_to(root.resolve()).as_posix())
    cwd = PurePosixPath(scenario.cwd)
    # The script the command runs is the scenario's own file: before a run has mapped what it
    # imports, a change to ``train.py`` must still select the scenario that runs it.
    script = shrinkargs.program(
        scenario.command, lambda p: (root / scenario.cwd / p).is_file()
    ).script
    if script and not Path(script).is_absolute():
        own.append(_from_root(cwd / script))
    config = shrinkargs.config_path(scenario.command)
    if scenario.shrink is not None and scenario.shrink.config:
        config = scenario.shrink.config
    if config and not Path(config).is_absolute():
        own.append(Path(config).as_posix())
    if scenario.environment is not None:  # a dependency bump touches every scenario using it
        own.extend(Path(f).as_posix() for f in scenario.environment.files)
    return ScenarioInfo(
        name=scenario.name,
        globs=tuple(scenario.paths),
        own_files=tuple(own),
        est_seconds=scenario.resources.est_seconds,
        gpu=scenario.resources.gpu,
        runner=tuple(scenario.resources.runner),
        tags=tuple(scenario.tags),
        counted=scenario.instructions != "off",
        words=name_words(scenario.name, *own),
    )
