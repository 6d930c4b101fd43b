"""The notes under a scenario in the comment and the terminal: evaluation before training, setup
time, CPU work, import attribution, and dependency changes between the arms. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .fmt import fmt_ds, fmt_s, md_code, md_text

MAX_PACKAGE_ROWS = 30
ATTRIBUTION_MIN_S = 0.01


def evaluation_note(s: Mapping[str, Any]) -> str:
    """What an evaluation before the first training batch cost in each arm, if there was one."""
    base, head = s.get("base") or {}, s.get("head") or {}
    if base.get("eval_median_s") is None and head.get("eval_median_s") is None:
        return ""
    forwards = max(int(base.get("eval_forwards") or 0), int(head.get("eval_forwards") or 0))
    return (
        f"evaluation before training: base {fmt_s(base.get('eval_median_s'))}, "
        f"head {fmt_s(head.get('eval_median_s'))} ({forwards} "
        f"{'forward' if forwards == 1 else 'forwards'}), included in TTFB"
    )


def setup_note(s: Mapping[str, Any]) -> str:
    """How long each arm's setup command took (never part of TTFB)."""
    prepare = s.get("prepare") or {}
    times = {arm: (prepare.get(arm) or {}).get("setup_s") for arm in ("base", "head")}
    if all(t is None for t in times.values()):
        return ""
    command = " ".join((prepare.get("base") or prepare.get("head") or {}).get("setup") or [])
    return (
        f"setup `{command}`: base {fmt_s(times['base'])}, head {fmt_s(times['head'])}, "
        "not counted in TTFB"
    )


def scenario_notes(s: Mapping[str, Any]) -> list[str]:
    work = (s.get("instructions") or {}).get("summary", "")
    if work and work in str(s.get("reason", "")):
        work = ""  # the verdict's reason already says it
    extra = (work, s.get("instructions_note", ""), evaluation_note(s), setup_note(s))
    return [n for n in (*s.get("notes", []), *extra, *attribution_notes(s)) if n]


def attribution_notes(s: Mapping[str, Any]) -> list[str]:
    """Which imports head added or dropped, and the packages whose import time moved most."""
    a = s.get("attribution")
    if not a:
        return []
    if a.get("error"):
        return [f"import attribution failed: {a['error']}"]
    notes = [str(x) for x in a.get("sentences") or []][:10]
    moved = [p for p in a.get("packages") or [] if abs(p.get("delta_s") or 0) >= ATTRIBUTION_MIN_S][
        :3
    ]
    if moved:
        parts = ", ".join(f"{p['package']} {fmt_ds(p['delta_s'])}" for p in moved)
        notes.append(f"import time by package (paired, -X importtime): {parts}")
    if not notes:
        notes.append("no module is imported by one arm and not the other")
    return notes


def dependency_note(s: Mapping[str, Any]) -> str:
    """One line for the terminal: which dependency files and package versions differ."""
    deps = s.get("dependencies")
    if not deps or deps.get("shared"):
        return ""
    changes = [
        f"{p['name']} {p['base'] or 'not installed'} → {p['head'] or 'not installed'}"
        for p in deps.get("packages") or []
    ]
    files = ", ".join(deps.get("files_changed") or ()) or "(none)"
    shown = "; ".join(changes[:10]) + (f"; …{len(changes) - 10} more" if len(changes) > 10 else "")
    return f"dependencies differ ({files} changed): {shown or 'no package version differs'}"


def dependency_groups(scenarios: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per distinct change of dependencies: the scenarios, changed files and package rows."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for s in scenarios:
        deps = s.get("dependencies")
        if not deps or deps.get("shared"):
            continue
        packages = deps.get("packages") or []
        key = (
            tuple(deps.get("files_changed") or ()),
            tuple((p["name"], p["base"], p["head"]) for p in packages),
        )
        group = groups.setdefault(
            key,
            {
                "scenarios": [],
                "files": ", ".join(md_code(f) for f in key[0]) or "(none)",
                "rows": [
                    [md_code(n), md_text(b or "not installed"), md_text(h or "not installed")]
                    for n, b, h in key[1][:MAX_PACKAGE_ROWS]
                ],
                "hidden": max(0, len(key[1]) - MAX_PACKAGE_ROWS),
            },
        )
        group["scenarios"].append(md_code(s["name"]))
    return list(groups.values())
