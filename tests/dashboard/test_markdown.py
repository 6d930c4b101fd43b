"""The report renderer: the Markdown the comment templates write, as GitHub reads it, and
nothing a history value holds can become markup."""

from __future__ import annotations

import html.parser

import pytest

from bot.dashboard.markdown import inline, to_html
from bot.report.fmt import md_code, md_text

from ..conftest import GOLDEN


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def tags(text: str) -> Tags:
    parser = Tags()
    parser.feed(text)
    return parser


ALLOWED = {
    "h1",
    "h2",
    "h3",
    "p",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "li",
    "details",
    "summary",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def test_inline_code_emphasis_and_escapes():
    assert inline("**`a|b`**: _why_") == "<strong><code>a|b</code></strong>: <em>why</em>"
    assert inline("snake_case_name stays") == "snake_case_name stays"
    assert inline(r"\*not bold\* and \<b\>") == "*not bold* and &lt;b&gt;"
    assert inline("`` a`b ``") == "<code>a`b</code>"  # a longer fence holds a backtick
    assert inline("an `unclosed span") == "an `unclosed span"
    assert inline("**half open") == "**half open"
    assert inline("**a _b** c_") == "<strong>a _b</strong> c_"  # crossing marks stay text


def test_tables_align_and_read_escaped_pipes_as_pipes():
    out = to_html("| a | b |\n|---|---:|\n| `x\\|y` | 1 |\n")
    assert '<th class="align-right">b</th>' in out
    assert "<td><code>x|y</code></td>" in out
    assert '<td class="align-right">1</td>' in out


def test_blocks_of_the_comment_template():
    out = to_html(
        "<!-- ttfb-lab:report -->\n## TTFB Lab: 1 regression\n\n- one\n- two\n\n"
        "<details><summary>Per-sample numbers</summary>\n\ntext\n\n</details>\n\n"
        "```\n✓ a  <good>\n```\n\n<sub>small print</sub>\n"
    )
    assert "ttfb-lab:report" not in out
    assert "<h2>TTFB Lab: 1 regression</h2>" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<details><summary>Per-sample numbers</summary>" in out and "</details>" in out
    assert "<pre><code>✓ a  &lt;good&gt;</code></pre>" in out
    assert '<p class="fineprint">small print</p>' in out


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="alert(1)">',
        "</details><script>alert(1)</script>",
        "<sub>x</sub>",
        "[link](javascript:alert(1)) ![i](http://x/y.png)",
        "`</code><script>alert(1)</script>`",
        "| cell | injection |",
    ],
)
def test_history_values_never_become_markup(hostile):
    text = (
        f"## {md_text(hostile)}\n\n**{md_code(hostile)}**: {md_text(hostile)}\n\n"
        f"| scenario | verdict |\n|---|---|\n| {md_code(hostile)} | {md_text(hostile)} |\n\n"
        f"- {md_text(hostile)}\n\n<sub>{md_text(hostile)}</sub>\n\n```\n{hostile}\n```\n"
    )
    found = tags(to_html(text))
    assert set(found.tags) <= ALLOWED | {"table"}, found.tags
    assert all(name == "class" for name, _ in found.attrs), found.attrs
    # and the raw text, even unescaped by md_*, stays text
    raw = tags(to_html(f"{hostile}\n\n| a |\n|---|\n| {hostile} |\n"))
    assert set(raw.tags) <= ALLOWED, raw.tags


def test_the_golden_comment_renders_whole():
    out = to_html((GOLDEN / "comment_regression.md").read_text())
    assert out.count("<table>") == 3  # scenarios, phases, per-sample numbers
    assert "🔴 regression" in out and "<details>" in out
    assert set(tags(out).tags) <= ALLOWED
