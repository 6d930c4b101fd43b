"""The profile in the reports, rendered from a stored results document
(``tests/fixtures/results/profile.json``, written once by ``scripted.write_fixture``): the
comment's function table (golden file), the terminal lines, the flame graph's page, and the
profile on the dashboard's report page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.report.compare_view import as_results, render_comment, render_compare_text
from bot.report.flame import colour, render_html, render_svg
from bot.report.outputs import write_compare_outputs
from bot.report.profile_view import MAX_ROWS, flame_file, flame_graph, rows

from ..conftest import golden

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results" / "profile.json"


def stored() -> dict:
    return json.loads(FIXTURE.read_text())


def test_the_comment_has_the_function_table_under_where_the_time_went():
    doc = stored()
    comment = render_comment(doc)
    golden("comment_profile.md", comment)
    where = comment.index("### Where the time went")
    table = comment.index("| function | file:line | base | head | Δ (95% CI) | share of Δ |")
    assert where < table
    assert "| `report_click_stats` → `SocketIO.readinto (socket)` | `telemetry.py:40` |" in comment


def test_the_terminal_names_the_function_and_its_change():
    text = render_compare_text(stored())
    golden("compare_profile.txt", text)
    assert "report_click_stats (telemetry.py:40) → SocketIO.readinto (socket): 0.0 ms →" in text


def test_the_garbage_collectors_change_is_given_beside_the_rows():
    doc = stored()
    doc["scenarios"][0]["profile"]["gc"] = {
        "base_ms": 435.98,
        "head_ms": 449.041,
        "delta_ms": -21.622,
        "ci_low_ms": -90.79,
        "ci_high_ms": 69.307,
        "significant": False,
        "placed_pct": 83.5,
    }
    said = (
        "garbage collection 436 ms → 449 ms, -22 ms (-91 ms … +69 ms), counted apart from the "
        "functions it interrupted, 84% of it found on the sampled stacks"
    )
    assert said in render_compare_text(doc)
    assert said in render_comment(doc)


def test_at_most_five_rows_and_only_significant_ones():
    doc = stored()
    row = doc["scenarios"][0]["profile"]["rows"][0]
    doc["scenarios"][0]["profile"]["rows"] = [dict(row, function=f"f{i}") for i in range(8)]
    s = as_results(doc).scenarios[0]
    assert s.profile is not None and len(rows(s.profile)) == MAX_ROWS


def test_the_flame_graph_page_is_self_contained_and_colours_the_change(tmp_path):
    written = write_compare_outputs(stored(), tmp_path)
    page = tmp_path / flame_file("ranker-cpu")
    assert page in written
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing may be fetched"
    assert "report_click_stats" in html and "<svg" in html
    s = as_results(stored()).scenarios[0]
    graph = flame_graph(s, base="base", head="head")
    assert graph is not None
    (rect,) = [r for r in graph.rects if r.function == "report_click_stats"]
    assert rect.fill == colour(1.0, 1.0, differential=True, repo=True)  # the reddest
    assert rect.fill.startswith("#d6")
    assert colour(-1.0, 1.0, differential=True, repo=True) == "#1f77b4"  # faster: blue
    assert colour(0.0, 1.0, differential=True, repo=True) == "#fafafa"


def test_names_from_measured_code_are_escaped():
    doc = stored()
    nodes = doc["scenarios"][0]["profile"]["flame"]
    nodes[2][1] = '<script>alert("x")</script>'
    s = as_results(doc).scenarios[0]
    graph = flame_graph(s, base="b", head="h")
    assert graph is not None
    for html in (render_svg(graph), render_html(graph)):
        assert '<script>alert("x")' not in html and "&lt;script&gt;" in html


def test_the_dashboard_report_page_shows_the_flame_graph(tmp_path):
    from bot.cli import main

    from .scripted import spec

    (tmp_path / "train.py").write_text("")
    db = tmp_path / "history.sqlite"
    arms = ["--base-cmd", "python train.py", "--head-cmd", "python train.py --new"]
    argv = ["compare", "--fake", str(spec(tmp_path)), "--root", str(tmp_path), *arms]
    assert main([*argv, "--db", str(db), "--runner", "test-runner", "--name", "toy"]) == 0
    site = tmp_path / "site"
    assert main(["dashboard", "--db", str(db), "-o", str(site), "--no-git"]) == 0
    (page,) = (site / "reports").glob("*.html")
    html = page.read_text()
    assert "Where the time went in <code>toy</code>" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="flame"' in html
    assert 'data-function="report_click_stats"' in html
    assert "style=" not in html.split('class="flame"')[1]  # the page's CSP allows no inline style
