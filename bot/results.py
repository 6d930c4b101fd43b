"""The results document (``results.json``, ``bot/schemas/results.schema.json``) as typed values.

Pure. ``bot.ab.results_doc`` builds these and writes ``to_json()``; every reader goes through
``from_json`` (``bot.jsondoc``), which refuses the first missing or mistyped field with a
``ResultsError`` naming it (``scenarios[0].delta_pct: expected a number, got 'x'``), never a
silent None. An ``Omittable`` key is left out while None; a ``Rest`` field keeps the keys no
field names. So ``from_json(d).to_json() == d`` for whatever the writer wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import jsondoc
from .jsondoc import Omittable as Omittable
from .jsondoc import Rest as Rest
from .model import Verdict
from .stats.endpoints import EndpointKind
from .stats.verdict import FindingKind

RESULTS_VERSION = 1
Stage = Literal["primary", "confirm"]  # the primary ABBA blocks, or the BAAB confirmation


class Json(jsondoc.Json):
    """A part of the results document (``version``: at most ``RESULTS_VERSION``)."""

    known_version = RESULTS_VERSION


@dataclass(frozen=True, kw_only=True)
class ArmResult(Json):  # one arm as the compare ran it
    label: str
    revision: str | None = None
    python: Omittable[str] = None
    env: Omittable[Mapping[str, str]] = None
    command: tuple[str, ...] | None = None
    where: Omittable[str] = None  # where the command ran, relative to the root


@dataclass(frozen=True, kw_only=True)
class PolicyResult(Json):
    """The statistical policy; ``alpha`` None where it was not recorded (a rebuilt report)."""

    alpha: float | None
    confirm_alpha: Omittable[float] = None
    looks: Omittable[tuple[int, ...]] = None
    decision_test: Omittable[str] = None
    correction: str


@dataclass(frozen=True, kw_only=True)
class ArmMedians(Json):  # wall and CPU TTFB, an evaluation before training, if any, and GC
    median_s: float | None
    cpu_median_s: Omittable[float] = None
    eval_median_s: Omittable[float] = None
    eval_forwards: Omittable[int] = None
    gc_median_s: Omittable[float] = None  # garbage collection before the first batch


@dataclass(frozen=True, kw_only=True)
class EndpointResult(Json):
    """One endpoint of a scenario: a phase segment, or CPU time to first batch."""

    key: str
    label: str
    kind: Omittable[EndpointKind] = None
    base_median_s: float | None
    head_median_s: float | None
    delta_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    delta_s: float | None = None
    p_ttest: float | None
    p_wilcoxon: float | None = None
    p_adjusted: float | None = None
    significant: bool
    mde_pct: float | None = None
    sd: float | None = None


@dataclass(frozen=True, kw_only=True)
class FindingResult(Json):
    """The significant effect above threshold that the confirmation run re-tested."""

    direction: int  # +1 slower, -1 faster
    kind: FindingKind
    endpoint: str
    effect_pct: float
    summary: str
    values_s: Omittable[Mapping[str, tuple[float, ...]]] = None  # a segment's, per stage


@dataclass(frozen=True, kw_only=True)
class ConfirmationResult(Json):  # fresh pairs (or counts) re-testing the finding's endpoint
    endpoint: Omittable[str] = None
    pairs: int
    delta_pct: float | None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p_one_sided: float | None
    reproduced: bool
    note: Omittable[str] = None


@dataclass(frozen=True, kw_only=True)
class SampleRow(Json):  # one pair of the per-sample list
    stage: Stage
    block: int = 0
    base_s: float | None = None
    head_s: float | None = None
    base_cpu_s: float | None = None
    head_cpu_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class ArmSetup(Json):  # what preparing an arm took: environment, setup command, its time
    environment: Mapping[str, Any] | None = None
    setup: tuple[str, ...] | None = None
    setup_s: float | None = None
    inputs: int | None = None


@dataclass(frozen=True, kw_only=True)
class PrepareResult(Json):
    base: Omittable[ArmSetup] = None
    head: Omittable[ArmSetup] = None


@dataclass(frozen=True, kw_only=True)
class PackageChange(Json):  # a version that differs between the arms (None: not installed)
    name: str
    base: str | None
    head: str | None


@dataclass(frozen=True, kw_only=True)
class DependencyChanges(Json):
    shared: bool  # both arms ran in one environment
    files_changed: tuple[str, ...]
    packages: tuple[PackageChange, ...]


@dataclass(frozen=True, kw_only=True)
class WorkConfirm(Json):  # one fresh count per arm, in the opposite order
    base: int
    head: int | None
    reproduced: bool | None


@dataclass(frozen=True, kw_only=True)
class InstructionsResult(Json):
    """CPU work to first batch: instruction counts of both arms and what they say."""

    backend: Omittable[str] = None
    settings: Omittable[tuple[str, ...]] = None
    base: tuple[int, ...]
    head: tuple[int, ...]
    delta_pct: float
    spread_pct: float
    stable: bool
    unchanged: bool
    threshold_pct: Omittable[float] = None
    direction: int  # +1, -1, or 0: no finding
    confirm: WorkConfirm | None = None
    summary: str
    covers: Omittable[str] = None  # what a count covered ("CPU work from start to …")


@dataclass(frozen=True, kw_only=True)
class ImportDelta(Json):  # a top-level package's import time, paired -X importtime samples
    package: str
    base_s: Omittable[float] = None
    head_s: Omittable[float] = None
    delta_s: Omittable[float] = None
    self_delta_s: Omittable[float] = None
    pairs: Omittable[int] = None
    consistent: Omittable[bool] = None  # every pair moved the median's way (None: older file)


@dataclass(frozen=True, kw_only=True)
class AttributionResult(Json):
    """Which imports head added or dropped, or why attribution failed (``error``)."""

    base_samples: Omittable[int] = None
    head_samples: Omittable[int] = None
    added: Omittable[tuple[Mapping[str, Any], ...]] = None
    removed: Omittable[tuple[Mapping[str, Any], ...]] = None
    packages: Omittable[tuple[ImportDelta, ...]] = None
    sentences: Omittable[tuple[str, ...]] = None
    runs: Omittable[int] = None
    # median garbage collection inside imports per sample, taken out of the modules' times
    gc_base_ms: Omittable[float] = None
    gc_head_ms: Omittable[float] = None
    error: Omittable[str] = None
    skipped: Omittable[str] = None  # why no samples ran (the time budget)
    extra: Rest = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ProfileRow(Json):
    """A function whose time to first batch changed: mean inclusive milliseconds per profiling
    sample, the change with its 95% CI, and its share of the whole TTFB's change."""

    function: str
    file: str  # the repository's path, else the module
    line: int = 0  # its first line
    repo: bool = False  # the repository's own code
    base_ms: float
    head_ms: float
    delta_ms: float
    ci_low_ms: float
    ci_high_ms: float
    threshold_ms: float = 0.0  # its CI lies beyond ± this: the floor, half of base_ms
    share_pct: Omittable[float] = None
    library: Omittable[str] = None  # the library frame its change is spent in: "fn (module)"


@dataclass(frozen=True, kw_only=True)
class GcChange(Json):
    """The garbage collections of the profiling samples, taken out of the functions they
    interrupted: milliseconds per sample in each arm, the change with its 95% CI, and the share
    of their time found on the sampled stacks."""

    base_ms: float
    head_ms: float
    delta_ms: float
    ci_low_ms: float
    ci_high_ms: float
    significant: bool = False
    placed_pct: Omittable[float] = None


@dataclass(frozen=True, kw_only=True)
class ProfileResult(Json):
    """Which functions the time went to: the differential profile of dedicated profiling
    samples (``bot.stats.profile``), or why there is none (``error``, ``skipped``)."""

    profiler: Omittable[str] = None
    runs: Omittable[int] = None  # profiling samples per arm
    elapsed_s: Omittable[float] = None  # what the profiling samples took
    base_ttfb_ms: Omittable[float] = None  # median TTFB of the profiling samples
    head_ttfb_ms: Omittable[float] = None
    floor_ms: Omittable[float] = None  # the smallest change tested
    tested: Omittable[int] = None  # frames whose change reached the floor
    rows: tuple[ProfileRow, ...] = ()  # the significant ones, largest change first
    # the merged call tree: [parent index (-1: a root), function, file, line, repo, base ms,
    # head ms], parents first
    flame: tuple[tuple[Any, ...], ...] = ()
    gc: Omittable[GcChange] = None
    error: Omittable[str] = None
    skipped: Omittable[str] = None


@dataclass(frozen=True, kw_only=True)
class ScenarioResult(Json):
    """One scenario: verdict, whole-TTFB numbers, endpoints, evidence, CPU work, setup, pairs."""

    name: str
    description: Omittable[str] = None
    verdict: Verdict
    reason: str
    notes: tuple[str, ...] = ()
    threshold_pct: float
    threshold_note: Omittable[str] = None
    skipped: str | None = None
    error: str | None = None
    delta_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    p_ttest: float | None
    p_wilcoxon: float | None
    p_adjusted: float | None = None
    pairs: int
    confirmed: bool | None
    mde_pct: float | None
    mde_phase_pct: float | None = None
    mde_phase_max_pct: float | None = None
    base: ArmMedians
    head: ArmMedians
    phases: tuple[EndpointResult, ...]
    cpu: EndpointResult | None = None
    finding: FindingResult | None = None
    confirmation: ConfirmationResult | None = None
    stop_reason: str | None = None
    looks: tuple[int, ...] = ()
    samples: Omittable[tuple[SampleRow, ...]] = None  # left out where the history has them
    shrink: Omittable[Mapping[str, Any]] = None
    prepare: PrepareResult | None = None
    dependencies: DependencyChanges | None = None
    effective_alpha: Omittable[float] = None
    instructions: InstructionsResult | None = None
    attribution: AttributionResult | None = None
    instructions_note: Omittable[str] = None
    profile: Omittable[ProfileResult] = None
    extra: Rest = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Results(Json):
    """The versioned results document of one compare (``results.json``)."""

    version: int = RESULTS_VERSION
    kind: Literal["ttfb-compare"] = "ttfb-compare"
    tool: Omittable[str] = None
    created: Omittable[str] = None
    base: ArmResult
    head: ArmResult
    policy: PolicyResult
    machine: Omittable[Mapping[str, Any]] = None  # host facts: cpu, cores, os, python, gpus
    elapsed_s: Omittable[float] = None
    extra: Rest = field(default_factory=dict)  # what the command added: samples_log, demo…
    scenarios: tuple[ScenarioResult, ...]


@dataclass(frozen=True, kw_only=True)
class StoredResults(Json):
    """The history's copy of one outcome (``runs.doc``): its scenario, without samples."""

    version: int = RESULTS_VERSION
    kind: Literal["ttfb-compare"] = "ttfb-compare"
    tool: Omittable[str] = None
    policy: PolicyResult
    scenarios: tuple[ScenarioResult, ...]
