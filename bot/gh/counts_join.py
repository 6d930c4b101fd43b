"""The PR workflow's counting jobs, joined with its timing jobs in the trusted report job.

Each counting job uploads ``counts.json`` (``bot.pipeline.counting_run``). Like every
artifact it is untrusted data: it is size-checked and schema-validated, its scenario must be
one the timing jobs reported and its commits those they compared, and the judgement is
recomputed here from the raw counts (``bot.stats.instructions.Work``), never read from the
file. The timed decision is then revised by ``decide``'s own rules for CPU work
(``bot.stats.verdict.with_counts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..ab.results_doc import instructions_result, with_evidence
from ..errors import ResultsError
from ..results import Results, ScenarioResult
from ..stats.instructions import Work
from ..stats.verdict import with_counts
from . import artifacts

COUNTS_FILE = "counts.json"


@dataclass(frozen=True)
class Counts:
    """One scenario's counts as the counting job reported them, judged again here."""

    scenario: str
    base: str
    head: str
    work: Work | None
    note: str


def read_counts(path: Path) -> Counts:
    data = artifacts.read_artifact(path, schema="counts")
    raw = data["work"]
    work = None
    if raw is not None:
        confirm = raw.get("confirm") or {}
        work = Work(
            tuple(raw["base"]),
            tuple(raw["head"]),
            float(raw["threshold_pct"]),
            raw["backend"],
            tuple(raw.get("settings") or ()),
            confirm.get("base"),
            confirm.get("head"),
            covers=data.get("covers") or "CPU work to first batch",
        )
    return Counts(data["scenario"], data["base"], data["head"], work, data.get("note") or "")


def load_counts(directory: Path) -> list[Counts]:
    return [read_counts(p) for p in sorted(directory.rglob(COUNTS_FILE))]


def join_counts(results: Results, counts: Sequence[Counts]) -> Results:
    """``results`` with each scenario's counts joined in (see the module docstring)."""
    by_name = {s.name: s for s in results.scenarios}
    names = [c.scenario for c in counts]
    for c in counts:
        if names.count(c.scenario) > 1:
            raise ResultsError(f"artifacts: counts of {c.scenario!r} reported twice")
        if c.scenario not in by_name:
            raise ResultsError(f"artifacts: counts of {c.scenario!r}, which was not timed")
        for arm, sha in (("base", c.base), ("head", c.head)):
            timed = getattr(results, arm).revision or ""
            if not (timed.startswith(sha) or sha.startswith(timed)) or not timed:
                raise ResultsError(
                    f"artifacts: counts of {c.scenario!r} name {arm} {sha[:10]}, the timing "
                    f"jobs {timed[:10] or 'none'}"
                )
        by_name[c.scenario] = _joined(by_name[c.scenario], c)
    return replace(results, scenarios=tuple(by_name[s.name] for s in results.scenarios))


def _joined(s: ScenarioResult, c: Counts) -> ScenarioResult:
    if c.work is None:
        return replace(s, instructions_note=c.note or "CPU work not counted")
    s = replace(s, instructions=instructions_result(c.work), instructions_note=c.note or None)
    decision = with_counts(
        s.verdict,
        wall_finding=s.finding is not None,
        confirmed=bool(s.confirmed),
        ci_low_pct=s.ci_low_pct,
        ci_high_pct=s.ci_high_pct,
        moved=any(p.significant for p in s.phases if p.key.startswith("segment:")),
        work=c.work,
    )
    if decision is None:
        return s
    s = replace(s, verdict=decision.verdict, reason=decision.reason)
    return with_evidence(s, decision) if decision.finding is not None else s
