"""Compare outcomes as history records: what ``compare`` hands the recorder, one per target."""

from __future__ import annotations

from dataclasses import dataclass

from ..stats.verdict import Policy
from ..store.recorder import Recorder
from ..store.records import ComparisonRecord, RunRecord, SampleRow, pair_rows
from .engine import ScenarioOutcome
from .results_doc import stored_document


@dataclass(frozen=True)
class Recording:
    """How the outcomes of one ``compare`` are recorded.

    ``kind`` is the run kind in the history (``compare``, ``release``, ``bisect-step``);
    ``changed`` are the paths that differ between two compared revisions, against which the
    dependency map counts each verdict; ``learn`` merges the files the head samples used into
    the dependency map.
    """

    recorder: Recorder
    kind: str = "compare"
    base_rev: str | None = None
    head_rev: str | None = None
    changed: tuple[str, ...] = ()
    learn: bool = True

    def __call__(self, outcome: ScenarioOutcome, policy: Policy | None = None) -> None:
        self.recorder.record(outcome_record(outcome, self, policy))


def comparison_record(o: ScenarioOutcome) -> ComparisonRecord:
    """The comparison row of one outcome, from its typed decision and analysis, with its
    instruction counts where they were counted."""
    t, d, a = o.target, o.decision, o.analysis
    work = o.work.work if o.work is not None else None
    if a is None:
        return ComparisonRecord(
            t.name,
            d.verdict,
            threshold_pct=t.threshold_pct,
            threshold_note=t.threshold_note,
            work=work,
        )
    r = a.total.result
    return ComparisonRecord(
        scenario=t.name,
        verdict=d.verdict,
        delta_pct=r.delta_pct,
        ci_low_pct=r.ci_low_pct,
        ci_high_pct=r.ci_high_pct,
        p_ttest=r.p_ttest,
        p_wilcoxon=r.p_wilcoxon,
        pairs=a.n,
        confirmed=d.confirmed,
        threshold_pct=t.threshold_pct,
        threshold_note=t.threshold_note,
        base_median_s=a.total.base_median_s,
        head_median_s=a.total.head_median_s,
        work=work,
    )


def outcome_record(o: ScenarioOutcome, how: Recording, policy: Policy | None = None) -> RunRecord:
    samples: tuple[SampleRow, ...] = ()
    if o.primary is not None:
        samples = pair_rows(o.primary.pairs, stage="primary")
        samples += pair_rows(o.confirmation_pairs, stage="confirm")
    return RunRecord(
        kind=how.kind,
        scenario=o.name,
        base_rev=how.base_rev,
        head_rev=how.head_rev,
        samples=samples,
        comparison=comparison_record(o),
        doc=stored_document(o, policy) if policy is not None else None,
        changed=how.changed,
        learn=how.learn,
    )
