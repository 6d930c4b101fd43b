"""The notes under a scenario in the comment and the terminal: evaluation before training, setup
time, CPU work, import attribution, and dependency changes between the arms. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..results import AttributionResult, ImportDelta, PackageChange, ScenarioResult
from .fmt import fmt_ds, fmt_s, md_code, md_text

MAX_PACKAGE_ROWS = 30
ATTRIBUTION_MIN_S = 0.01
# ... and this share of the package's own import time: a large package's import moves by more
# than 10 ms from noise (torch's 1.43 s by 55 ms, the same way in all 3 pairs, in a compare
# whose change never touched it), as a function's time does in the differential profile
ATTRIBUTION_RELATIVE = 0.1


def evaluation_note(s: ScenarioResult) -> str:
    """What an evaluation before the first training batch cost in each arm, if there was one."""
    base, head = s.base, s.head
    if base.eval_median_s is None and head.eval_median_s is None:
        return ""
    forwards = max(base.eval_forwards or 0, head.eval_forwards or 0)
    return (
        f"evaluation before training: base {fmt_s(base.eval_median_s)}, "
        f"head {fmt_s(head.eval_median_s)} ({forwards} "
        f"{'forward' if forwards == 1 else 'forwards'}), included in TTFB"
    )


GC_NOTE_SHARE = 0.05  # garbage collection is noted where it is this share of an arm's TTFB


def gc_note(s: ScenarioResult) -> str:
    """What the garbage collector took before the first batch in each arm, where it was a
    noticeable share of the TTFB (a torch job: a fifth of it, seen here)."""
    base, head = s.base, s.head
    shares = [
        arm.gc_median_s / arm.median_s
        for arm in (base, head)
        if arm.gc_median_s is not None and arm.median_s
    ]
    if not shares or max(shares) < GC_NOTE_SHARE:
        return ""
    return (
        f"garbage collection before the first batch: base {fmt_s(base.gc_median_s)}, head "
        f"{fmt_s(head.gc_median_s)} (median, {max(shares):.0%} of TTFB at most), included in TTFB"
    )


def setup_note(s: ScenarioResult) -> str:
    """How long each arm's setup command took (never part of TTFB)."""
    base, head = (s.prepare.base, s.prepare.head) if s.prepare else (None, None)
    times = (base.setup_s if base else None, head.setup_s if head else None)
    if all(t is None for t in times):
        return ""
    arm = base or head
    command = " ".join(arm.setup or ()) if arm else ""
    return f"setup `{command}`: base {fmt_s(times[0])}, head {fmt_s(times[1])}, not counted in TTFB"


def scenario_notes(s: ScenarioResult) -> list[str]:
    work = s.instructions.summary if s.instructions else ""
    if work and work in s.reason:
        work = ""  # the verdict's reason already says it
    extra = (work, s.instructions_note or "", evaluation_note(s), gc_note(s), setup_note(s))
    return [n for n in (*s.notes, *extra, *attribution_notes(s)) if n]


def attribution_notes(s: ScenarioResult) -> list[str]:
    """Which imports head added or dropped, and the packages whose import time moved most."""
    a = s.attribution
    if a is None or a == AttributionResult():  # none, or an empty object
        return []
    if a.error:
        return [f"import attribution failed: {a.error}"]
    if a.skipped:
        return [f"imports not attributed: {a.skipped}"]
    notes = [str(x) for x in a.sentences or ()][:10]
    moved = [p for p in a.packages or () if _moved(p)][:3]
    gc = ""
    if a.gc_base_ms is not None and a.gc_head_ms is not None:
        gc = (
            f"; garbage collection inside imports counted apart, {a.gc_base_ms:.0f} ms → "
            f"{a.gc_head_ms:.0f} ms"
        )
    if moved:
        parts = ", ".join(f"{p.package} {fmt_ds(p.delta_s)}" for p in moved)
        notes.append(f"import time by package (paired, -X importtime{gc}): {parts}")
    if not notes:
        notes.append("no module is imported by one arm and not the other")
    return notes


def _moved(p: ImportDelta) -> bool:
    """Whether a package's import time moved enough to name: every pair the same way, by
    ``ATTRIBUTION_MIN_S`` and by ``ATTRIBUTION_RELATIVE`` of its import time in either arm."""
    size = max(p.base_s or 0.0, p.head_s or 0.0)
    change = abs(p.delta_s or 0.0)
    return (
        p.consistent is not False
        and change >= ATTRIBUTION_MIN_S
        and change >= ATTRIBUTION_RELATIVE * size
    )


def _changed(p: PackageChange) -> str:
    return f"{p.name} {p.base or 'not installed'} → {p.head or 'not installed'}"


def dependency_note(s: ScenarioResult) -> str:
    """One line for the terminal: which dependency files and package versions differ."""
    deps = s.dependencies
    if not deps or deps.shared:
        return ""
    changes = [_changed(p) for p in deps.packages]
    files = ", ".join(deps.files_changed) or "(none)"
    shown = "; ".join(changes[:10]) + (f"; …{len(changes) - 10} more" if len(changes) > 10 else "")
    return f"dependencies differ ({files} changed): {shown or 'no package version differs'}"


def dependency_groups(scenarios: Sequence[ScenarioResult]) -> list[dict[str, Any]]:
    """Per distinct change of dependencies: the scenarios, changed files and package rows."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for s in scenarios:
        deps = s.dependencies
        if not deps or deps.shared:
            continue
        key = (deps.files_changed, tuple((p.name, p.base, p.head) for p in deps.packages))
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
        group["scenarios"].append(md_code(s.name))
    return list(groups.values())
