"""What each engine command is asked to do, as typed values: the one input of its pipeline.

The command line (``bot.cli``) and the GitHub flows (``bot.gh``) build these; the pipelines
(``bot.pipeline``) take nothing else. No ``argparse.Namespace`` reaches below ``cli/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import git
from ..ab.arms import ArmSpec as ArmSpec  # re-exported: the command line builds these
from ..ab.arms import split_command as split_command
from ..ab.calibration_sim import DEFAULT_SHIFTS as DEFAULT_SHIFTS
from ..ab.calibration_sim import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS
from ..ab.calibration_sim import Settings as CalibrationSettings
from ..ab.prepare import matches
from ..ab.results_doc import COMPARE_VERSION as COMPARE_VERSION
from ..ab.targets import Overrides as Overrides
from ..bisect.steps import StepSize as StepSize
from ..errors import UsageError
from ..exec import host
from ..exec.process import ProcessExecutor
from ..exec.scripted import ScriptedExecutor
from ..model import CounterBackend, CountingMode, Executor, ProfileSettings
from ..scenarios import Input, Scenario
from ..stats.verdict import Policy
from ..store import depmap_db, history_db, thresholds
from ..store.recorder import Recorder

RunKind = Literal["compare", "release", "demo", "bench"]
"""The run kind a compare is recorded as in the history."""


@dataclass(frozen=True)
class StoreOptions:
    """Where runs are recorded and thresholds read: the history database (``--db``, default
    ``.ttfb/history.sqlite`` under the root), the dependency map and the runner label."""

    root: Path
    db: Path | None = None
    record: bool = True  # False: --no-history (nothing read or written)
    depmap: Path | None = None
    learn: bool = True  # False: --no-depmap
    runner: str | None = None  # None: $TTFB_LAB_RUNNER, else local:<host>

    @property
    def db_path(self) -> Path:
        return self.db or history_db.default_path(self.root)

    @property
    def runner_label(self) -> str:
        return thresholds.runner_label(self.runner)

    def recorder(self) -> Recorder:
        return Recorder(
            history=self.db_path if self.record else None,
            depmap=(self.depmap or depmap_db.default_path(self.root)) if self.learn else None,
            runner=self.runner_label,
            machine=host.machine_facts(),
        )

    def threshold(self, override_pct: float | None = None) -> thresholds.Threshold:
        """``--threshold-pct``, else the calibration in the history, else the floor."""
        return thresholds.resolver(
            self.db_path if self.record else None, self.runner_label, override_pct=override_pct
        )


@dataclass(frozen=True)
class OutputPaths:
    """Where a run's files go; None: not written (the sample log has a default)."""

    out_dir: Path | None = None  # results.json, comment.md, summary.md, plots, samples.jsonl
    json: Path | None = None
    samples: Path | None = None


@dataclass(frozen=True)
class CountingOptions:
    """Whether and how CPU work is counted (``mode`` None: each scenario's own); ``cap_s``
    bounds each scenario's counting (None: the first look's sampling time, at most 5 min);
    ``jobs`` is how many counts run at once (0: one per core)."""

    mode: CountingMode | None = None
    backend: CounterBackend = "auto"
    cap_s: float | None = None
    jobs: int = 0


@dataclass(frozen=True)
class ProfileOptions:
    """Whether to take a differential profile (``wanted`` None: a scenario's own ``profile:``,
    else when a finding is confirmed; True: ``--profile``; False: ``--no-profile``) and how."""

    wanted: bool | None = None
    settings: ProfileSettings = field(default_factory=ProfileSettings)


@dataclass(frozen=True)
class CompareOptions:
    """One comparison: the arms, the scenarios (None: the arms' own commands), how strictly."""

    root: Path
    base: ArmSpec
    head: ArmSpec
    scenarios: tuple[Scenario | None, ...]
    store: StoreOptions
    name: str = "command"
    overrides: Overrides = field(default_factory=Overrides)
    policy: Policy = field(default_factory=Policy)
    threshold_pct: float | None = None
    budget_s: float | None = None
    family_size: int | None = None
    counting: CountingOptions = CountingOptions()
    attribute: bool | None = None  # None: for a scenario with a finding
    profile: ProfileOptions = ProfileOptions()
    outputs: OutputPaths = OutputPaths()
    kind: RunKind = "compare"
    where: str = "."  # where the arms' own commands run, relative to the root
    extra: Mapping[str, Any] = field(default_factory=dict)  # added to results.json
    fake: Path | None = None  # scripted samples (tests), instead of real processes


@dataclass(frozen=True)
class MeasureOptions:
    """N samples of each scenario, or of one command run where the user stands."""

    root: Path
    store: StoreOptions
    scenarios: tuple[Scenario, ...] = ()
    command: tuple[str, ...] | None = None
    cwd: Path = Path(".")  # where the command runs
    runs: int = 5
    warmup: int = 1
    python: str | None = None
    overrides: Overrides = field(default_factory=Overrides)
    instructions: bool = False
    backend: CounterBackend = "auto"
    importtime: bool = False
    profile: ProfileSettings | None = None  # --profile: the flame graph and top functions
    profile_out: Path | None = None  # where its flame graph goes (default under .ttfb/)
    outputs: OutputPaths = OutputPaths()
    fake: Path | None = None
    kind: Literal["measure", "depmap"] = "measure"  # what the history records it as


@dataclass(frozen=True)
class BisectOptions:
    root: Path
    good: str
    bad: str
    store: StoreOptions
    scenario: Scenario | None = None
    command: tuple[str, ...] | None = None
    size: StepSize = field(default_factory=StepSize)
    max_skips: int = 5
    detect: str | None = None
    outputs: OutputPaths = OutputPaths()
    fake: Path | None = None
    where: str = "."  # where the command runs, relative to the root


@dataclass(frozen=True)
class CalibrateOptions:
    root: Path
    scenarios: tuple[Scenario, ...]
    store: StoreOptions
    every: bool = False  # --all: skip what this machine cannot run instead of failing
    pairs: int = 40  # new A/A pairs per scenario (0: reuse the stored ones)
    compares_per_week: float | None = None
    settings: CalibrationSettings = field(default_factory=CalibrationSettings)
    outputs: OutputPaths = OutputPaths()
    fake: Path | None = None
    # Split for CI: a job that runs the measured code records A/A pairs only (``record_only``,
    # into the sample log); a trusted job imports those logs (``aa_logs``) and calibrates.
    record_only: bool = False
    aa_logs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class DemoOptions:
    out_dir: Path
    max_pairs: int = 10
    budget_s: float | None = 280.0
    keep: bool = False
    fake: Path | None = None


def where_in(root: Path, cwd: Path) -> str:
    """Where the user stands, relative to the repository root ("." outside it): a command
    given on the command line runs at the same place in every arm's checkout."""
    here, top = cwd.resolve(), root.resolve()
    return here.relative_to(top).as_posix() if here.is_relative_to(top) else "."


def input_from_here(pattern: str, root: Path, cwd: Path) -> str:
    """An ``--input`` glob that matches nothing from the repository root but does from the
    folder the user stands in (``--input input.txt`` in ``projects/chargpt``) means that
    folder's: root-relative again (``projects/chargpt/input.txt``). Matched as inputs are
    placed (``bot.ab.prepare.matches``)."""
    if matches(root, Input(pattern)):
        return pattern
    where = where_in(root, cwd)
    if where != "." and matches(cwd, Input(pattern)):
        return f"{where}/{pattern}"
    return pattern


def executor_for(fake: Path | None) -> Executor:
    """Real processes, or scripted timings from a ``--fake`` spec (tests)."""
    return ScriptedExecutor.from_file(fake) if fake else ProcessExecutor()


def default_head(root: Path) -> tuple[str, str]:
    """The head a compare of revisions takes when none is given, and a line that says so when
    it is not plain ``HEAD``: with uncommitted changes, the working tree as a commit on top of
    ``HEAD`` (``git.working_tree_commit``). A compare of ``HEAD`` would leave them out, and
    say nothing."""
    made = git.working_tree_commit(cwd=root)
    if made is None:
        return "HEAD", ""
    sha, files = made
    return sha, (
        f"head is your working tree: HEAD {git.short('HEAD', cwd=root)} with uncommitted "
        f"changes to {files} tracked file(s) (untracked files are not part of it; --head HEAD "
        "leaves the changes out)"
    )


def default_base(
    head: str, *, root: Path, same_ok: bool = False, fallback: str | None = None
) -> tuple[str, str]:
    """The base a compare takes when none is given, and a line that says which it took: the
    merge-base of ``head`` with the repository's default branch (one rule for ``compare`` and
    ``select``). A merge-base that is the head itself leaves nothing to compare: an error,
    unless ``same_ok`` (selection of an empty change). With no default branch, ``fallback``
    (``HEAD`` under uncommitted changes), else an error."""
    branch = git.default_branch(cwd=root)
    if branch is None and fallback is not None:
        sha = git.resolve(fallback, cwd=root, what="--base")
        return sha, f"base is {fallback} {sha[:7]}: no default branch found (--base REV to choose)"
    if branch is None:
        raise UsageError("--base: no default branch found; pass --base REV")
    head_sha = git.resolve(head, cwd=root, what="--head")
    try:
        base = git.merge_base(branch, head_sha, cwd=root)
    except git.GitError:
        shallow = git.is_shallow(cwd=root)
        raise UsageError(
            f"--base: {branch} and the head have no common commit"
            + (" in this shallow clone (git fetch --unshallow)" if shallow else "")
            + "; pass --base REV"
        ) from None
    if base == head_sha and not same_ok:
        raise UsageError(
            f"--base: the merge-base with {branch} is the head commit itself; pass --base REV"
        )
    return base, (
        f"base is {base[:7]} {git.subject(base, cwd=root)!r}, where the head leaves {branch} "
        "(its merge-base; --base REV to choose another)"
    )
