"""Views of bisect and release documents: terminal text, the release report, the culprit
note. Pure. A release document's scenarios are results entries, read through ``bot.results``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..results import ScenarioResult
from .compare_view import COMMENT_MARKER, sentence
from .fmt import badge, fmt_ci, fmt_p, fmt_pct, md_code, md_text
from .templates import render

RELEASE_MARKER = "<!-- ttfb-lab:release -->"


def culprit_marker(scenario: str, sha: str) -> str:
    """The hidden marker of a culprit notification: one per scenario and commit."""
    return f"<!-- ttfb-lab:culprit {scenario} {sha} -->"


def bisect_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """One row per step; a step measured against another commit than the good end (a
    culprit's own step: its parent → it) says which."""
    rows = [["step", "commit", "verdict", "Δ", "95% CI", "p", "pairs"]]
    for s in doc["steps"]:
        against = "" if s["good"] == doc.get("good") else f" (vs {s['good'][:10]})"
        rows.append(
            [
                str(s["step"]),
                s["commit"][:10] + against,
                s["verdict"]
                + ("" if s["judged"] in ("regressed", "good") else f" → {s['judged']}"),
                fmt_pct(s["delta_pct"]),
                fmt_ci(s["ci_low_pct"], s["ci_high_pct"]),
                fmt_p(s["p"]),
                str(s["pairs"]),
            ]
        )
    return rows


def culprit_line(doc: Mapping[str, Any]) -> str:
    if not doc["culprits"]:
        return "no culprit: " + ("; ".join(doc["notes"]) or "the ends do not differ")
    c = doc["culprits"][0]
    effect = f" ({fmt_pct(c['effect_pct'])} on its own)" if c["effect_pct"] is not None else ""
    text = f"culprit {c['commit'][:10]} {c['subject']}".rstrip() + effect
    if doc["ambiguous"]:
        text += f"; could also be one of {', '.join(x[:10] for x in doc['ambiguous'])}"
    return text


def render_bisect_text(doc: Mapping[str, Any]) -> str:
    return render("bisect.txt.j2", doc=doc, rows=bisect_rows(doc), headline=culprit_line(doc))


def release_scenarios(doc: Mapping[str, Any]) -> list[ScenarioResult]:
    """The scenarios of a release document: results entries (``bot.results``), read through
    the model unless they already are."""
    return [
        s
        if isinstance(s, ScenarioResult)
        else ScenarioResult.from_json(s, source=f"scenarios[{i}]")
        for i, s in enumerate(doc["scenarios"])
    ]


def render_release(doc: Mapping[str, Any]) -> str:
    """The release report: the gate, each scenario's verdict and sentence, every bisect."""
    runners = doc.get("runners") or {}  # several runner pools: say where each one ran
    rows = []
    for s in release_scenarios(doc):
        row = [md_code(s.name), badge(s.verdict), md_text(sentence(s))]
        if runners:
            row.append(md_code(", ".join(runners[s.name])) if s.name in runners else "—")
        rows.append(row)
    bisects = [
        {
            "scenario": md_code(b["scenario"]),
            "headline": md_text(culprit_line(b)),
            "rows": bisect_rows(b)[1:],
            "drawing": b["drawing"],
            "comparisons": b["comparisons"],
            "notes": b["notes"],
        }
        for b in doc["bisects"]
    ]
    return render(
        "release.md.j2",
        doc=doc,
        rows=rows,
        runners=bool(runners),
        bisects=bisects,
        marker=RELEASE_MARKER,
    )


def render_notification(
    *,
    scenario: str,
    culprit: Mapping[str, Any],
    author: str | None,
    bisect_doc: Mapping[str, Any],
    release: str,
    run_url: str | None,
) -> str:
    return render(
        "culprit.md.j2",
        marker=culprit_marker(scenario, culprit["commit"]),
        comment_marker=COMMENT_MARKER,
        scenario=md_code(scenario),
        culprit=culprit,
        effect=fmt_pct(culprit["effect_pct"]),
        author=author,
        rows=bisect_rows(bisect_doc)[1:],
        drawing=bisect_doc["drawing"],
        release=release,
        run_url=run_url,
    )
