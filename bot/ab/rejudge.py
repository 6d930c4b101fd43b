"""A compare's verdicts recomputed from its raw samples: what a trusted job believes.

A job that ran the measured code uploads its sample log and its results; both are claims, and
``results.json`` is the easier one to forge. ``rejudge`` rebuilds each scenario's pairs from
the log (the primary ABBA blocks, then the confirmation's BAAB blocks, in the order the
scheduler wrote them) and decides again with the engine's own code and the trusted job's own
policy and thresholds: the analysis at the look those pairs reached, the correction across the
scenarios, the confirmation re-test, and the decision (instruction counts judged again from
the raw counts). A forged verdict is then just a verdict that differs from the recomputed one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import Pair, Sample
from ..stats.instructions import Work
from ..stats.verdict import Decision, Policy, analyze, confirm, decide
from .counting import WorkRun
from .engine import ScenarioOutcome, final_analyses, policy_for
from .schedule import ABRun
from .targets import Target


@dataclass(frozen=True)
class Logged:
    """One scenario's samples as its log holds them, by stage."""

    primary: tuple[Pair, ...]
    confirm: tuple[Pair, ...]
    failed: str | None  # a sample that was not ok: the scenario is broken


def stage_pairs(records: Sequence[Mapping[str, object]], stage: str) -> dict[str, list[Pair]]:
    """The pairs of one stage (``primary``, ``confirm``, ``aa``) per scenario from a sample
    log's records, base and head paired in the order each block ran them."""
    blocks: dict[tuple[str, int], dict[str, list[Sample]]] = {}
    for r in records:
        block = r.get("block")
        if r.get("stage") != stage or not isinstance(block, int):
            continue
        sample = Sample.from_json(r)
        arms = blocks.setdefault((str(r.get("scenario", "")), block), {"base": [], "head": []})
        if sample.arm in arms:
            arms[sample.arm].append(sample)
    out: dict[str, list[Pair]] = {}
    for (name, block), arms in sorted(blocks.items(), key=lambda kv: kv[0]):
        out.setdefault(name, []).extend(
            Pair(b, h, block) for b, h in zip(arms["base"], arms["head"], strict=False)
        )
    return out


def pairs_from_log(records: Sequence[Mapping[str, object]]) -> dict[str, Logged]:
    """Each scenario's primary and confirmation pairs from a sample log's records, and the
    first sample that was not ok, if any."""
    failed: dict[str, str] = {}
    for r in records:
        sample = Sample.from_json(r)
        name = str(r.get("scenario", ""))
        if not sample.ok and name not in failed:
            failed[name] = f"{sample.arm or '?'} sample {sample.status}"
    primary, confirm = stage_pairs(records, "primary"), stage_pairs(records, "confirm")
    names = set(primary) | set(confirm) | set(failed)
    return {
        n: Logged(tuple(primary.get(n, ())), tuple(confirm.get(n, ())), failed.get(n))
        for n in names
    }


def look_reached(pairs: int, looks: Sequence[int]) -> int:
    """The planned look a schedule was at with ``pairs`` pairs (the last, past the plan)."""
    return next((i for i, target in enumerate(looks) if target >= pairs), len(looks) - 1)


def rejudge(
    logged: Mapping[str, Logged],
    policy: Policy,
    thresholds: Mapping[str, tuple[float, str]],
    *,
    family_size: int | None = None,
    work: Mapping[str, Work | None] | None = None,
) -> dict[str, Decision]:
    """Each scenario's decision from its logged pairs (see the module docstring)."""
    return {
        name: o.decision
        for name, o in outcomes(
            logged, policy, thresholds, family_size=family_size, work=work
        ).items()
    }


def outcomes(
    logged: Mapping[str, Logged],
    policy: Policy,
    thresholds: Mapping[str, tuple[float, str]],
    *,
    family_size: int | None = None,
    work: Mapping[str, Work | None] | None = None,
) -> dict[str, ScenarioOutcome]:
    """Each scenario's outcome, as the engine would have made it from these pairs: for the
    one serializer and the one recorder, so a trusted job's report and history come from
    the recomputed decisions."""
    work = work or {}
    targets = {
        name: Target(name, None, None, pct, note) for name, (pct, note) in thresholds.items()
    }
    active = [t for name, t in targets.items() if name in logged and not logged[name].failed]
    family = max(1, len(active), family_size or 0)
    primaries = {}
    for t in active:
        pairs = logged[t.name].primary
        analysis = None
        if pairs:
            look = look_reached(len(pairs), policy.looks)
            analysis = analyze(pairs, policy_for(policy, t), look=look, family_factor=family)
        primaries[t.name] = ABRun(pairs, analysis, "from the sample log")
    finals = final_analyses(active, primaries, policy, family=family)
    out: dict[str, ScenarioOutcome] = {}
    for name, t in targets.items():
        p = policy_for(policy, t)
        entry = logged.get(name)
        if entry is None or entry.failed:
            why = entry.failed if entry is not None else "no samples in the log"
            out[name] = ScenarioOutcome(t, decide(None, policy=p, broken=why), None, None)
            continue
        final = finals.get(name)
        conf = None
        if final is not None and final.finding is not None and len(entry.confirm) >= 4:
            conf = confirm(final.finding, entry.confirm, p)
        counted = work.get(name)
        decision = decide(final, policy=p, confirmation=conf, work=counted)
        out[name] = ScenarioOutcome(
            t,
            decision,
            primaries[name],
            final,
            entry.confirm,
            f"{len(entry.confirm)} pairs" if entry.confirm else "",
            WorkRun(counted) if counted is not None else None,
        )
    return out
