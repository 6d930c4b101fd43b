"""The results document (``results.json``, ``bot/schemas/results.schema.json``) as typed values.

Pure. ``bot.ab.results_doc`` builds these and writes ``to_json()``; every reader goes through
``from_json``, which refuses the first missing or mistyped field with a ``ResultsError`` naming
it (``scenarios[0].delta_pct: expected a number, got 'x'``), never a silent None. Fields are
keys, in the writer's order; an ``Omittable`` key is left out while None (the writer adds it
only with a value), any other is written, None as ``null``; a ``Rest`` field keeps the keys no
field names. So ``from_json(d).to_json() == d`` for whatever the writer wrote.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, NoReturn, TypeVar, cast

from .errors import ResultsError
from .model import Verdict, check_version
from .stats.endpoints import EndpointKind
from .stats.verdict import FindingKind

RESULTS_VERSION = 1
V = TypeVar("V")
T = TypeVar("T", bound="Json")
Omittable = Annotated[V | None, "omit"]  # a key the document holds only while not None
Rest = Annotated[Mapping[str, Any], "rest"]  # an object's keys no field names, as they were
Stage = Literal["primary", "confirm"]  # the primary ABBA blocks, or the BAAB confirmation
SCALARS = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


@dataclass(eq=False)
class _Bad(Exception):  # a wrong value; ``where`` grows as it climbs out of the document
    message: str
    where: str = ""

    def at(self, step: str) -> _Bad:
        return _Bad(self.message, step + ("" if self.where[:1] in ("", "[") else ".") + self.where)


def _fail(expected: str, value: Any) -> NoReturn:
    text = repr(value)
    raise _Bad(f"expected {expected}, got {text if len(text) <= 60 else text[:57] + '...'}")


@cache
def _decoder(tp: Any) -> Callable[[Any], Any]:
    """A function that checks a decoded JSON value against the type ``tp`` and returns it as
    that type: arrays as tuples, enums as members, objects of the model as their class."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return lambda v: v
    if origin is Annotated:
        return _decoder(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in args if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if tp in SCALARS:  # a bool is no number; an integer is one
        kinds, exact = ((int, float) if tp is float else tp), tp is bool
        return lambda v: (
            v
            if isinstance(v, kinds) and (exact or not isinstance(v, bool))
            else _fail(SCALARS[tp], v)
        )
    if origin is Literal or (isinstance(tp, type) and issubclass(tp, Enum)):
        allowed = args if origin is Literal else tuple(m.value for m in tp)
        make = (lambda v: v) if origin is Literal else tp
        expected = f"one of {', '.join(map(str, allowed))}"
        return lambda v: (
            make(v)
            if isinstance(v, str | int) and not isinstance(v, bool) and v in allowed
            else _fail(expected, v)
        )
    if origin in (tuple, Mapping):
        item = _decoder(args[0] if origin is tuple else args[1])
        return lambda v: _each(item, v, array=origin is tuple)
    return _object(tp)


def _each(decode: Callable[[Any], Any], value: Any, *, array: bool) -> Any:
    if not isinstance(value, list if array else dict):
        _fail("an array" if array else "an object", value)
    out = {}
    for k, x in enumerate(value) if array else cast(dict[str, Any], value).items():
        try:
            out[k] = decode(x)
        except _Bad as bad:
            raise bad.at(f"[{k}]" if array else str(k)) from None
    return tuple(out.values()) if array else out


@cache
def _fields(cls: Any) -> tuple[tuple[str, Any, bool, str], ...]:
    """Per field: its name, type, whether its key is required, and ``omit``/``rest``/""."""
    hints = typing.get_type_hints(cls, include_extras=True)
    required = {f.name: f.default is MISSING and f.default_factory is MISSING for f in fields(cls)}
    return tuple(
        (name, hints[name], needed, getattr(hints[name], "__metadata__", ("",))[0])
        for name, needed in required.items()
    )


def _object(cls: Any) -> Callable[[Any], Any]:
    """Each field from its key (refused if missing and without a default); ``Rest`` the rest."""
    spec = {name: (_decoder(tp), req) for name, tp, req, how in _fields(cls) if how != "rest"}
    rest = next((name for name, _, _, how in _fields(cls) if how == "rest"), None)

    def decode(v: Any) -> Any:
        if not isinstance(v, dict):
            _fail("an object", v)
        kwargs = {}
        for name, (field_decoder, required) in spec.items():
            if name in v:
                try:
                    kwargs[name] = field_decoder(v[name])
                except _Bad as bad:
                    raise bad.at(name) from None
            elif required:
                raise _Bad("missing", name)
        if rest is not None:
            kwargs[rest] = {k: x for k, x in v.items() if k not in spec}
        return cls(**kwargs)

    return decode


def _encode(value: Any) -> Any:
    if isinstance(value, Json):
        return value.to_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_encode(x) for x in value]
    if isinstance(value, Mapping):
        return {k: _encode(x) for k, x in value.items()}
    return value


class Json:
    """A part of the document: ``from_json`` checks and reads one, ``to_json`` writes it."""

    @classmethod
    def from_json(cls: type[T], data: Any, *, source: str = "results") -> T:
        """``data`` (decoded JSON) as this class, else a ``ResultsError`` naming ``source`` and
        the field; a document of a newer version than this reader knows is refused."""
        if any(name == "version" for name, *_ in _fields(cast(Any, cls))):
            check_version(data, source=source, known=RESULTS_VERSION)
        try:
            return cast(T, _decoder(cast(Any, cls))(data))
        except _Bad as bad:
            raise ResultsError(f"{source}: {bad.where or '(top level)'}: {bad.message}") from None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _, _, how in _fields(cast(Any, type(self))):
            value = getattr(self, name)
            if how == "rest":
                out.update(_encode(value))
            elif value is not None or how != "omit":
                out[name] = _encode(value)
        return out


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
class ArmMedians(Json):  # wall and CPU TTFB, and an evaluation before training, if any
    median_s: float | None
    cpu_median_s: Omittable[float] = None
    eval_median_s: Omittable[float] = None
    eval_forwards: Omittable[int] = None


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
    error: Omittable[str] = None
    extra: Rest = field(default_factory=dict)


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
