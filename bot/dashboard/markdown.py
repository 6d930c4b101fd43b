"""Markdown → HTML for the reports TTFB Lab writes itself. Pure.

Not a general Markdown renderer: the subset ``templates/comment.md.j2`` and
``release.md.j2`` produce, read the way GitHub reads it — ATX headings, paragraphs, pipe
tables with their column alignment (``\\|`` in a cell is a pipe), bullet lists, fenced code,
code spans (any fence length), backslash escapes, ``**strong**`` and ``_emphasis_``, and the
templates' own lines ``<details><summary>…</summary>``, ``</details>``, ``<sub>…</sub>`` and
``<!-- … -->``. Anything else is text.

Every character of the input that reaches the output is HTML-escaped, and the only tags are
the ones this module writes, so history data inside a report (scenario names, commit
messages, error text) can never become markup, whatever Markdown it holds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")
SUMMARY = re.compile(r"^<details><summary>(.*)</summary>$")
SUB = re.compile(r"^<sub>(.*)</sub>$")
COMMENT = re.compile(r"^<!--.*-->$")
CELL_SPLIT = re.compile(r"(?<!\\)\|")
BACKTICKS = re.compile(r"`+")
PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, value): ``text``, ``code`` or a mark (``**``, ``_``)."""
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in PUNCTUATION:
            buf.append(text[i + 1])
            i += 2
            continue
        if c == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            close = _closing_fence(text, i + run, run)
            if close < 0:
                buf.append("`" * run)
                i += run
                continue
            if buf:
                yield "text", "".join(buf)
                buf = []
            content = text[i + run : close]
            if len(content) > 2 and content[0] == content[-1] == " " and content.strip():
                content = content[1:-1]
            yield "code", content
            i = close + run
            continue
        if text.startswith("**", i) or (c == "_" and _flanking(text, i)):
            if buf:
                yield "text", "".join(buf)
                buf = []
            mark = "**" if c == "*" else "_"
            yield mark, mark
            i += len(mark)
            continue
        buf.append(c)
        i += 1
    if buf:
        yield "text", "".join(buf)


def _closing_fence(text: str, start: int, run: int) -> int:
    """Where a backtick run of exactly ``run`` closes the span opened before ``start``."""
    for m in BACKTICKS.finditer(text, start):
        if len(m[0]) == run:
            return m.start()
    return -1


def _flanking(text: str, i: int) -> bool:
    """An underscore that can open or close emphasis: not inside a word."""
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not (before.isalnum() and after.isalnum())


def inline(text: str) -> str:
    """One line of inline Markdown as escaped HTML."""
    tokens = list(_tokens(text))
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for k, (kind, _) in enumerate(tokens):
        if kind not in ("**", "_"):
            continue
        opener = next((j for j in reversed(range(len(stack))) if tokens[stack[j]][0] == kind), -1)
        if opener < 0:
            stack.append(k)
            continue
        start = stack[opener]
        del stack[opener:]  # marks opened inside a closed pair stay literal
        pairs[start], pairs[k] = k, start
    tags = {"**": "strong", "_": "em"}
    out = []
    for k, (kind, value) in enumerate(tokens):
        if kind == "code":
            out.append(f"<code>{escape(value)}</code>")
        elif kind in tags and k in pairs:
            out.append(f"<{tags[kind]}>" if pairs[k] > k else f"</{tags[kind]}>")
        else:
            out.append(escape(value))
    return "".join(out)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in CELL_SPLIT.split(body)]


def _alignment(cell: str) -> str:
    cell = cell.strip()
    if cell.startswith(":") and cell.endswith(":"):
        return "center"
    if cell.endswith(":"):
        return "right"
    return "left" if cell.startswith(":") else ""


def table(lines: Sequence[str]) -> str:
    """A pipe table: header, separator, rows (as GitHub: missing cells are empty)."""
    header = _cells(lines[0])
    align = [_alignment(c) for c in _cells(lines[1])]
    align += [""] * (len(header) - len(align))

    def row(cells: list[str], tag: str) -> str:
        cells = (cells + [""] * len(header))[: len(header)]
        parts = []
        for cell, a in zip(cells, align, strict=False):
            style = f' class="align-{a}"' if a else ""
            parts.append(f"<{tag}{style}>{inline(cell)}</{tag}>")
        return "<tr>" + "".join(parts) + "</tr>"

    body = "".join(row(_cells(x), "td") for x in lines[2:])
    return (
        f'<div class="table-wrap"><table><thead>{row(header, "th")}</thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def to_html(markdown: str) -> str:
    """The whole document (see the module docstring)."""
    lines = markdown.split("\n")
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("```"):
            flush()
            code = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            i += 1
            out.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
        elif line.startswith("|") and i < len(lines) and TABLE_SEPARATOR.match(lines[i].strip()):
            flush()
            start = i - 1
            while i < len(lines) and lines[i].strip().startswith("|"):
                i += 1
            out.append(table([x.strip() for x in lines[start:i]]))
        elif line.startswith("- "):
            flush()
            items = [line[2:]]
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(lines[i].strip()[2:])
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(x)}</li>" for x in items) + "</ul>")
        else:
            out.extend(_line(line, flush, para))
    flush()
    return "\n".join(out) + "\n"


def _line(line: str, flush: Callable[[], None], para: list[str]) -> list[str]:
    """The HTML of one line that is not part of a block (or [] when it joins a paragraph)."""
    heading = HEADING.match(line)
    summary = SUMMARY.match(line)
    sub = SUB.match(line)
    if not line or COMMENT.match(line):
        flush()
        return []
    if heading:
        flush()
        level = len(heading[1])
        return [f"<h{level}>{inline(heading[2])}</h{level}>"]
    if summary:
        flush()
        return [f"<details><summary>{inline(summary[1])}</summary>"]
    if line == "</details>":
        flush()
        return ["</details>"]
    if sub:
        flush()
        return [f'<p class="fineprint">{inline(sub[1])}</p>']
    para.append(line)
    return []
