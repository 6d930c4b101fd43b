"""The site in a real browser, built from a history that real ``ttfb compare`` and ``ttfb
measure`` runs wrote: headless Chromium (Playwright, the system's Chromium) opens it from
``file://`` and over HTTP, in light and dark mode. No console errors; every scenario's chart has
a point per run; a click goes through to the comparison and shows its verdict; a hostile
commit message stays text. Screenshots land next to the test's other files (``tmp_path``)."""

from __future__ import annotations

import functools
import http.server
import sqlite3
import textwrap
import threading
from pathlib import Path

import pytest

from bot import git as gitlib
from bot.cli import main
from bot.dashboard import site as dashboard
from bot.dashboard.trend import TREND_KINDS, Series
from bot.model import Verdict
from bot.store.history_db import History

from .conftest import HOSTILE, chromium_path, compare_run, with_work

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright.expect
pytestmark = pytest.mark.slow

SCRIPT = """
import sys, time
import ttfb_lab

DELAY_S = {delay}


def main():
    if "--steady" not in sys.argv:
        time.sleep(DELAY_S)  # waits for the metrics collector
    ttfb_lab.mark("config_loaded")
    import json, decimal
    json.dumps({{"rows": [decimal.Decimal(i) for i in range(2000)]}}, default=str)
    ttfb_lab.mark("data_ready")
    ttfb_lab.first_batch()


if __name__ == "__main__":
    main()
"""
SCENARIO = """
name: {name}
command: [python, train.py{extra}]
first_batch: mark
instructions: "off"
timeout_s: 60
"""
FAST = ["--pairs", "4", "--max-pairs", "4", "--instructions", "off", "--no-attribute"]


def commit(repo: Path, delay: float, message: str) -> str:
    (repo / "train.py").write_text(SCRIPT.format(delay=delay))
    return gitlib.commit_all(repo, message)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    """A repository with three commits (a planted 150 ms wait, then its fix), two compares
    and a measure recorded in one history; and the site built from it."""
    tmp = tmp_path_factory.mktemp("dashboard-real")
    repo, db = tmp / "repo", tmp / "history.sqlite"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "fast.yaml").write_text(SCENARIO.format(name="fast", extra=""))
    (repo / "scenarios" / "steady.yaml").write_text(
        SCENARIO.format(name="steady", extra=", --steady")
    )
    gitlib.init_repo(repo)
    c0 = commit(repo, 0.0, f"Base trainer {HOSTILE}")
    c1 = commit(repo, 0.15, "Report dataset statistics to the collector")
    c2 = commit(repo, 0.0, "Send statistics in the background")
    history = ["--root", str(repo), "--db", str(db)]
    logs = tmp / "samples"
    first = ["--base", c0, "--head", c1, "--all", "--samples", str(logs / "1.jsonl")]
    second = ["--base", c1, "--head", c2, "--scenario", "fast", "--samples", str(logs / "2.jsonl")]
    assert main(["compare", *first, *FAST, *history, "--no-depmap"]) == 0
    assert main(["compare", *second, *FAST, *history, "--no-depmap"]) == 0
    measure = ["--scenario", "fast", "--runs", "3", "--samples", str(logs / "3.jsonl")]
    assert main(["measure", *measure, *history, "--no-depmap"]) == 0
    with sqlite3.connect(db) as con:
        runs = dict(
            con.execute(
                "SELECT scenario, COUNT(*) FROM runs "
                f"WHERE kind IN ({','.join('?' * len(TREND_KINDS))}) GROUP BY scenario",
                TREND_KINDS,
            ).fetchall()
        )
    assert runs == {"fast": 3, "steady": 1}
    site = tmp / "site"
    assert (
        main(
            [
                "dashboard",
                "--db",
                str(db),
                "-o",
                str(site),
                "--root",
                str(repo),
                "--repo-url",
                "https://github.com/octo/lab",
            ]
        )
        == 0
    )
    return site, db, runs


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: apt-get install chromium (or set TTFB_LAB_CHROMIUM)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable)
        yield b
        b.close()


class Page:
    """A page that records console errors, uncaught exceptions and dialogs."""

    def __init__(self, browser, scheme: str = "light") -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                m.type in ("error", "warning") and self.problems.append(f"{m.type}: {m.text}")
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"exception: {e}"))
        self.page.on(
            "dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss())
        )
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")


def chart_points(page, chart: str = "chart-ttfb") -> int:
    page.wait_for_selector(f"#{chart}[data-points]")
    return int(page.get_attribute(f"#{chart}", "data-points"))


def test_from_file_every_chart_has_a_point_per_run_and_clicks_reach_the_verdict(
    recorded, browser, tmp_path
):
    site, _, runs = recorded
    p = Page(browser)
    p.open((site / "index.html").as_uri())
    rows = p.page.locator("table.overview tbody tr")
    assert rows.count() == 2
    assert "🟢 improvement" in rows.filter(has_text="fast").inner_text()  # its last compare
    p.page.screenshot(path=tmp_path / "overview.png", full_page=True)
    for name, count in runs.items():
        p.open((site / "index.html").as_uri())
        p.page.get_by_role("link", name=name, exact=True).click()
        p.page.wait_for_load_state("load")
        assert chart_points(p.page) == count
        assert chart_points(p.page, "chart-phases") == count
        assert chart_points(p.page, "chart-cpu") == count
        assert p.page.evaluate("() => window.TTFB_CHARTS[0].data[0].length") == count
        p.page.locator("summary", has_text="Table: TTFB per run").click()
        expect(p.page.locator("#table-ttfb tbody tr")).to_have_count(count)  # built on open
    # fast: compare (regression), compare (improvement), measure, oldest first
    p.open((site / "index.html").as_uri())
    p.page.get_by_role("link", name="fast", exact=True).click()
    p.page.wait_for_load_state("load")
    chart_points(p.page)
    x, y = p.page.evaluate(
        """() => { const u = window.TTFB_CHARTS[0]; const r = u.over.getBoundingClientRect();
                   return [r.left + u.valToPos(0, 'x'), r.top + u.valToPos(u.data[1][0], 'y')]; }"""
    )
    p.page.mouse.move(x, y)
    tooltip = p.page.locator("#chart-ttfb .tooltip")
    assert "Report dataset statistics to the collector" in tooltip.inner_text()
    p.page.screenshot(path=tmp_path / "scenario-fast.png", full_page=True)
    p.page.mouse.click(x, y)
    detail = p.page.locator("#detail")
    assert "regression" in detail.inner_text()
    assert (
        detail.get_by_role("link", name="open the commit")
        .get_attribute("href")
        .startswith("https://github.com/octo/lab/commit/")
    )
    detail.get_by_role("link", name="open the comparison").click()
    p.page.wait_for_load_state("load")
    report = p.page.locator("article.report")
    assert "🔴 regression" in report.inner_text()
    assert HOSTILE in p.page.locator("dl.facts").inner_text()  # the base's message, as text
    assert p.page.locator("img").count() == 0
    p.page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert p.problems == []


def test_the_comparisons_list_filters_and_links_to_reports(recorded, browser):
    site, _, _ = recorded
    p = Page(browser)
    p.open((site / "comparisons.html").as_uri())
    table = p.page.locator("#comparisons tbody tr")
    assert table.count() == 3
    p.page.select_option("#f-verdict", "improvement")
    assert table.count() == 1
    assert "#verdict=improvement" in p.page.url
    table.first.get_by_role("link", name="report").click()
    p.page.wait_for_load_state("load")
    assert "🟢 improvement" in p.page.locator("article.report").inner_text()
    assert p.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_over_http_as_github_pages_serves_it(recorded, browser, scheme, tmp_path):
    site, _, _ = recorded
    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}/"
        p = Page(browser, scheme)
        for page in ["index.html", "comparisons.html", "release.html"]:
            p.open(root + page)
        p.open(root + "index.html")
        p.page.get_by_role("link", name="fast", exact=True).click()
        p.page.wait_for_load_state("load")
        assert chart_points(p.page) == 3
        background = p.page.evaluate(
            "() => getComputedStyle(document.documentElement).backgroundColor"
        )
        assert (background == "rgb(255, 255, 255)") == (scheme == "light")
        p.page.screenshot(path=tmp_path / f"scenario-{scheme}.png", full_page=True)
        assert p.problems == []
    finally:
        server.shutdown()
        server.server_close()


CPU_CHART = """() => {
    const u = window.TTFB_CHARTS.find((c) => c.root.parentNode.id === 'chart-cpu');
    return [u.series.map((s) => s.label), u.axes.map((a) => a.label || null)]; }"""


def test_the_cpu_chart_draws_instructions_on_a_second_axis_only_where_counted(
    history, browser, tmp_path
):
    """The synthetic history (no real runs): one compare of lm-cpu counted instructions."""
    with History(history) as h:
        run = compare_run(
            "compare",
            "lm-cpu",
            "a" * 40,
            "b" * 40,
            Verdict.NO_CHANGE,
            created="2026-03-06T10:00:00Z",
        )
        h.record_run(with_work(run, head=(3_000_000_001, 3_000_000_003)))
    site = tmp_path / "site"
    dashboard.build(history, site, dashboard.Options())
    p = Page(browser)
    counted = Series("lm-cpu", "ubuntu-latest", (), ()).key
    p.open((site / "scenarios" / f"{counted}.html").as_uri())
    runs = chart_points(p.page, "chart-cpu")
    labels, axes = p.page.evaluate(CPU_CHART)
    assert "instructions (head, right axis)" in labels and axes[-1] == "instructions (G)"
    p.page.locator("summary", has_text="Table: CPU time and instructions").click()
    cells = p.page.locator("#table-cpu tbody tr td:last-child")
    expect(cells).to_have_count(runs)
    assert cells.last.inner_text() == "3,000,000,002" and cells.first.inner_text() == "–"
    assert p.page.locator("#table-cpu thead th").last.inner_text() == "instructions"
    p.open((site / "scenarios" / f"{Series('lm-cpu', 'gpu-a100', (), ()).key}.html").as_uri())
    chart_points(p.page, "chart-cpu")
    labels, axes = p.page.evaluate(CPU_CHART)
    assert not [x for x in labels if "instructions" in str(x)] and len(axes) == 2
    assert p.problems == []


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_the_script_is_torch_free():
    assert "torch" not in textwrap.dedent(SCRIPT)
