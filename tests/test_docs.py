"""The docs run. Every block marked ``<!-- run -->`` in ``docs/*.md`` and ``README.md`` is run
as real ``ttfb`` processes in a scratch git repository of the bundled example, and the output it
shows must be what the tool prints (docs/architecture.md, "The docs are tested", describes the
marker). The README stays a front page, every page in ``docs/`` is in ``mkdocs.yml``'s nav, and
the modules the architecture page names exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, commit, git, init_example_repo, plant_config_sleep

TTFB = Path(sys.executable).parent / "ttfb"
DOCS = REPO / "docs"
README = REPO / "README.md"
README_LIMIT = 15_000  # bytes, as `wc -c README.md` counts them
COMMAND_TIMEOUT_S = 180

MARK = re.compile(r"<!--\s*run(?P<opts>(?:\s+[a-z]+=\S+)*)\s*-->")
FENCE = re.compile(r"(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w-]*)")
SHELL_LANGS = ("sh", "bash", "shell")
TTFB_NAMES = ("ttfb", ".venv/bin/ttfb")
# Normalised away before comparing: commit ids, then numbers with their units and comparators.
SHA = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b")
NUMBER = re.compile(
    r"[<=≤≥~]?[-+−±]?\d+(?:,\d{3})*(?:\.\d+)?(?:\s?(?:µs|ms|min|s|h|KB|MB|GB|G|%))?(?!\w)"
)
ELISION = "..."


@dataclass
class Command:
    """One command of a runnable block and the lines the block shows under it."""

    text: str
    expected: list[str] = field(default_factory=list)

    def argv(self) -> list[str]:
        return shlex.split(self.text, comments=True)


@dataclass
class Block:
    where: str
    commands: list[Command]
    exit: int = 0


def _closes(line: str, fence: str) -> bool:
    s = line.strip()
    return s.startswith(fence) and not s.strip(fence[0])


def _commands(body: list[str], lang: str, where: str) -> tuple[list[Command], list[str]]:
    """``console``: ``$ `` starts a command and the lines under it are its output. ``sh``:
    every line is a command. A trailing backslash continues a command on the next line."""
    commands: list[Command] = []
    problems: list[str] = []
    continued = False
    for line in (raw.rstrip() for raw in body):
        if continued:
            commands[-1].text = commands[-1].text[:-1] + " " + line.strip()
        elif lang == "console" and line.startswith("$ "):
            commands.append(Command(line[2:].strip()))
        elif lang == "console":
            if not commands:
                problems.append(f"{where}: output before the first '$ ' command")
            elif line.strip():
                commands[-1].expected.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            commands.append(Command(line.strip()))
        continued = bool(commands) and commands[-1].text.endswith("\\")
    for c in commands:
        argv = c.argv()
        if not argv or argv[0] not in TTFB_NAMES:
            problems.append(f"{where}: a runnable block runs only ttfb, not {c.text!r}")
    if not commands:
        problems.append(f"{where}: a runnable block without a command")
    return commands, problems


def _block(body: list[str], lang: str, opts: str, where: str) -> tuple[Block | None, list[str]]:
    if lang not in ("console", *SHELL_LANGS):
        return None, [f"{where}: a runnable block must be console or sh, not {lang or 'plain'!r}"]
    status = 0
    for opt in opts.split():
        key, _, value = opt.partition("=")
        if key != "exit" or not value.isdigit():
            return None, [f"{where}: unknown marker option {opt!r} (known: exit=N)"]
        status = int(value)
    commands, problems = _commands(body, lang, where)
    return Block(where, commands, status), problems


def parse(text: str, name: str) -> tuple[list[Block], list[str]]:
    """The runnable blocks of one Markdown file, and what is wrong with its markers. A marker
    counts only outside code blocks, and the next non-blank line must open a fenced block."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    marker: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        opening = FENCE.fullmatch(stripped)
        if opening:
            fence, lang = opening["fence"], opening["lang"]
            indent = len(lines[i]) - len(lines[i].lstrip())
            end = i + 1
            while end < len(lines) and not _closes(lines[end], fence):
                end += 1
            if marker is not None:
                body = [line[indent:] for line in lines[i + 1 : end]]
                block, found = _block(body, lang, marker[1], f"{name}:{i + 1}")
                problems += found
                if block is not None:
                    blocks.append(block)
                marker = None
            i = end + 1
            continue
        if marker is not None and stripped:
            problems.append(f"{name}:{marker[0]}: a run marker must come right before a code block")
            marker = None
        found_mark = MARK.fullmatch(stripped)
        if found_mark:
            marker = (i + 1, found_mark["opts"])
        i += 1
    if marker is not None:
        problems.append(f"{name}:{marker[0]}: a run marker at the end of the file")
    return blocks, problems


def normalize(text: str) -> str:
    """Whitespace collapsed, commit ids and numbers (with their units) replaced by symbols."""
    text = NUMBER.sub("#", SHA.sub("<sha>", text))
    return " ".join(text.split())


def shows(expected: str, output: str) -> bool:
    """True if one line of ``output`` holds ``expected``'s pieces between ``...``, in order."""
    pieces = [p for p in (normalize(part) for part in expected.split(ELISION)) if p]
    if not pieces:
        return True
    for line in output.splitlines():
        text, at = normalize(line), 0
        for piece in pieces:
            at = text.find(piece, at)
            if at < 0:
                break
            at += len(piece)
        else:
            return True
    return False


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _collect() -> tuple[list[Block], list[str]]:
    blocks: list[Block] = []
    problems: list[str] = []
    for page in _pages():
        found, wrong = parse(page.read_text(), str(page.relative_to(REPO)))
        blocks += found
        problems += wrong
    return blocks, problems


BLOCKS, PROBLEMS = _collect()


@pytest.fixture
def example_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scratch repository docs/getting-started.md describes: ``main`` holds the bundled
    example and scenarios; the checked-out branch, ``collector``, makes config loading wait
    200 ms. Commit dates are fixed, so a head commit (selection's exploration seed) depends
    only on the files."""
    for var in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(var, "2025-01-01T00:00:00+0000")
    names = [p.stem for p in sorted((REPO / "scenarios").glob("*.yaml"))]
    repo = init_example_repo(tmp_path / "repo", copy=names)
    commit(repo, "Example trainer")
    git(repo, "checkout", "--quiet", "-b", "collector")
    plant_config_sleep(repo, 0.2, "waits for the metrics collector")
    commit(repo, "Send the config to the metrics collector")
    return repo


def _run(command: Command, repo: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["COLUMNS"] = "80"  # argparse wraps --help to the terminal's width
    env["PATH"] = f"{TTFB.parent}{os.pathsep}{env.get('PATH', '')}"
    argv = command.argv()
    return subprocess.run(
        [str(TTFB), *argv[1:]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_runnable_block(block: Block, example_repo: Path) -> None:
    for n, command in enumerate(block.commands, 1):
        proc = _run(command, example_repo)
        output = f"{proc.stdout}\n{proc.stderr}"
        status = block.exit if n == len(block.commands) else 0
        context = f"{block.where}: $ {command.text}\n--- output ---\n{output[-4000:]}"
        assert proc.returncode == status, f"exit {proc.returncode}, expected {status}\n{context}"
        missing = [line for line in command.expected if not shows(line, output)]
        assert not missing, f"not printed: {missing}\n{context}"


def test_run_markers_are_well_formed() -> None:
    assert not PROBLEMS, "\n".join(PROBLEMS)


def test_the_main_pages_have_runnable_blocks() -> None:
    pages = {b.where.rsplit(":", 1)[0] for b in BLOCKS}
    wanted = {
        "README.md",
        "docs/getting-started.md",
        "docs/measure.md",
        "docs/compare.md",
        "docs/shrink.md",
        "docs/selection.md",
    }
    assert wanted <= pages, f"no runnable block left in {sorted(wanted - pages)}"


SAMPLE = """\
Text.

```markdown
<!-- run -->
```

<!-- run exit=1 -->
```console
$ ttfb compare --pairs 4 \\
    --max-pairs 4
REGRESSION  x: head is 205.6% slower (95% CI +124.8% … +327.1%, p=0.007, 4 pairs)... — confirmed
...
$ ttfb report out/results.json
```

<!-- run -->
```sh
ttfb select --base main   # a comment
```

<!-- run -->
Not a block.

<!-- run -->
```python
print("no")
```
"""


def test_parse_finds_blocks_commands_and_their_output() -> None:
    blocks, problems = parse(SAMPLE, "sample.md")
    assert [b.where for b in blocks] == ["sample.md:8", "sample.md:17"]
    first, second = blocks
    assert first.exit == 1 and second.exit == 0
    assert [c.text for c in first.commands] == [
        "ttfb compare --pairs 4  --max-pairs 4",
        "ttfb report out/results.json",
    ]
    assert first.commands[0].expected[1] == "..." and not first.commands[1].expected
    assert second.commands[0].argv() == ["ttfb", "select", "--base", "main"]
    assert problems == [
        "sample.md:21: a run marker must come right before a code block",
        "sample.md:25: a runnable block must be console or sh, not 'python'",
    ]
    assert parse("<!-- run -->\n```sh\ngit status\n```\n", "x.md")[1] == [
        "x.md:2: a runnable block runs only ttfb, not 'git status'"
    ]


def test_shows_ignores_numbers_and_ids_but_not_words() -> None:
    expected = SAMPLE.splitlines()[10]
    printed = (
        "base: 085b9fa Example trainer\n"
        "REGRESSION  x: head is 311.4% slower (95% CI +296.6% … +326.1%, p<0.001, 10 pairs); "
        "phases +302.5% of TTFB net — confirmed\n"
    )
    assert shows(expected, printed)
    assert shows("base: 1bd7082 Example trainer", printed)
    assert not shows(expected, printed.replace("slower", "faster"))
    assert not shows(expected, printed.replace("confirmed", "not reproduced"))
    assert shows("  TTFB  231 ms  (n=2)", "  TTFB  1.02 s  (n=10)")
    assert not shows("first batch detected by: mark:config_loaded", "detected by: forward ×3")


def test_readme_is_a_front_page() -> None:
    text = README.read_text()
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"
    assert "make demo" in text and "make test" in text
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert any(t.startswith("docs/") for t in local), "the README should link into docs/"
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def _nav_pages(entries: object) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in _nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in _nav_pages(value)]
    return []


def test_every_page_is_in_nav() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == pages, "docs/ and mkdocs.yml's nav must list the same pages"
    assert len(nav) == len(set(nav)), "a page is in nav twice"


PACKAGES = "ab|bisect|cli|dashboard|exec|gh|probe|report|selection|shrink|stats|store"


def test_architecture_names_modules_that_exist() -> None:
    text = (DOCS / "architecture.md").read_text()
    paths = set(re.findall(r"\bbot/[\w/]+\.py\b", text))
    dotted = {
        f"bot/{pkg}/{mod}"
        for pkg, mod in re.findall(rf"(?<![\w.])({PACKAGES})\.(?!md\b)([a-z_]+)\b", text)
    }
    suffixed = set(re.findall(r"\b[a-z]+_(?:view|flow|job|doc|db|model|sim|repo|cmd)\b", text))
    missing = [p for p in sorted(paths) if not (REPO / p).is_file()]
    missing += [m for m in sorted(dotted) if not (REPO / f"{m}.py").is_file()]
    missing += [m for m in sorted(suffixed) if not list((REPO / "bot").glob(f"*/{m}.py"))]
    assert dotted and suffixed, "the architecture page should name modules"
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
