"""Reports from the history: the PR comment of each compare session and the release report,
rebuilt as the typed results document (``bot.results``) the report views read, then rendered
by those same views (``bot.report.compare_view.render_summary``,
``bot.report.release_view.render_release``). Pure.

The history keeps, per scenario, the verdict and the whole-TTFB statistics of the decision
(Δ, CI, both p-values, pairs, confirmed, threshold) and every paired sample. It does not keep
the decision's reason, its finding, the confirmation's own statistics or the policy; those
parts of the comment say "not recorded" instead of being recomputed. A run whose stored
document is a results document (``kind: ttfb-compare``, ``bot.results.StoredResults``) is
rendered from that instead.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ResultsError
from ..model import Pair, Sample, Verdict
from ..report.compare_view import render_summary
from ..report.flame import Flame
from ..report.profile_view import flame_graph
from ..report.release_view import render_release
from ..results import (
    ArmMedians,
    ArmResult,
    PolicyResult,
    Results,
    SampleRow,
    ScenarioResult,
    StoredResults,
)
from ..stats.endpoints import common_phases, segment_values
from .sessions import Release, Session

NOT_RECORDED = "reason not recorded in the history"
TOOL = "ttfb-lab dashboard (rebuilt from the history)"
UNKNOWN_POLICY = PolicyResult(alpha=None, correction="the verdicts as recorded in the history")


@dataclass(frozen=True)
class Entry:
    """A compare run's scenario as its report shows it: the results entry the run stored
    (``stored``), else one rebuilt from its history row and samples. ``error`` says why a
    stored document could not be read (``scenario`` is None then)."""

    scenario: ScenarioResult | None
    stored: bool
    policy: PolicyResult | None = None  # the stored document's
    error: str | None = None

    def result(self) -> ScenarioResult:
        """The scenario, or the ``ResultsError`` its stored document gave."""
        if self.scenario is None:
            raise ResultsError(self.error or "no scenario entry")
        return self.scenario


@dataclass(frozen=True)
class SegmentRow:
    """One row of the phase table rebuilt from the stored pairs (medians, in seconds)."""

    label: str
    base_s: float
    head_s: float
    delta_s: float
    delta_pct: float | None  # of the base median TTFB (CPU: of the base CPU time)


def pairs_of(samples: Sequence[Mapping[str, Any]]) -> list[tuple[str, Pair]]:
    """``(stage, pair)`` in recorded order: the history stores each pair as base then head."""
    out: list[tuple[str, Pair]] = []
    held: Mapping[str, Any] | None = None
    for s in samples:
        if s["arm"] == "base":
            held = s
        elif s["arm"] == "head" and held is not None:
            out.append((str(s["stage"]), Pair(_sample(held), _sample(s), int(s["block"] or 0))))
            held = None
    return out


def _sample(s: Mapping[str, Any]) -> Sample:
    return Sample(status=s["status"], ttfb_s=s["ttfb_s"], cpu_s=s["cpu_s"], phases=s["phases"])


def _median(values: Sequence[float | None]) -> float | None:
    clean = [float(v) for v in values if v is not None]
    return float(statistics.median(clean)) if clean else None


def _is_results(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "ttfb-compare"


def stored_results(run: Mapping[str, Any]) -> StoredResults | None:
    """The run's stored document, where it is a results document (``ResultsError`` where it
    claims to be one and is not)."""
    doc = run.get("doc")
    if not _is_results(doc):
        return None
    return StoredResults.from_json(doc, source=f"history run {run['uid']}")


def sample_rows(pairs: Sequence[tuple[str, Pair]]) -> tuple[SampleRow, ...]:
    """The results document's per-sample list, from the stored pairs."""
    return tuple(SampleRow.from_json(p.row(stage)) for stage, p in pairs)


def scenario_entry(run: Mapping[str, Any], samples: Sequence[Mapping[str, Any]]) -> Entry:
    """One scenario of a results document, from a compare run's row and samples: the entry it
    stored, else one rebuilt from the row. What cannot be read (the history is data from
    other jobs) costs that run's report, not the build: ``Entry.error``."""
    claims = _is_results(run.get("doc"))
    try:
        stored = stored_results(run)
        pairs = pairs_of(samples)
        mine = None
        if stored is not None:
            mine = next((s for s in stored.scenarios if s.name == run["scenario"]), None)
        if stored is not None and mine is not None:
            if mine.samples is None:  # kept without its per-sample list: the samples table
                mine = replace(mine, samples=sample_rows(pairs))
            return Entry(mine, stored=True, policy=stored.policy)
        return Entry(rebuilt_scenario(run, pairs), stored=False)
    except ResultsError as exc:
        return Entry(None, stored=claims, error=str(exc))


def rebuilt_scenario(run: Mapping[str, Any], pairs: Sequence[tuple[str, Pair]]) -> ScenarioResult:
    """A scenario entry from what the history row keeps, its samples as the per-sample list."""
    ok = [(stage, p) for stage, p in pairs if p.base.ok and p.head.ok]
    try:
        verdict = Verdict(run["verdict"])
    except ValueError:
        verdict = Verdict.BROKEN
    base_median = run.get("base_median_s") or _median([p.base.ttfb_s for _, p in ok])
    head_median = run.get("head_median_s") or _median([p.head.ttfb_s for _, p in ok])
    return ScenarioResult(
        name=str(run["scenario"]),
        description="",
        verdict=verdict,
        reason="" if verdict.moved else NOT_RECORDED,
        threshold_pct=float(run.get("threshold_pct") or 0.0),
        threshold_note=run.get("threshold_note"),
        skipped=NOT_RECORDED if verdict is Verdict.SKIPPED else None,
        error=NOT_RECORDED if verdict is Verdict.BROKEN else None,
        delta_pct=run.get("delta_pct"),
        ci_low_pct=run.get("ci_low_pct"),
        ci_high_pct=run.get("ci_high_pct"),
        p_ttest=run.get("p_ttest"),
        p_wilcoxon=run.get("p_wilcoxon"),
        pairs=int(run.get("pairs") or 0),
        confirmed=None if run.get("confirmed") is None else bool(run["confirmed"]),
        mde_pct=None,
        base=ArmMedians(median_s=base_median),
        head=ArmMedians(median_s=head_median),
        phases=(),
        samples=sample_rows(pairs),
    )


def phase_rows(samples: Sequence[Mapping[str, Any]]) -> list[SegmentRow]:
    """Where the time went, from the stored pairs: per phase segment (previous common phase →
    phase) the base and head medians and the median paired difference, in seconds and in
    percent of the base median TTFB; then CPU time. Medians only: the significance the
    decision used is not in the history."""
    pairs = [p for _, p in pairs_of(samples) if p.base.ok and p.head.ok]
    if not pairs:
        return []
    scale = _median([p.base.ttfb_s for p in pairs]) or 0.0
    rows = []
    phases = common_phases(pairs)
    for i, phase in enumerate(phases):
        b = segment_values(pairs, phases, i, "base")
        h = segment_values(pairs, phases, i, "head")
        diff = statistics.median(y - x for x, y in zip(b, h, strict=True))
        rows.append(
            SegmentRow(
                label=f"{phases[i - 1] if i else 'submit'} → {phase}",
                base_s=statistics.median(b),
                head_s=statistics.median(h),
                delta_s=diff,
                delta_pct=diff / scale * 100 if scale else None,
            )
        )
    base_cpu = _median([p.base.cpu_s for p in pairs])
    head_cpu = _median([p.head.cpu_s for p in pairs])
    if base_cpu is not None and head_cpu is not None:
        rows.append(
            SegmentRow(
                label="CPU time to first batch (user+sys)",
                base_s=base_cpu,
                head_s=head_cpu,
                delta_s=head_cpu - base_cpu,
                delta_pct=(head_cpu / base_cpu - 1) * 100 if base_cpu else None,
            )
        )
    return rows


def _arm(rev: str | None, name: str) -> ArmResult:
    return ArmResult(label=rev[:12] if rev else name, revision=rev)


def compare_document(s: Session, entries: Mapping[str, Entry]) -> Results:
    """The results document of one session (``entries``: scenario entries by run uid); a
    ``ResultsError`` where a run's stored document cannot be read."""
    runs = [entries[str(r["uid"])] for r in s.runs]
    machine: dict[str, Any] = next((r["machine"] for r in s.runs if r.get("machine")), {})
    return Results(
        tool=TOOL,
        created=s.created,
        base=_arm(s.base_rev, "base"),
        head=_arm(s.head_rev, "head"),
        policy=next((e.policy for e in runs if e.policy is not None), UNKNOWN_POLICY),
        machine=machine,
        scenarios=tuple(e.result() for e in runs),
    )


def compare_markdown(s: Session, entries: Mapping[str, Entry]) -> str:
    """The PR comment of a session, whole (the job summary's form: nothing dropped)."""
    return render_summary(compare_document(s, entries))


def release_markdown(release: Release, entries: Mapping[str, Entry]) -> str:
    """The release report of the last release suite (its notifications are not recorded)."""
    state, description = release.gate
    doc = compare_document(release.session, entries)
    runners = {str(r["scenario"]): [str(r["runner"])] for r in release.session.runs}
    several = len({tuple(v) for v in runners.values()}) > 1
    return render_release(
        {
            "version": 1,
            "kind": "ttfb-release",
            "baseline": release.session.base_rev or "",
            "head": release.session.head_rev or "",
            "gate": {"state": state, "description": description, "context": "ttfb/release-gate"},
            "scenarios": doc.scenarios,
            "policy": doc.policy,
            "bisects": [dict(b) for b in release.bisects],
            "attribution": [],
            "runners": runners if several else {},
        }
    )


def flame_graphs(s: Session, entries: Mapping[str, Entry]) -> list[tuple[str, Flame]]:
    """The differential flame graph of each profiled scenario of a session, by name."""
    out = []
    for r in s.runs:
        entry = entries.get(str(r["uid"]))
        scenario = entry.scenario if entry is not None else None
        if scenario is None:
            continue
        base, head = (
            rev[:12] if rev else arm for rev, arm in ((s.base_rev, "base"), (s.head_rev, "head"))
        )
        graph = flame_graph(scenario, base=base, head=head)
        if graph is not None:
            out.append((scenario.name, graph))
    return out
