"""Views of a selection plan: the terminal table of ``ttfb select`` and the comment section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..selection.plan import Plan
from .fmt import fmt_s, md_code, md_text
from .templates import render


def plan_text(p: Plan) -> str:
    rows = [["scenario", "why", "score", "cost", "runner", "reason"]]
    for pick in p.selected:
        rows.append(
            [
                pick.scenario,
                pick.why,
                f"{pick.score * 1000:.2f}",
                fmt_s(pick.cost_s),
                " ".join(pick.runner),
                pick.reason,
            ]
        )
    return render("plan.txt.j2", plan=p, rows=rows if len(rows) > 1 else [])


def selection_markdown(plan: Mapping[str, Any] | None) -> str:
    """The "Selection" part of the PR comment, from a ``plan.json`` document."""
    if not plan:
        return ""
    lines = [
        "**Selection**"
        + (
            f" (rerun requested by {md_code(plan['requested_by'])})"
            if plan.get("requested_by")
            else ""
        )
    ]
    for pick in plan.get("selected", []):
        lines.append(f"- ran {md_code(pick['scenario'])}: {md_text(pick['reason'])}")
    budget = [s for s in plan.get("skipped", []) if "budget" in s["reason"]]
    for s in budget:
        lines.append(f"- skipped {md_code(s['scenario'])}: {md_text(s['reason'])}")
    if plan.get("unmapped"):
        shown = ", ".join(md_code(p) for p in plan["unmapped"][:20])
        more = len(plan["unmapped"]) - 20
        lines.append(
            f"- changed files no scenario is known to use: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    for w in plan.get("warnings", []):
        lines.append(f"- ⚠️ {md_text(w)}")
    return "\n".join(lines)
