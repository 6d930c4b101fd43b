"""Build the static site: read the history once, then write every page and data file.

The site is self-contained: HTML pages, the dashboard's own CSS and scripts, the vendored
chart library and one data file per page that has charts. Data files are JavaScript that
assigns one JSON value (``window.TTFB_DATA = {...};``) and are loaded with ``<script src>``:
Chromium refuses ``fetch()`` of ``file://`` URLs, and a script tag works from ``file://`` and
from GitHub Pages alike. The JSON is escaped so that it stays inert whatever the history
holds (``<`` and every non-ASCII character as a ``\\u`` escape); the pages are rendered by Jinja2
with autoescaping and the scripts only ever set ``textContent``, never HTML.

Data is split per scenario × runner (a page loads only its own file, so 50 scenarios cost
nothing until one is opened), the overview's sparklines are downsampled server-side, and the
comparisons list is one columnar file rendered a page at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from ..atomic import write_text_atomic
from ..errors import UsageError
from ..report.templates import template_dir
from ..store import scan
from ..store.history_db import History
from . import commits as gitinfo
from .pages import comparisons_data, overview_row, series_data
from .render import Links, ReportPages
from .reports import Entry, SegmentRow, phase_rows, scenario_entry
from .sessions import Session, comparison_rows, group, latest_release
from .trend import TREND_KINDS, Point, Series, build_series, point

HERE = Path(__file__).resolve().parent
MARKER = ".ttfb-dashboard"
UPLOT_VERSION = "1.6.32"


@dataclass(frozen=True)
class Options:
    last: int = 60  # runs in the overview's trend window
    spark_points: int = 30  # the most points a sparkline draws (downsampled beyond)
    repo_url: str | None = None  # e.g. https://github.com/owner/repo: commit and diff links
    branch: str | None = None  # the default branch (None: origin/HEAD, else main/master)
    root: Path | None = None  # the git repository the revisions come from (None: no lookups)
    title: str = "TTFB Lab"


@dataclass(frozen=True)
class Built:
    out: Path
    files: int
    bytes: int
    runs: int
    series: int
    reports: int
    release: bool


def js_json(value: Any) -> str:
    """JSON that is also inert JavaScript and HTML: ASCII only, ``<`` escaped, no NaN."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).replace(
        "<", "\\u003c"
    )


def environment() -> jinja2.Environment:
    """The pages' templates (``templates/dashboard/``, beside the reports' own), autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir() / "dashboard")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def check_out(out: Path) -> None:
    """``-o`` may name a new or empty directory, or one a previous build wrote (replaced
    whole); anything else is refused, so ``-o`` can never wipe a directory that is not a
    dashboard."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise UsageError(
            f"-o: {out} exists and is not a dashboard this command wrote; pick another"
        )


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh directory beside ``out`` to build into; on success it takes ``out``'s place
    (the old site is removed only then), on any error it is removed and ``out`` is untouched:
    nothing half-written is ever published."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        shutil.copytree(
            HERE / "static",
            tmp / "static",
            ignore=shutil.ignore_patterns("__pycache__", "*.py"),
        )
        yield tmp
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "site")
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Collected:
    runs: list[dict[str, Any]]
    calibrations: dict[tuple[str, str], dict[str, Any]]
    sessions: list[Session]
    series: list[Series]
    entries: dict[str, Entry]
    phases: dict[str, list[SegmentRow]]


def collect(h: History) -> Collected:
    """Runs, sessions, trend points and report entries, reading each sample once."""
    runs = scan.runs(h)
    sessions = group(runs)
    session_of = {str(r["uid"]): s for s in sessions for r in s.runs}
    by_id = {int(r["id"]): r for r in runs}
    wanted = {
        i
        for i, r in by_id.items()
        if (r["kind"] in TREND_KINDS and r["scenario"]) or str(r["uid"]) in session_of
    }
    points: list[tuple[str, str, Point]] = []
    entries: dict[str, Entry] = {}
    phases: dict[str, list[SegmentRow]] = {}

    def take(r: Mapping[str, Any], samples: list[dict[str, Any]]) -> None:
        s = session_of.get(str(r["uid"]))
        if r["kind"] in TREND_KINDS and r["scenario"]:
            p = point(r, samples)
            points.append((str(r["scenario"]), str(r["runner"] or "unknown"), p))
            if s is not None:
                points[-1] = (points[-1][0], points[-1][1], replace(p, report=s.id))
        if s is not None:
            entries[str(r["uid"])] = scenario_entry(r, samples)
            phases[str(r["uid"])] = phase_rows(samples)

    seen: set[int] = set()
    for run_id, samples in scan.samples(h, wanted):
        seen.add(run_id)
        take(by_id[run_id], samples)
    for run_id in sorted(wanted - seen):  # runs without a sample (broken before the first)
        take(by_id[run_id], [])
    return Collected(
        runs, scan.latest_calibrations(h), sessions, build_series(points), entries, phases
    )


def build(db: Path, out: Path, options: Options = Options()) -> Built:
    """Write the site for the history in ``db`` into ``out`` (see the module docstring)."""
    if not db.is_file():
        raise UsageError(f"--db: {db}: no history database there")
    check_out(out)
    with staged(out) as tmp:
        built = _write(db, tmp, options)
    return replace(built, out=out)


def _write(db: Path, out: Path, options: Options) -> Built:
    with History(db) as h:
        data = collect(h)
    revisions: set[str | None] = {p.rev for s in data.series for p in s.points}
    revisions |= {s.base_rev for s in data.sessions} | {s.head_rev for s in data.sessions}
    branch, on_branch = None, None
    known: dict[str, gitinfo.Commit] = {}
    if options.root is not None:
        known = gitinfo.lookup(revisions, cwd=options.root)
        branch, line = gitinfo.first_parent_line(options.branch, cwd=options.root)
        on_branch = line if branch else None
    links = Links.of(options.repo_url)
    env = environment()
    common = {
        "title": options.title,
        "tool": f"ttfb-lab {__version__}",
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": len(data.runs),
        "uplot": UPLOT_VERSION,
    }
    keys = {(s.scenario, s.runner): s.key for s in data.series}
    rows = []
    for s in data.series:
        row = overview_row(
            s,
            cal=data.calibrations.get((s.scenario, s.runner)),
            last=options.last,
            spark_points=options.spark_points,
        )
        rows.append(row)
        payload = series_data(
            s, commits=known, on_branch=on_branch, branch=branch, repo_url=links.base
        )
        write_data(out / "data" / f"{s.key}.js", payload)
        page = env.get_template("scenario.html.j2").render(
            **common, up="../", nav="", page_title=s.scenario, row=row
        )
        write_text_atomic(out / "scenarios" / f"{s.key}.html", page)
    reports = ReportPages(env, common, links, known, keys, data.entries, data.phases)
    for session in data.sessions:
        reports.write_report(out, session)
    release = latest_release(data.sessions, data.runs)
    release_view = reports.write_release(out, release)
    index = env.get_template("overview.html.j2").render(
        **common,
        up="",
        nav="overview",
        page_title="Overview",
        rows=rows,
        last=options.last,
        release=release_view,
    )
    write_text_atomic(out / "index.html", index)
    write_data(
        out / "data" / "comparisons.js",
        comparisons_data(comparison_rows(data.sessions), keys=keys, commits=known),
    )
    page = env.get_template("comparisons.html.j2").render(
        **common, up="", nav="comparisons", page_title="Comparisons"
    )
    write_text_atomic(out / "comparisons.html", page)
    write_text_atomic(out / MARKER, json.dumps({"version": 1, "tool": common["tool"]}) + "\n")
    files = list(_files(out))
    return Built(
        out=out,
        files=len(files),
        bytes=sum(f.stat().st_size for f in files),
        runs=len(data.runs),
        series=len(data.series),
        reports=len(data.sessions),
        release=release is not None,
    )


def write_data(path: Path, value: Any) -> None:
    write_text_atomic(path, f"window.TTFB_DATA = {js_json(value)};\n")


def _files(root: Path) -> Iterator[Path]:
    for base, _, names in os.walk(root):
        for name in names:
            yield Path(base) / name
