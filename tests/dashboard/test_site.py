"""``ttfb dashboard``: the files it writes, what they hold, and what it refuses."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path

import pytest

from bot import git as gitlib
from bot.cli import main
from bot.dashboard import commits, site
from bot.errors import UsageError
from bot.model import Verdict
from bot.store.history_db import History

from .conftest import HOSTILE, compare_run, synthetic_history, with_work


class Attributes(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.names.extend(name for name, _ in attrs)


DATA = re.compile(r"^window\.TTFB_DATA = (.*);\n$", re.S)


def data(path: Path) -> dict:
    m = DATA.match(path.read_text())
    assert m, path
    return json.loads(m[1])


def test_the_site_has_every_page_and_its_data(history, tmp_path):
    out = tmp_path / "site"
    built = site.build(history, out, site.Options(repo_url="https://github.com/octo/lab"))
    assert (built.runs, built.series, built.reports, built.release) == (9, 3, 4, True)
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "comparisons.html",
        "release.html",
        "data/comparisons.js",
        "static/vendor/uPlot.iife.min.js",
        "static/vendor/LICENSE",
        "static/dashboard.css",
        "static/scenario.js",
        site.MARKER,
    } <= names
    assert sum(n.startswith("scenarios/") for n in names) == 3
    assert sum(n.startswith("data/") for n in names) == 4
    assert sum(n.startswith("reports/") for n in names) == 4
    assert built.files == len(names) and built.bytes == sum((out / n).stat().st_size for n in names)
    comparisons = data(out / "data" / "comparisons.js")
    assert len(comparisons["rows"]) == 6  # 4 PR compare rows + 2 release rows
    assert comparisons["rows"][0][comparisons["columns"].index("kind")] == "release"


def test_no_page_carries_history_values_as_markup(history, tmp_path):
    out = tmp_path / "site"
    site.build(history, out, site.Options())
    pages = [p for p in out.rglob("*.html")]
    assert len(pages) == 10
    for page in pages:
        text = page.read_text()
        assert "<img" not in text and "<script>alert" not in text, page
        attributes = Attributes()
        attributes.feed(text)
        assert not [a for a in attributes.names if a.startswith("on")], page
        # every script is one of ours, loaded by src, never inline
        for tag in re.findall(r"<script[^>]*>", text):
            assert re.fullmatch(r'<script src="[./a-zA-Z0-9_-]+\.js">', tag), (page, tag)
    overview = (out / "index.html").read_text()
    assert "&lt;img src=x onerror" in overview
    for js in (out / "data").glob("*.js"):
        assert "<" not in js.read_text()
    release = (out / "release.html").read_text()
    assert "❌ failure" in release and "lm-cpu (regression)" in release
    assert "Bisect: <code>lm-cpu</code>" in release


def test_links_are_built_only_from_commit_ids_and_an_http_url(tmp_path):
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        h.record_run(
            compare_run("compare", "s", "javascript:alert(1)", "--output=/tmp/x", Verdict.NO_CHANGE)
        )
    out = tmp_path / "site"
    site.build(db, out, site.Options(repo_url="javascript:alert(1)//"))
    report = next((out / "reports").glob("*.html")).read_text()
    assert 'href="javascript' not in report and "/commit/" not in report
    # a run recorded without a results entry is rebuilt, and the page says so
    assert "Rebuilt from the history" in report and "Phase segments, from the stored" in report
    out2 = tmp_path / "site2"
    site.build(db, out2, site.Options(repo_url="https://github.com/octo/lab/"))
    report = next((out2 / "reports").glob("*.html")).read_text()
    assert "/commit/" not in report  # the revisions are not commit ids
    assert data(next(p for p in (out2 / "data").glob("*.js") if p.name != "comparisons.js"))[
        "repo_url"
    ] == ("https://github.com/octo/lab")


def test_commit_messages_and_the_default_branch_come_from_git(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    gitlib.init_repo(repo)
    (repo / "a.txt").write_text("1")
    first = gitlib.commit_all(repo, f"First {HOSTILE}")
    (repo / "a.txt").write_text("2")
    second = gitlib.commit_all(repo, "Second")
    gitlib.run(["checkout", "-q", "-b", "feature"], cwd=repo)
    (repo / "a.txt").write_text("3")
    feature = gitlib.commit_all(repo, "On a branch")
    gitlib.run(["checkout", "-q", "main"], cwd=repo)
    found = commits.lookup([first, second[:8], feature, "0" * 40, "--all", None], cwd=repo)
    assert found[first].subject == f"First {HOSTILE}" and found[second[:8]].sha == second
    assert "0" * 40 not in found and "--all" not in found
    assert commits.first_parent_line(None, cwd=repo) == ("main", {first, second})
    assert commits.first_parent_line("--all", cwd=repo) == (None, set())
    assert commits.first_parent_line(None, cwd=tmp_path / "nowhere") == (None, set())

    db = tmp_path / "h.sqlite"
    with History(db) as h:
        h.record_run(compare_run("compare", "s", first, second, Verdict.NO_CHANGE))
        h.record_run(compare_run("compare", "s", second, feature, Verdict.NO_CHANGE))
    out = tmp_path / "site"
    site.build(db, out, site.Options(root=repo, repo_url="https://github.com/octo/lab"))
    (series,) = [p for p in (out / "data").glob("*.js") if p.name != "comparisons.js"]
    runs = data(series)["runs"]
    assert runs["subject"] == ["Second", "On a branch"] and runs["on_branch"] == [1, 0]
    assert data(series)["branch"] == "main"
    report = (out / "reports").glob("*.html")
    text = "".join(p.read_text() for p in report)
    assert f'href="https://github.com/octo/lab/commit/{first}"' in text
    assert f"https://github.com/octo/lab/compare/{first}...{second}" in text
    assert "First &lt;img src=x" in text


def test_instructions_reach_the_data_file_only_where_they_were_counted(history, tmp_path):
    with History(history) as h:
        h.record_run(
            with_work(
                compare_run(
                    "compare",
                    "lm-cpu",
                    "a" * 40,
                    "b" * 40,
                    Verdict.NO_CHANGE,
                    created="2026-03-06T10:00:00Z",
                ),
                head=(3_000_000_001, 3_000_000_003),
            )
        )
    out = tmp_path / "site"
    site.build(history, out, site.Options())
    series = {
        (d["scenario"], d["runner"]): d["runs"]
        for d in map(data, (out / "data").glob("*.js"))
        if d["kind"] == "ttfb-dashboard-series"
    }
    lm = series[("lm-cpu", "ubuntu-latest")]
    assert lm["instructions"] == [None] * (len(lm["uid"]) - 1) + [3_000_000_002]
    assert lm["rev"][-1] == "b" * 40
    for key in (("lm-cpu", "gpu-a100"), (HOSTILE, "ubuntu-latest")):
        assert series[key]["instructions"] == [None] * len(series[key]["uid"])


def test_an_empty_history_gives_a_site_that_says_so(tmp_path):
    db = tmp_path / "h.sqlite"
    History(db).close()
    built = site.build(db, tmp_path / "site", site.Options())
    assert (built.series, built.reports, built.release) == (0, 0, False)
    assert "No measured runs in this history yet" in (tmp_path / "site" / "index.html").read_text()
    assert "No release suite" in (tmp_path / "site" / "release.html").read_text()


def test_it_replaces_its_own_site_and_refuses_any_other_directory(history, tmp_path):
    out = tmp_path / "site"
    site.build(history, out, site.Options())
    (out / "reports" / "stale.html").write_text("old")
    site.build(history, out, site.Options())
    assert not (out / "reports" / "stale.html").exists()
    other = tmp_path / "docs"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a dashboard"):
        site.build(history, other, site.Options())
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(UsageError, match="no history database"):
        site.build(tmp_path / "missing.sqlite", tmp_path / "x", site.Options())


def test_a_build_that_fails_midway_leaves_the_published_site_as_it_was(
    history, tmp_path, monkeypatch
):
    out = tmp_path / "site"
    site.build(history, out, site.Options())
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = []

    def disk_full(path, value):
        calls.append(path)
        if len(calls) == 2:  # one data file written, then the disk fills
            raise OSError(28, "No space left on device")
        original(path, value)

    original = site.write_data
    monkeypatch.setattr(site, "write_data", disk_full)
    with pytest.raises(OSError, match="No space left"):
        site.build(history, out, site.Options())
    assert len(calls) == 2
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")]  # no debris


def test_a_malformed_stored_document_costs_its_report_not_the_build(tmp_path):
    db = synthetic_history(tmp_path / "h.sqlite")
    with History(db) as h:
        h.db.execute(
            "UPDATE runs SET doc = ? WHERE kind = 'release'",
            (json.dumps({"kind": "ttfb-compare", "scenarios": [{"name": "lm-cpu"}]}),),
        )
        h.db.execute("UPDATE samples SET phases = 'not json' WHERE id = 1")
    site.build(db, tmp_path / "site", site.Options())
    release = (tmp_path / "site" / "release.html").read_text()
    assert "could not be rebuilt" in release


def test_the_command_line(history, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/lab")
    out = tmp_path / "site"
    code = main(
        [
            "dashboard",
            "--db",
            str(history),
            "-o",
            str(out),
            "--json",
            str(tmp_path / "d.json"),
            "--root",
            str(tmp_path),
            "--last",
            "10",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "3 scenario page(s), 4 report(s), a release page" in printed
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["version"] == 1 and doc["kind"] == "ttfb-dashboard" and doc["files"] > 10
    assert "trend (last 10 runs)" in (out / "index.html").read_text()
    assert (
        main(["dashboard", "--db", str(tmp_path / "none.sqlite"), "-o", str(tmp_path / "x")]) == 2
    )
    assert "error: --db:" in capsys.readouterr().err
