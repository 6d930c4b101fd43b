"""Which runs make one report, the list of comparisons, and the last release suite. Pure.

The history records one run per scenario of a compare. The runs of one ``ttfb compare``
(or ``ttfb gh run``, the demo, a release suite) share their kind, both revisions and the
runner, and name each scenario once: that is one **session**, and one report page, as one
PR comment covers every scenario of its run. Runs are read in id order; a run joins the open
session of its key unless its scenario is there already (a rerun of the same revisions
starts a new session), so two processes writing at once still group correctly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Verdict
from .trend import COMPARE_KINDS


@dataclass(frozen=True)
class Session:
    """The runs of one compare: one report page."""

    id: str
    kind: str
    base_rev: str | None
    head_rev: str | None
    runner: str | None
    created: str
    runs: tuple[Mapping[str, Any], ...]

    @property
    def scenarios(self) -> list[str]:
        return [str(r["scenario"]) for r in self.runs]

    @property
    def gate(self) -> tuple[str, str]:
        """The release gate of these verdicts: what ``ttfb gh release`` sets as its status."""
        bad = [f"{r['scenario']} ({r['verdict']})" for r in self.runs if _verdict(r).fails_gate]
        if not bad:
            return "success", f"no TTFB regression in {len(self.runs)} release scenario(s)"
        return "failure", "TTFB gate failed: " + ", ".join(bad)


def _verdict(run: Mapping[str, Any]) -> Verdict:
    try:
        return Verdict(run.get("verdict"))
    except ValueError:
        return Verdict.BROKEN


def report_id(uid: str) -> str:
    """A file name for a report, from its first run's uid (history data: never used raw)."""
    return hashlib.sha256(uid.encode()).hexdigest()[:12]


def group(runs: Sequence[Mapping[str, Any]]) -> list[Session]:
    """Sessions of the compare-kind runs with a comparison, oldest first (see the module)."""
    open_: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    done: list[list[Mapping[str, Any]]] = []
    for r in runs:
        if r["kind"] not in COMPARE_KINDS or r.get("verdict") is None or not r["scenario"]:
            continue
        # a release suite spans runner pools (hosted CPU, self-hosted GPU): one session
        pool = None if r["kind"] == "release" else r["runner"]
        key = (r["kind"], r["base_rev"], r["head_rev"], pool)
        current = open_.get(key)
        if current is None or any(x["scenario"] == r["scenario"] for x in current):
            current = []
            open_[key] = current
            done.append(current)
        current.append(r)
    return [
        Session(
            id=report_id(str(rs[0]["uid"])),
            kind=str(rs[0]["kind"]),
            base_rev=rs[0]["base_rev"],
            head_rev=rs[0]["head_rev"],
            runner=", ".join(sorted({str(r["runner"]) for r in rs if r["runner"]})) or None,
            created=str(rs[0]["created"]),
            runs=tuple(rs),
        )
        for rs in done
    ]


def comparison_rows(sessions: Sequence[Session]) -> list[dict[str, Any]]:
    """One row per compared scenario, newest first, each pointing at its session's report."""
    rows = [
        {
            "uid": str(r["uid"]),
            "created": str(r["created"]),
            "kind": s.kind,
            "scenario": str(r["scenario"]),
            "runner": r["runner"] or "",
            "base": s.base_rev or "",
            "head": s.head_rev or "",
            "verdict": _verdict(r).value,
            "delta_pct": r.get("delta_pct"),
            "ci_low_pct": r.get("ci_low_pct"),
            "ci_high_pct": r.get("ci_high_pct"),
            "pairs": r.get("pairs") or 0,
            "report": s.id,
            "order": int(r["id"]),
        }
        for s in sessions
        for r in s.runs
    ]
    rows.sort(key=lambda x: (x["created"], x["order"]), reverse=True)
    return rows


@dataclass(frozen=True)
class Release:
    """The last release suite: its compare session, its bisects and its gate."""

    session: Session
    bisects: tuple[Mapping[str, Any], ...]

    @property
    def gate(self) -> tuple[str, str]:
        return self.session.gate


def latest_release(
    sessions: Sequence[Session], runs: Sequence[Mapping[str, Any]]
) -> Release | None:
    """The newest ``release`` session with the bisects the suite ran after it (the latest
    bisect document of each scenario between the same two ends)."""
    releases = [s for s in sessions if s.kind == "release"]
    if not releases:
        return None
    last = max(releases, key=lambda s: (s.created, s.runs[0]["id"]))
    first_id = min(int(r["id"]) for r in last.runs)
    bisects: dict[str, Mapping[str, Any]] = {}
    for r in runs:
        doc = r.get("doc")
        if (
            r["kind"] == "bisect"
            and int(r["id"]) > first_id
            and r["base_rev"] == last.base_rev
            and r["head_rev"] == last.head_rev
            and isinstance(doc, dict)
            and doc.get("kind") == "ttfb-bisect"
        ):
            bisects[str(r["scenario"])] = doc
    return Release(last, tuple(bisects[k] for k in sorted(bisects)))
