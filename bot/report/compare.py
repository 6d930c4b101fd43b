"""View models: results documents turned into formatted strings for ``templates/``.

Pure: the functions take the versioned JSON documents (what an artifact carries, so the
reporting job never needs the objects that made them) and return strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import SEVERITY, Verdict
from .fmt import badge, fmt_ci, fmt_ds, fmt_p, fmt_pct, fmt_s, md_code, md_text, p_is, word
from .templates import render

COMMENT_MARKER = "<!-- ttfb-lab:report -->"
COMMENT_LIMIT = 65_536


def severity(s: Mapping[str, Any]) -> int:
    """Where a scenario of a results document sorts: worst verdict first."""
    return SEVERITY.index(Verdict(s["verdict"]))


def sentence(s: Mapping[str, Any]) -> str:
    """One line a person reads first, e.g. ``head is 7.4% slower (95% CI …) — confirmed``."""
    verdict = Verdict(s["verdict"])
    if verdict is Verdict.SKIPPED:
        return f"skipped: {s.get('skipped') or s['reason']}"
    if verdict is Verdict.BROKEN:
        return f"broken: {s['reason']}"
    delta = s.get("delta_pct")
    if delta is None:
        return f"{word(verdict)}: {s['reason']}"
    way = "slower" if delta > 0 else "faster"
    stats = (
        f"95% CI {fmt_ci(s['ci_low_pct'], s['ci_high_pct'])}, {p_is(s['p_ttest'])}, "
        f"{s['pairs']} pairs"
    )
    text = f"head is {abs(delta):.1f}% {way} ({stats})"
    finding = s.get("finding")
    if finding and finding["kind"] != "total":
        text += f"; {finding['summary']}"
    if verdict.moved:
        return f"{text} — confirmed"
    if verdict is Verdict.INCONCLUSIVE and finding:
        return f"{text} — not reproduced by the confirmation run"
    if verdict is Verdict.NO_CHANGE:
        return f"{text} — no change beyond ±{s['threshold_pct']:g}%"
    return f"{text} — {s['reason']}"


def worst(scenarios: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The scenario people must see first: broken, then regressions (largest first), …"""
    if not scenarios:
        return None

    def key(s: Mapping[str, Any]) -> tuple[int, float]:
        return severity(s), -abs(s.get("delta_pct") or 0.0)

    return min(scenarios, key=key)


def _confirmation_cell(s: Mapping[str, Any]) -> str:
    c = s.get("confirmation")
    if c is None:
        return "–" if not s.get("finding") else "not run"
    word = "confirmed" if c["reproduced"] else "not reproduced"
    return f"{word} ({fmt_pct(c['delta_pct'])}, {p_is(c['p_one_sided'])}, {c['pairs']} pairs)"


def scenario_row(s: Mapping[str, Any]) -> list[str]:
    return [
        md_code(s["name"]),
        fmt_s(s["base"]["median_s"]),
        fmt_s(s["head"]["median_s"]),
        fmt_pct(s["delta_pct"]),
        fmt_ci(s["ci_low_pct"], s["ci_high_pct"]),
        fmt_p(s["p_ttest"]),
        fmt_p(s["p_wilcoxon"]),
        str(s["pairs"]),
        md_text(_confirmation_cell(s)),
        badge(s["verdict"]),
    ]


def phase_rows(s: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for ph in s.get("phases", []):
        ci = fmt_ci(ph["ci_low_pct"], ph["ci_high_pct"])
        rows.append(
            [
                md_code(ph["label"]),
                fmt_s(ph["base_median_s"]),
                fmt_s(ph["head_median_s"]),
                fmt_ds(ph["delta_s"]),
                fmt_pct(ph["delta_pct"]),
                ci,
                fmt_p(ph["p_ttest"]),
                "**yes**" if ph["significant"] else "no",
            ]
        )
    cpu = s.get("cpu")
    if cpu:
        rows.append(
            [
                "CPU time to first batch (user+sys)",
                fmt_s(cpu["base_median_s"]),
                fmt_s(cpu["head_median_s"]),
                fmt_ds(cpu["head_median_s"] - cpu["base_median_s"]),
                fmt_pct(cpu["delta_pct"]),
                fmt_ci(cpu["ci_low_pct"], cpu["ci_high_pct"]),
                fmt_p(cpu["p_ttest"]),
                "**yes**" if cpu["significant"] else "no",
            ]
        )
    return rows


def mde_line(s: Mapping[str, Any]) -> str:
    if s.get("mde_pct") is None:
        return ""
    text = f"this run could detect ≥{s['mde_pct']:.1f}% on whole TTFB"
    low, high = s.get("mde_phase_pct"), s.get("mde_phase_max_pct")
    if low is not None and high is not None:
        text += f", ≥{low:.1f}–{high:.1f}% when the change sits in one phase"
    note = s.get("threshold_note") or "floor"
    threshold = (
        note
        if note.startswith(("threshold ", "floor "))
        else f"threshold {s['threshold_pct']:g}% ({note})"
    )
    return f"{threshold}; {text} (80% power)"


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
    return [n for n in (*s.get("notes", []), evaluation_note(s), setup_note(s)) if n]


MAX_PACKAGE_ROWS = 30


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


def sample_rows(s: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for i, x in enumerate(s.get("samples", []), start=1):
        b, h = x.get("base_s"), x.get("head_s")
        ratio = f"{(h / b - 1) * 100:+.1f}%" if b and h else "–"
        rows.append([str(i), md_text(x["stage"]), fmt_s(b), fmt_s(h), ratio])
    return rows


def compare_view(
    doc: Mapping[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    details: bool = True,
    phases: str = "all",
    max_rows: int | None = None,
) -> dict[str, Any]:
    """Everything the comment and summary templates lay out."""
    scenarios = list(doc["scenarios"])
    ordered = sorted(scenarios, key=lambda s: (severity(s), s["name"]))
    shown = ordered if max_rows is None else ordered[:max_rows]
    w = worst(scenarios)
    with_phases = [s for s in shown if s.get("phases") or s.get("cpu")]
    if phases == "findings":
        with_phases = [s for s in with_phases if s.get("finding")]
    elif phases == "none":
        with_phases = []
    return {
        "marker": COMMENT_MARKER,
        "headline": headline(doc),
        "worst": f"**{md_code(w['name'])}**: {md_text(sentence(w))}" if w else "",
        "base": md_code(doc["base"]["label"]),
        "head": md_code(doc["head"]["label"]),
        "rows": [scenario_row(s) for s in shown],
        "dependencies": dependency_groups(scenarios),
        "hidden_rows": len(ordered) - len(shown),
        "phases": [
            {
                "name": md_code(s["name"]),
                "rows": phase_rows(s),
                "mde": md_text(mde_line(s)),
                "notes": [md_text(n) for n in scenario_notes(s)],
            }
            for s in with_phases
        ],
        "mde": [
            {"name": md_code(s["name"]), "line": md_text(mde_line(s))} for s in shown if mde_line(s)
        ],
        "details": [
            {"name": md_code(s["name"]), "rows": sample_rows(s)}
            for s in shown
            if details and s.get("samples")
        ],
        "correction": md_text(doc["policy"]["correction"]),
        "alpha": doc["policy"]["alpha"],
        "tool": md_text(doc.get("tool", "ttfb-lab")),
        "machine": _machine(doc.get("machine") or {}),
        "context": dict(context or {}),
    }


def _machine(m: Mapping[str, Any]) -> str:
    """`` on <cpu>, <n> cores`` (untrusted: it comes with the results)."""
    if not m.get("cpu"):
        return ""
    return f" on {md_text(m['cpu'])}, {md_text(m.get('cores', '?'))} cores"


def headline(doc: Mapping[str, Any]) -> str:
    """``1 regression, 2 no change``: how many scenarios reached each verdict, worst first."""
    counts = {v: sum(1 for s in doc["scenarios"] if Verdict(s["verdict"]) is v) for v in SEVERITY}
    parts = [f"{n} {word(v)}" for v in SEVERITY if (n := counts.get(v))]
    return ", ".join(parts) or "nothing compared"


def render_comment(
    doc: Mapping[str, Any], *, context: Mapping[str, Any] | None = None, limit: int = COMMENT_LIMIT
) -> str:
    """The PR comment, shortened step by step until it fits GitHub's limit.

    In order: drop per-sample details, keep phase tables only for findings, drop them, then
    list fewer scenarios (worst first) and point to the job summary and artifact.
    """
    attempts: list[dict[str, Any]] = [
        {"details": True, "phases": "all"},
        {"details": False, "phases": "all"},
        {"details": False, "phases": "findings"},
        {"details": False, "phases": "none"},
    ]
    for kw in attempts:
        text = render("comment.md.j2", **compare_view(doc, context=context, **kw))
        if len(text) <= limit:
            return text
    low, high = 0, len(doc["scenarios"])
    best = render(
        "comment.md.j2",
        **compare_view(doc, context=context, details=False, phases="none", max_rows=0),
    )
    while low <= high:
        mid = (low + high) // 2
        text = render(
            "comment.md.j2",
            **compare_view(doc, context=context, details=False, phases="none", max_rows=mid),
        )
        if len(text) <= limit:
            best, low = text, mid + 1
        else:
            high = mid - 1
    return best


def render_summary(doc: Mapping[str, Any], *, context: Mapping[str, Any] | None = None) -> str:
    """The job summary: the whole comment, never truncated (GitHub allows 1 MiB)."""
    return render("comment.md.j2", **compare_view(doc, context=context))


def render_compare_text(doc: Mapping[str, Any]) -> str:
    """A short terminal summary."""
    lines = []
    for s in sorted(doc["scenarios"], key=lambda s: (severity(s), s["name"])):
        lines.append(
            {
                "name": s["name"],
                "verdict": word(s["verdict"]).upper(),
                "sentence": sentence(s),
                "mde": mde_line(s),
                "base": fmt_s(s["base"]["median_s"]),
                "head": fmt_s(s["head"]["median_s"]),
                "notes": [n for n in (dependency_note(s), *scenario_notes(s)) if n],
            }
        )
    return render(
        "compare.txt.j2", scenarios=lines, base=doc["base"]["label"], head=doc["head"]["label"]
    )
