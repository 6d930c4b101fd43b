"""The report pages: each compare session's PR comment and the last release report, as HTML.

The Markdown comes from the report views themselves (``reports``) and becomes HTML through
the escaping renderer in ``markdown``; a run whose stored data the views cannot read gets a
page that says so, rather than stopping the build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..atomic import write_text_atomic
from ..errors import ResultsError
from ..report.flame import render_svg
from ..report.fmt import fmt_ds, fmt_pct, fmt_s
from .commits import HEX, Commit
from .markdown import escape, to_html
from .pages import session_heading, short
from .reports import Entry, SegmentRow, compare_markdown, flame_graphs, release_markdown
from .sessions import Release, Session

URL = re.compile(r"^https?://[^\s\"'<>\\]+$")
GATE_BADGES = {"success": "✅ success", "failure": "❌ failure"}  # symbol and word


@dataclass(frozen=True)
class Links:
    """Links to the repository's own pages (commits, diffs), when its URL is known."""

    base: str | None

    @classmethod
    def of(cls, url: str | None) -> Links:
        return cls(url.rstrip("/") if url and URL.match(url) else None)

    def commit(self, sha: str | None) -> str | None:
        if self.base is None or not sha or not HEX.match(sha):
            return None
        return f"{self.base}/commit/{sha}"

    def diff(self, base: str | None, head: str | None) -> str | None:
        if self.base is None or not base or not head or not (HEX.match(base) and HEX.match(head)):
            return None
        return f"{self.base}/compare/{base}...{head}"


def _failed(error: Exception) -> str:
    return (
        '<p class="empty">This report could not be rebuilt from the stored data: '
        f"{escape(type(error).__name__)}: {escape(str(error))}</p>"
    )


class ReportPages:
    """Writes ``reports/<id>.html`` per session and ``release.html``."""

    def __init__(
        self,
        env: jinja2.Environment,
        common: Mapping[str, Any],
        links: Links,
        commits: Mapping[str, Commit],
        keys: Mapping[tuple[str, str], str],
        entries: Mapping[str, Entry],
        phases: Mapping[str, list[SegmentRow]],
    ) -> None:
        self.env, self.common, self.links = env, common, links
        self.commits, self.keys, self.entries, self.phases = commits, keys, entries, phases

    def arm(self, name: str, rev: str | None) -> dict[str, Any]:
        c = self.commits.get(rev or "")
        return {
            "name": name,
            "short": short(rev),
            "url": self.links.commit(rev),
            "subject": c.subject if c else "",
            "date": c.date if c else "",
        }

    def write_report(self, out: Path, s: Session) -> None:
        try:
            body = to_html(compare_markdown(s, self.entries))
        except (ResultsError, KeyError, TypeError, ValueError, AttributeError) as exc:
            body = _failed(exc)
        phases = [
            {
                "name": str(r["scenario"]),
                "rows": [
                    {
                        "label": x.label,
                        "base": fmt_s(x.base_s),
                        "head": fmt_s(x.head_s),
                        "delta": fmt_ds(x.delta_s),
                        "delta_pct": fmt_pct(x.delta_pct),
                    }
                    for x in self.phases.get(str(r["uid"]), [])
                ],
            }
            for r in s.runs
            # a stored results entry already has its phase table, with significance
            if self.phases.get(str(r["uid"])) and not self.entries[str(r["uid"])].stored
        ]
        page = self.env.get_template("report.html.j2").render(
            **self.common,
            up="../",
            nav="comparisons",
            page_title=session_heading(s),
            heading=session_heading(s),
            session=s,
            arms=[self.arm("base", s.base_rev), self.arm("head", s.head_rev)],
            diff_url=self.links.diff(s.base_rev, s.head_rev),
            diff_label=f"{short(s.base_rev)}...{short(s.head_rev)}",
            scenarios=[
                {"name": str(r["scenario"]), "key": self.keys.get((r["scenario"], r["runner"]))}
                for r in s.runs
            ],
            body=Markup(body),
            phases=phases,
            # rendered with autoescaping from the stored profile (bot.report.flame)
            flames=[
                {"name": name, "svg": Markup(render_svg(graph))}
                for name, graph in flame_graphs(s, self.entries)
            ],
            rebuilt=any(not self.entries[str(r["uid"])].stored for r in s.runs),
        )
        write_text_atomic(out / "reports" / f"{s.id}.html", page)

    def release_view(self, release: Release | None) -> dict[str, Any] | None:
        if release is None:
            return None
        s = release.session
        state, description = release.gate
        try:
            body = to_html(release_markdown(release, self.entries))
        except (ResultsError, KeyError, TypeError, ValueError, AttributeError) as exc:
            body = _failed(exc)
        culprits = []
        for b in release.bisects:
            for c in b.get("culprits") or []:
                if not isinstance(c, dict) or not isinstance(c.get("commit"), str):
                    continue
                culprits.append(
                    {
                        "scenario": str(b.get("scenario")),
                        "short": short(c["commit"]),
                        "url": self.links.commit(c["commit"]),
                        "subject": str(c.get("subject") or ""),
                        "effect": fmt_pct(c.get("effect_pct")) + " on its own",
                    }
                )
        return {
            "state": state,
            "badge": GATE_BADGES.get(state, state),
            "description": description,
            "created": s.created,
            "runner": s.runner,
            "arms": [self.arm("baseline", s.base_rev), self.arm("head", s.head_rev)],
            "report": s.id,
            "culprits": culprits,
            "heading": session_heading(s),
            "body": Markup(body),
        }

    def write_release(self, out: Path, release: Release | None) -> dict[str, Any] | None:
        view = self.release_view(release)
        page = self.env.get_template("release.html.j2").render(
            **self.common, up="", nav="release", page_title="Release gate", release=view
        )
        write_text_atomic(out / "release.html", page)
        return view
