"""Bisect and release reports: JSON documents and their views. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .bisect import BisectResult, drawing
from .render import md_escape, render
from .report import COMMENT_MARKER, ICONS, WORDS, fmt_ci, fmt_p, fmt_pct, sentence

BISECT_VERSION = 1
RELEASE_VERSION = 1
RELEASE_MARKER = "<!-- ttfb-lab:release -->"


def culprit_marker(scenario: str, sha: str) -> str:
    """The hidden marker of a culprit notification: one per scenario and commit."""
    return f"<!-- ttfb-lab:culprit {scenario} {sha} -->"


def bisect_json(
    commits: Sequence[str],
    result: BisectResult,
    *,
    scenario: str,
    subjects: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    subjects = subjects or {}

    def step(s: Any) -> dict[str, Any]:
        r = s.result
        return {
            "step": s.number,
            "good": s.good,
            "commit": s.candidate,
            "attempt": s.attempt,
            "verdict": r.verdict,
            "judged": s.judged,
            "delta_pct": r.delta_pct,
            "ci_low_pct": r.ci_low_pct,
            "ci_high_pct": r.ci_high_pct,
            "p": r.p,
            "pairs": r.pairs,
            "error": r.error,
        }

    return {
        "version": BISECT_VERSION,
        "kind": "ttfb-bisect",
        "scenario": scenario,
        "good": commits[0],
        "bad": commits[-1],
        "commits": len(commits) - 1,
        "culprits": [
            {
                "commit": c.commit,
                "subject": subjects.get(c.commit, ""),
                "position": c.position,
                "effect_pct": c.effect_pct,
                "delta_pct": c.evidence.delta_pct if c.evidence else None,
            }
            for c in result.culprits
        ],
        "ambiguous": list(result.ambiguous),
        "skipped": list(result.skipped),
        "comparisons": result.comparisons,
        "total_pct": result.total_pct,
        "unexplained_pct": result.unexplained_pct,
        "notes": list(result.notes),
        "steps": [step(s) for s in result.steps],
        "drawing": drawing(commits, result),
    }


def bisect_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = [["step", "commit", "verdict", "Δ", "95% CI", "p", "pairs"]]
    for s in doc["steps"]:
        rows.append(
            [
                str(s["step"]),
                s["commit"][:10],
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


def release_json(
    *,
    baseline: str,
    head: str,
    compare_doc: Mapping[str, Any],
    bisects: Sequence[Mapping[str, Any]],
    attribution: Sequence[Mapping[str, Any]],
    gate: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "version": RELEASE_VERSION,
        "kind": "ttfb-release",
        "baseline": baseline,
        "head": head,
        "gate": dict(gate),
        "scenarios": compare_doc["scenarios"],
        "policy": compare_doc["policy"],
        "bisects": list(bisects),
        "attribution": list(attribution),
    }


def render_release(doc: Mapping[str, Any]) -> str:
    rows = [
        [
            md_escape(s["name"]),
            f"{ICONS[s['verdict']]} {WORDS[s['verdict']]}",
            md_escape(sentence(s)),
        ]
        for s in doc["scenarios"]
    ]
    bisects = [
        {
            "scenario": md_escape(b["scenario"]),
            "headline": md_escape(culprit_line(b)),
            "rows": bisect_rows(b)[1:],
            "drawing": b["drawing"],
            "comparisons": b["comparisons"],
            "notes": b["notes"],
        }
        for b in doc["bisects"]
    ]
    return render("release.md.j2", doc=doc, rows=rows, bisects=bisects, marker=RELEASE_MARKER)


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
        scenario=md_escape(scenario),
        culprit=culprit,
        effect=fmt_pct(culprit["effect_pct"]),
        author=author,
        rows=bisect_rows(bisect_doc)[1:],
        drawing=bisect_doc["drawing"],
        release=release,
        run_url=run_url,
    )
