"""View models: results documents turned into formatted strings for ``templates/``.

Pure: the views take the typed results document (``bot.results``: what an artifact carries,
read through the model, so the reporting job never needs the objects that made it) and return
strings; the ``render_*`` functions also take its decoded JSON and read it through the model.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import SEVERITY, Verdict
from ..results import InstructionsResult, Results, ScenarioResult
from . import profile_view
from .fmt import badge, fmt_ci, fmt_ds, fmt_p, fmt_pct, fmt_s, md_code, md_text, p_is, word
from .notes import dependency_groups, dependency_note, scenario_notes
from .templates import render

COMMENT_MARKER = "<!-- ttfb-lab:report -->"
COMMENT_LIMIT = 65_536


def as_results(doc: Results | Mapping[str, Any], *, source: str = "results") -> Results:
    """A results document as the model: ``doc`` itself, or the decoded JSON read through it
    (a ``ResultsError`` naming the field it refuses)."""
    return doc if isinstance(doc, Results) else Results.from_json(doc, source=source)


def severity(s: ScenarioResult) -> int:
    """Where a scenario of a results document sorts: worst verdict first."""
    return SEVERITY.index(s.verdict)


def sentence(s: ScenarioResult) -> str:
    """One line a person reads first, e.g. ``head is 7.4% slower (95% CI …) — confirmed``."""
    verdict = s.verdict
    if verdict is Verdict.SKIPPED:
        return f"skipped: {s.skipped or s.reason}"
    if verdict is Verdict.BROKEN:
        return f"broken: {s.reason}"
    delta = s.delta_pct
    if delta is None:
        return f"{word(verdict)}: {s.reason}"
    way = "slower" if delta > 0 else "faster"
    stats = f"95% CI {fmt_ci(s.ci_low_pct, s.ci_high_pct)}, {p_is(s.p_ttest)}, {s.pairs} pairs"
    text = f"head is {abs(delta):.1f}% {way} ({stats})"
    finding = s.finding
    if finding and finding.kind != "total":
        text += f"; {finding.summary}"
    if verdict.moved:
        return f"{text} — confirmed"
    if verdict is Verdict.INCONCLUSIVE and finding:
        if "not reproduced" in s.reason:
            return f"{text} — not reproduced by the confirmation run"
        # no confirmation ran (the cap or the budget): say that, not "not reproduced"
        return f"{text} — not confirmed: {s.reason.rpartition('; ')[2]}"
    if verdict is Verdict.NO_CHANGE and s.reason.startswith("CPU work"):
        return f"{text} — no change: {s.reason}"
    if verdict is Verdict.NO_CHANGE:
        return f"{text} — no change beyond ±{s.threshold_pct:g}%"
    return f"{text} — {s.reason}"


def worst(scenarios: Sequence[ScenarioResult]) -> ScenarioResult | None:
    """The scenario people must see first: broken, then regressions (largest first), …"""
    if not scenarios:
        return None
    return min(scenarios, key=lambda s: (severity(s), -abs(s.delta_pct or 0.0)))


def _confirmation_cell(s: ScenarioResult) -> str:
    c = s.confirmation
    if c is None:
        return "–" if not s.finding else "not run"
    word = "confirmed" if c.reproduced else "not reproduced"
    if c.endpoint == "instructions":
        return f"{word} ({c.delta_pct:+.2f}% instructions, 1+1 counts)"
    return f"{word} ({fmt_pct(c.delta_pct)}, {p_is(c.p_one_sided)}, {c.pairs} pairs)"


def scenario_row(s: ScenarioResult) -> list[str]:
    return [
        md_code(s.name),
        fmt_s(s.base.median_s),
        fmt_s(s.head.median_s),
        fmt_pct(s.delta_pct),
        fmt_ci(s.ci_low_pct, s.ci_high_pct),
        fmt_p(s.p_ttest),
        fmt_p(s.p_wilcoxon),
        str(s.pairs),
        md_text(_confirmation_cell(s)),
        badge(s.verdict),
    ]


def phase_rows(s: ScenarioResult) -> list[list[str]]:
    rows = [
        [
            md_code(ph.label),
            fmt_s(ph.base_median_s),
            fmt_s(ph.head_median_s),
            fmt_ds(ph.delta_s),
            fmt_pct(ph.delta_pct),
            fmt_ci(ph.ci_low_pct, ph.ci_high_pct),
            fmt_p(ph.p_ttest),
            "**yes**" if ph.significant else "no",
        ]
        for ph in s.phases
    ]
    cpu = s.cpu
    if cpu:
        rows.append(
            [
                "CPU time to first batch (user+sys)",
                fmt_s(cpu.base_median_s),
                fmt_s(cpu.head_median_s),
                fmt_ds(_difference(cpu.base_median_s, cpu.head_median_s)),
                fmt_pct(cpu.delta_pct),
                fmt_ci(cpu.ci_low_pct, cpu.ci_high_pct),
                fmt_p(cpu.p_ttest),
                "**yes**" if cpu.significant else "no",
            ]
        )
    if s.instructions:
        rows.append(work_row(s.instructions))
    return rows


def _difference(base: float | None, head: float | None) -> float | None:
    return head - base if base is not None and head is not None else None


def fmt_count(n: float) -> str:
    """Instructions for people: ``1.234e9`` → ``1.234 G``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3f} {unit}"
    return f"{n:.0f}"


def work_row(w: InstructionsResult) -> list[str]:
    """The CPU-work row of the phase table: median counts, change, range of the repeats."""
    base, head = statistics.median(w.base), statistics.median(w.head)
    delta = head - base
    verdict = "unstable" if not w.stable else ("**yes**" if w.direction else "no")
    return [
        f"{w.covers or 'CPU work to first batch'} (instructions)",
        fmt_count(base),
        fmt_count(head),
        ("+" if delta >= 0 else "-") + fmt_count(abs(delta)),
        f"{w.delta_pct:+.2f}%",
        f"spread ±{w.spread_pct:.3f}%",
        f"{len(w.base)}+{len(w.head)} runs",
        verdict,
    ]


def mde_line(s: ScenarioResult) -> str:
    if s.mde_pct is None:
        return ""
    text = f"this run could detect ≥{s.mde_pct:.1f}% on whole TTFB"
    low, high = s.mde_phase_pct, s.mde_phase_max_pct
    if low is not None and high is not None:
        text += f", ≥{low:.1f}–{high:.1f}% when the change sits in one phase"
    note = s.threshold_note or "floor"
    threshold = (
        note
        if note.startswith(("threshold ", "floor "))
        else f"threshold {s.threshold_pct:g}% ({note})"
    )
    return f"{threshold}; {text} (80% power)"


def sample_rows(s: ScenarioResult) -> list[list[str]]:
    rows = []
    for i, x in enumerate(s.samples or (), start=1):
        b, h = x.base_s, x.head_s
        ratio = f"{(h / b - 1) * 100:+.1f}%" if b and h else "–"
        rows.append([str(i), md_text(x.stage), fmt_s(b), fmt_s(h), ratio])
    return rows


def compare_view(
    doc: Results,
    *,
    context: Mapping[str, Any] | None = None,
    details: bool = True,
    phases: str = "all",
    max_rows: int | None = None,
) -> dict[str, Any]:
    """Everything the comment and summary templates lay out."""
    scenarios = doc.scenarios
    ordered = sorted(scenarios, key=lambda s: (severity(s), s.name))
    shown = ordered if max_rows is None else ordered[:max_rows]
    w = worst(scenarios)
    with_phases = [s for s in shown if s.phases or s.cpu or s.instructions]
    if phases == "findings":
        with_phases = [s for s in with_phases if s.finding]
    elif phases == "none":
        with_phases = []
    return {
        "marker": COMMENT_MARKER,
        "headline": headline(doc),
        "worst": f"**{md_code(w.name)}**: {md_text(sentence(w))}" if w else "",
        "base": md_code(doc.base.label),
        "head": md_code(doc.head.label),
        "rows": [scenario_row(s) for s in shown],
        "dependencies": dependency_groups(scenarios),
        "hidden_rows": len(ordered) - len(shown),
        "phases": [
            {
                "name": md_code(s.name),
                "rows": phase_rows(s),
                "mde": md_text(mde_line(s)),
                "notes": [md_text(n) for n in scenario_notes(s)],
                "profile": profile_view.section(s, context),
            }
            for s in with_phases
        ],
        "mde": [
            {"name": md_code(s.name), "line": md_text(mde_line(s))} for s in shown if mde_line(s)
        ],
        "details": [
            {"name": md_code(s.name), "rows": sample_rows(s)}
            for s in shown
            if details and s.samples
        ],
        "correction": md_text(doc.policy.correction),
        "alpha": "not recorded" if doc.policy.alpha is None else doc.policy.alpha,
        "tool": md_text("ttfb-lab" if doc.tool is None else doc.tool),
        "machine": _machine(doc.machine or {}),
        "context": dict(context or {}),
    }


def _machine(m: Mapping[str, Any]) -> str:
    """`` on <cpu>, <n> cores`` (untrusted: it comes with the results)."""
    if not m.get("cpu"):
        return ""
    return f" on {md_text(m['cpu'])}, {md_text(m.get('cores', '?'))} cores"


def headline(doc: Results) -> str:
    """``1 regression, 2 no change``: how many scenarios reached each verdict, worst first."""
    counts = {v: sum(1 for s in doc.scenarios if s.verdict is v) for v in SEVERITY}
    parts = [f"{n} {word(v)}" for v in SEVERITY if (n := counts.get(v))]
    return ", ".join(parts) or "nothing compared"


def render_comment(
    doc: Results | Mapping[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The PR comment, shortened step by step until it fits GitHub's limit.

    In order: drop per-sample details, keep phase tables only for findings, drop them, then
    list fewer scenarios (worst first) and point to the job summary and artifact.
    """
    results = as_results(doc)
    attempts: list[dict[str, Any]] = [
        {"details": True, "phases": "all"},
        {"details": False, "phases": "all"},
        {"details": False, "phases": "findings"},
        {"details": False, "phases": "none"},
    ]
    for kw in attempts:
        text = render("comment.md.j2", **compare_view(results, context=context, **kw))
        if len(text) <= limit:
            return text
    low, high = 0, len(results.scenarios)
    best = render(
        "comment.md.j2",
        **compare_view(results, context=context, details=False, phases="none", max_rows=0),
    )
    while low <= high:
        mid = (low + high) // 2
        text = render(
            "comment.md.j2",
            **compare_view(results, context=context, details=False, phases="none", max_rows=mid),
        )
        if len(text) <= limit:
            best, low = text, mid + 1
        else:
            high = mid - 1
    return best


def render_summary(
    doc: Results | Mapping[str, Any], *, context: Mapping[str, Any] | None = None
) -> str:
    """The job summary: the whole comment, never truncated (GitHub allows 1 MiB)."""
    return render("comment.md.j2", **compare_view(as_results(doc), context=context))


def render_compare_text(doc: Results | Mapping[str, Any]) -> str:
    """A short terminal summary."""
    results = as_results(doc)
    lines = [
        {
            "name": s.name,
            "verdict": word(s.verdict).upper(),
            "sentence": sentence(s),
            "mde": mde_line(s),
            "base": fmt_s(s.base.median_s),
            "head": fmt_s(s.head.median_s),
            "notes": [
                n
                for n in (dependency_note(s), *scenario_notes(s), *profile_view.text_lines(s))
                if n
            ],
        }
        for s in sorted(results.scenarios, key=lambda s: (severity(s), s.name))
    ]
    return render(
        "compare.txt.j2", scenarios=lines, base=results.base.label, head=results.head.label
    )
