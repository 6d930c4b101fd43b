"""The shape of ``bot/``, checked: pure cores stay pure, packages only import downwards, one
adapter per outside system, no import cycles, no god functions.

Imports are read with ``ast``, function-local ones included (a cycle hidden inside a function
is still a cycle).
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

BOT = REPO / "bot"
FORBIDDEN_IN_PURE = {"subprocess", "sqlite3", "github", "requests", "shutil", "socket", "urllib3"}
IMPURE_PACKAGES = {"bot.exec", "bot.store", "bot.gh", "bot.ab", "bot.report", "bot.cli", "bot.git"}
PURE = (
    "bot.model",
    "bot.errors",
    "bot.results",
    "bot.jsondoc",
    "bot.stats",
    "bot.selection",
    "bot.shrink.rules",
    "bot.shrink.auto",
    "bot.shrink.spec",
    "bot.shrink.argv",
    "bot.shrink.literal",
    "bot.shrink.pyconfig",
    "bot.shrink.hydra",
    "bot.shrink.cmdline",
    "bot.bisect.search",
    "bot.bisect.bisect_doc",
)
# What each package may import from bot/ (its own modules always): the layers, bottom up.
ALLOWED = {
    "bot.errors": set(),
    "bot.atomic": set(),
    "bot.credentials": set(),
    "bot.probe": set(),
    "bot.model": {"bot.errors"},
    "bot.git": {"bot.errors"},
    "bot.stats": {"bot.errors", "bot.model"},
    # typed JSON documents (read checked, written back as they were read)
    "bot.jsondoc": {"bot.errors", "bot.model"},
    # the results document's typed model: written by bot.ab, read by reports and the dashboard
    "bot.results": {"bot.errors", "bot.model", "bot.stats", "bot.jsondoc"},
    "bot.shrink": {"bot.errors", "bot.model", "bot.probe", "bot.atomic", "bot.credentials"},
    "bot.scenarios": {"bot.errors", "bot.model", "bot.shrink"},
    "bot.selection": {"bot.errors", "bot.model", "bot.scenarios", "bot.shrink"},
    "bot.exec": {"bot.errors", "bot.model", "bot.probe", "bot.credentials"},
    "bot.store": {"bot.errors", "bot.model", "bot.selection", "bot.stats", "bot.atomic"},
    "bot.report": {
        "bot.errors",
        "bot.model",
        "bot.selection",
        "bot.stats",
        "bot.store",
        "bot.atomic",
    },
    "bot.ab": {
        "bot",
        "bot.errors",
        "bot.model",
        "bot.stats",
        "bot.exec",
        "bot.scenarios",
        "bot.shrink",
        "bot.store",
        "bot.git",
        "bot.atomic",
        "bot.credentials",
    },
    "bot.bisect": {
        "bot.errors",
        "bot.model",
        "bot.stats",
        "bot.scenarios",
        "bot.store",
        "bot.git",
        "bot.ab",
    },
    "bot.dashboard": {
        "bot",
        "bot.errors",
        "bot.model",
        "bot.stats",
        "bot.store",
        "bot.report",
        "bot.git",
        "bot.atomic",
    },
}
ALLOWED["bot.pipeline"] = set(ALLOWED) | {"bot", "bot.bisect", "bot.report", "bot.dashboard"}
for _upper in ("bot.store", "bot.report", "bot.ab", "bot.bisect", "bot.dashboard", "bot.pipeline"):
    ALLOWED[_upper].add("bot.results")
ALLOWED["bot.ab"].add("bot.report")  # the pipeline writes a comparison's rendered outputs
ALLOWED["bot.gh"] = set(ALLOWED) | {"bot", "bot.bisect", "bot.report", "bot.pipeline"}
ALLOWED["bot.cli"] = set(ALLOWED) | {"bot", "bot.gh"}
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(BOT.rglob("*.py")):
        if "probe/site" in path.as_posix():  # injected into jobs: checked by the probe rule
            continue
        yield module_name(path), path, ast.parse(path.read_text())


def imports(name: str, path: Path, tree: ast.Module, known: set[str] | None = None) -> set[str]:
    """Every module ``name`` imports, anywhere in the file, relative imports resolved.

    ``from pkg import sub`` counts as importing ``pkg.sub`` when that is a module (in
    ``known``), else as importing ``pkg``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                found.add(sub if known is not None and sub in known else module)
    return found


@functools.cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of bot/ (the probe's site folder aside), parsed once per process, on
    first use: parsing all of bot/ at import would cost every worker that merely collects
    this file ~0.6 CPU-s."""
    return {name: (path, tree) for name, path, tree in sources()}


@functools.cache
def graph() -> dict[str, set[str]]:
    """Which modules of bot/ each one imports."""
    known = set(modules())
    return {
        name: {m for m in imports(name, path, tree, known) if m in known and m != name}
        for name, (path, tree) in modules().items()
    }


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


@pytest.mark.parametrize("pure", PURE)
def test_pure_cores_import_no_io_and_nothing_impure(pure):
    inside = [m for m in modules() if m == pure or m.startswith(pure + ".")]
    assert inside, pure
    for name in inside:
        path, tree = modules()[name]
        mods = imports(name, path, tree, set(modules()))
        top = {m.split(".")[0] for m in mods}
        assert not top & FORBIDDEN_IN_PURE, f"{name} imports {sorted(top & FORBIDDEN_IN_PURE)}"
        impure = {m for m in mods if any(m == p or m.startswith(p + ".") for p in IMPURE_PACKAGES)}
        assert not impure, f"{name} (pure) imports {sorted(impure)}"


def test_packages_only_import_downwards():
    wrong = []
    for name, deps in graph().items():
        own = package_of(name)
        allowed = ALLOWED.get(own)
        if allowed is None:  # bot/__init__.py
            continue
        for dep in deps:
            other = package_of(dep)
            if other != own and other not in allowed:
                wrong.append(f"{name} → {dep}")
    assert not wrong, "upward or sideways imports:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    """Tarjan-free check: a depth-first search finds any back edge."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph()[m]):
            if state.get(d) == 1:
                cycle = [*stack[stack.index(d) :], d]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph()):
        if m not in state:
            visit(m)


def test_pygithub_is_imported_by_the_github_adapter_only():
    users = sorted(
        name
        for name, (path, tree) in modules().items()
        if any(m == "github" or m.startswith("github.") for m in imports(name, path, tree))
    )
    assert users == ["bot.gh.api"]


def test_torch_is_never_imported_by_the_bot():
    users = [
        name
        for name, (path, tree) in modules().items()
        if any(m.split(".")[0] == "torch" for m in imports(name, path, tree))
    ]
    assert users == []


def test_no_god_functions_and_no_huge_modules():
    too_long = []
    for name, (path, tree) in modules().items():
        lines = path.read_text().count("\n")
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {size} lines")
    assert not too_long, "\n".join(too_long)


def test_the_checks_see_a_violation():
    """The import reader resolves what the rules are about (so the rules can fail)."""
    tree = ast.parse("from ..store import history_db\nimport subprocess\nfrom . import paired\n")
    found = imports("bot.stats.verdict", BOT / "stats" / "verdict.py", tree, set(modules()))
    assert {"bot.store.history_db", "subprocess", "bot.stats.paired"} <= found
    assert {"bot.stats.verdict", "bot.store.history_db"} <= {
        m for m in found | {"bot.stats.verdict"} if m in graph()
    }


ENGINE = ("bot.ab", "bot.bisect", "bot.exec")


def test_the_command_line_reaches_the_engine_only_through_the_pipelines():
    """``bot/cli`` builds typed options and calls ``bot.pipeline``; it imports nothing from the
    engine's packages, so it cannot grow a second copy of "run, then write the outputs"."""
    wrong = sorted(
        f"{name} → {dep}"
        for name, deps in graph().items()
        if package_of(name) == "bot.cli"
        for dep in deps
        if package_of(dep) in ENGINE
    )
    assert not wrong, "\n".join(wrong)


def test_nothing_below_the_command_line_sees_argparse():
    users = sorted(
        name
        for name, (path, tree) in modules().items()
        if package_of(name) != "bot.cli" and "argparse" in imports(name, path, tree)
    )
    assert users == []


def _calls(tree: ast.AST, func: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == func:
            yield node


def _named(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def test_no_option_or_executor_is_probed_by_name():
    """No ``getattr(args, "x", default)`` that hides a misspelt option, and no engine code that
    asks what kind of executor it holds: what an executor can do is its protocol."""
    found = []
    for name, (_path, tree) in modules().items():
        if name == "bot.cli.args":  # reads each declared option field from the namespace
            continue
        for fn in ("getattr", "hasattr"):
            for call in _calls(tree, fn):
                if call.args and _named(call.args[0]) in ("args", "ns", "executor"):
                    found.append(f"{name}:{call.lineno} {fn}({_named(call.args[0])}, …)")
        for call in _calls(tree, "isinstance"):
            if len(call.args) == 2 and "Executor" in ast.unparse(call.args[1]):
                found.append(f"{name}:{call.lineno} isinstance(…, {ast.unparse(call.args[1])})")
    assert not found, "\n".join(sorted(found))


def test_scripted_samples_are_chosen_in_one_place():
    users = sorted(
        name
        for name, deps in graph().items()
        if "bot.exec.scripted" in deps and name != "bot.exec.scripted"
    )
    assert users == ["bot.pipeline.options"]


PROBE_SITE = BOT / "probe" / "site"


@pytest.mark.parametrize("path", sorted(PROBE_SITE.glob("*.py")), ids=lambda p: p.name)
def test_the_probe_is_standard_library_python_3_8(path):
    """What is injected into measured jobs must import in any interpreter a job may use (3.8
    and newer) and bring nothing of its own: standard-library imports only."""
    import sys

    tree = ast.parse(path.read_text(), feature_version=(3, 8))
    local = {p.stem for p in PROBE_SITE.glob("*.py")}
    outside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        for m in names:
            top = m.split(".")[0]
            if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                outside.add(m)
    # torch is looked up in sys.modules, never imported by the probe
    assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_probe_check_sees_a_violation(tmp_path):
    bad = "import numpy\nx = (y := 3)\n"
    with pytest.raises(SyntaxError):
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 8))
    tree = ast.parse(bad, feature_version=(3, 8))
    import sys

    tops = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert tops - set(sys.stdlib_module_names) == {"numpy"}


def test_the_recorded_durations_name_test_modules_that_exist():
    """``tests/durations.json`` orders the workers' modules (``make durations`` rewrites it): a
    renamed or deleted module would keep a weight that no longer means anything."""
    from .conftest import DURATIONS

    recorded = json.loads(DURATIONS.read_text())
    gone = [m for m in recorded if not (REPO / m).is_file()]
    assert not gone, f"{gone}: run `make durations` and commit tests/durations.json"
    assert all(isinstance(s, (int, float)) and s >= 0 for s in recorded.values())
