"""Import-time attribution: hand-written traces, real ``-X importtime`` processes, planted
packages."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.stats import importtime as it
from bot.stats import importtrace as tr

Spec = tuple[str, int, list["Spec"]]  # (module, self µs, children)


def render(spec: Spec, depth: int = 0) -> tuple[list[str], int]:
    """The trace lines CPython would print for ``spec`` (children first), and its cumulative."""
    name, self_us, kids = spec
    lines: list[str] = []
    cumulative = self_us
    for kid in kids:
        sub, c = render(kid, depth + 1)
        lines += sub
        cumulative += c
    lines.append(f"import time: {self_us:>9} | {cumulative:>10} | {'  ' * depth}{name}")
    return lines, cumulative


def trace(*roots: Spec) -> str:
    lines = [tr.HEADER]
    for root in roots:
        lines += render(root)[0]
    return "\n".join(lines) + "\n"


def real_trace(code: str, cwd: Path, env: dict[str, str] | None = None) -> tr.ImportTree:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return tr.parse(done.stderr)


HAND_WRITTEN = """\
Traceback-looking noise from the job
import time: self [us] | cumulative | imported package
import time:       241 |        241 |   _io
import time:        53 |         53 |   marshal
import time:       300 |        594 | _frozen_importlib_external
epoch 0: loading data
import time:       120 |        120 |     torch._utils
import time:        12 | garbled
import time:        80 |         80 |    torch.odd_indent
import time:        90 |         10 |     torch.self_above_cumulative
import time:         7 |          7 |     9bad.name
[rank0]:import time:  5 |          5 |     prefixed
import time:       400 |        400 |       torch._C._nested
import time:       500 |        900 |     torch._C
import time:      1206 |       2226 |   torch.nn
import time:      1000 |       3226 | torch
import time:        30 |         30 | tqdm
import time:       12
"""


def test_parse_builds_the_tree_and_ignores_noise_and_garbled_lines():
    tree = tr.parse(HAND_WRITTEN)
    names = [n.name for n in tree.nodes]
    assert names == [
        "_io",
        "marshal",
        "_frozen_importlib_external",
        "torch._utils",
        "torch._C._nested",
        "torch._C",
        "torch.nn",
        "torch",
        "tqdm",
    ]
    assert [tree.nodes[r].name for r in tree.roots] == [
        "_frozen_importlib_external",
        "torch",
        "tqdm",
    ]
    torch = tree.get("torch")
    assert torch is not None and (torch.self_us, torch.cumulative_us, torch.depth) == (
        1000,
        3226,
        0,
    )
    assert [tree.nodes[c].name for c in torch.children] == ["torch.nn"]
    nn = tree.get("torch.nn")
    assert nn is not None
    assert [tree.nodes[c].name for c in nn.children] == ["torch._utils", "torch._C"]
    assert tree.chain("torch._C._nested") == ("torch", "torch.nn", "torch._C", "torch._C._nested")
    assert tree.parent_name("torch") is None and tree.parent_name("torch.nn") == "torch"
    assert {n.name for n in tree.subtree("torch.nn")} == {
        "torch.nn",
        "torch._utils",
        "torch._C",
        "torch._C._nested",
    }
    assert tree.top_level("torch._C") and tree.get("prefixed") is None


def test_parse_keeps_first_occurrences_across_interpreters_and_roots_orphans():
    text = (
        trace(("torch", 900, [("numpy", 300, [])]))
        # a child process (a spawned worker) loads torch again, now with something new in it
        + trace(("torch", 800, [("numpy", 250, []), ("torch.worker_only", 40, [])]), ("x", 5, []))
        # a cut trace: the importer of these never finished
        + "import time:        20 |         20 |     leaf\nimport time:  30 |  50 |   mid\n"
    )
    tree = tr.parse(text)
    assert tree.get("torch") == tr.ImportNode("torch", 900, 1200, 0, None, (0,))
    assert [n.name for n in tree.nodes].count("numpy") == 1
    worker_only = tree.get("torch.worker_only")
    # its importer (the repeat of torch) is dropped: it becomes a root of its own
    assert worker_only is not None and worker_only.parent is None
    assert tree.chain("leaf") == ("mid", "leaf")
    assert tree.top_level("x") and not tree.top_level("leaf")
    assert [tree.nodes[r].name for r in tree.roots] == ["torch", "torch.worker_only", "x", "mid"]


def test_a_repeat_hands_its_children_to_its_importer_not_to_its_sibling():
    text = trace(("json", 10, []), ("app", 5, [("helper", 3, [("new", 7, [])]), ("sib", 2, [])]))
    text = text.replace(" helper\n", " json\n")  # the second "json" is a repeat
    tree = tr.parse(text)
    assert tree.parent_name("new") == "app" and tree.parent_name("sib") == "app"


def test_parse_of_nothing_is_an_empty_forest():
    tree = tr.parse("no trace here\n")
    assert tree.nodes == () and tree.roots == ()


# --- real processes -----------------------------------------------------------------------


def test_real_process_finds_fractions_as_the_only_new_import(tmp_path):
    base = [real_trace("import json, decimal", tmp_path) for _ in range(2)]
    head = [real_trace("import json, decimal, fractions", tmp_path) for _ in range(2)]
    assert base[0].chain("json.scanner") == ("json", "json.decoder", "json.scanner")
    added, removed = it.new_modules(base, head)
    assert [m.name for m in added] == ["fractions"]
    assert removed == ()
    fractions = added[0]
    assert fractions.cumulative_s > 0
    assert fractions.chain == ("fractions",) and fractions.top_level
    assert fractions.modules >= 1 and (fractions.samples, fractions.out_of) == (2, 2)
    # the reverse comparison sees it as removed, and nothing else either way
    back_added, back_removed = it.new_modules(head, base)
    assert back_added == () and [m.name for m in back_removed] == ["fractions"]
    assert it.new_modules(base, base) == ((), ())

    result = it.attribute(base, head, script="train.py")
    assert result.sentences()[0].startswith("head newly imports fractions (≈")
    assert result.sentences()[0].endswith(", first from train.py")
    assert json.loads(json.dumps(result.to_json()))["added"][0]["chain"] == ["fractions"]
    assert any(p.package == "fractions" and p.delta_s > 0 for p in result.packages)


def write_package(root: Path, telemetry_imports: str, script_imports: str) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("from pkg import telemetry\n")
    (root / "pkg" / "telemetry.py").write_text(f"{telemetry_imports}\nREADY = True\n")
    (root / "train.py").write_text(f"import pkg\n{script_imports}\n")


def run_script(root: Path) -> tr.ImportTree:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(
        [sys.executable, "train.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return tr.parse(done.stderr)


def test_real_package_names_the_repository_file_that_imports_the_new_module(tmp_path):
    write_package(tmp_path / "base", "import os", "")
    write_package(tmp_path / "head", "import os\nimport fractions", "import statistics")
    base = [run_script(tmp_path / "base") for _ in range(2)]
    head = [run_script(tmp_path / "head") for _ in range(2)]
    files = it.module_names_for_files(["pkg/__init__.py", "pkg/telemetry.py", "train.py"])
    assert files["pkg"] == "pkg/__init__.py" and files["pkg.telemetry"] == "pkg/telemetry.py"

    added, removed = it.new_modules(base, head)
    by_name = {m.name: m for m in added}
    assert set(by_name) == {"fractions", "statistics"} and removed == ()
    fractions = by_name["fractions"]
    assert fractions.chain == ("pkg", "pkg.telemetry", "fractions")
    assert it.first_repo_file(fractions.chain, files, "train.py") == "pkg/telemetry.py"
    statistics = by_name["statistics"]
    assert statistics.chain == ("statistics",)
    assert it.first_repo_file(statistics.chain, files, "train.py") == "train.py"

    result = it.attribute(base, head, module_files=files, script="train.py")
    located = {m.name: m.first_file for m in result.added}
    assert located == {"fractions": "pkg/telemetry.py", "statistics": "train.py"}
    assert any(s.endswith("first from pkg/telemetry.py") for s in result.sentences())


# --- new_modules on synthetic trees -------------------------------------------------------

SCIPY = ("scipy.stats", 5000, [("scipy", 2000, [("numpy", 900, [])]), ("scipy.special", 800, [])])


def test_only_roots_of_new_subtrees_are_reported_with_their_module_count():
    base = [tr.parse(trace(("numpy", 1000, []), ("pkg", 10, [("pkg.telemetry", 5, [])])))]
    head_text = trace(("numpy", 1000, []), ("pkg", 10, [("pkg.telemetry", 5, [SCIPY])]))
    (added,), removed = it.new_modules(base, [tr.parse(head_text)])
    assert removed == ()
    assert added.name == "scipy.stats"
    assert added.modules == 3  # scipy.stats, scipy, scipy.special; numpy was loaded in base too
    assert added.cumulative_s == pytest.approx(0.0087)  # 5000 + 2000 + 900 (repeat) + 800 µs
    assert added.chain == ("pkg", "pkg.telemetry", "scipy.stats")
    files = it.module_names_for_files(["examples/pkg/__init__.py", "examples/pkg/telemetry.py"])
    assert it.first_repo_file(added.chain, files, "train.py") == "examples/pkg/telemetry.py"


def test_a_new_module_needs_a_majority_of_one_arm_and_none_of_the_other():
    plain = trace(("a", 10, []))
    with_b = trace(("a", 10, []), ("b", 300_000, []))
    with_c = trace(("a", 10, []), ("c", 100, []))
    base = [tr.parse(plain)] * 3
    assert it.new_modules(base, [tr.parse(with_b), tr.parse(plain), tr.parse(plain)]) == ((), ())
    (b,), _ = it.new_modules(base, [tr.parse(with_b), tr.parse(with_b), tr.parse(plain)])
    assert (b.samples, b.out_of) == (2, 3)
    assert it.describe(b) == "head newly imports b (≈300 ms cumulative, 1 module, in 2/3)"
    # c is in one base sample: never new, however often head loads it
    base_c = [tr.parse(with_c), tr.parse(plain), tr.parse(plain)]
    assert it.new_modules(base_c, [tr.parse(with_c)] * 3) == ((), ())
    assert it.new_modules([], [tr.parse(with_b)]) == ((), ())


def test_sentences_for_added_and_removed_modules():
    base = [tr.parse(trace(("app", 1, [("old_dep", 1_500_000, [("old_dep.x", 10, [])])])))]
    head = [tr.parse(trace(("app", 1, [SCIPY])))]
    files = {"app": "app.py"}
    result = it.attribute(base, head, module_files=files, script="main.py")
    assert result.sentences() == [
        "head newly imports scipy.stats (≈8.7 ms cumulative, 4 modules), first from app.py",
        "head no longer imports old_dep (≈1.50 s cumulative, 2 modules), "
        "which base imported from app.py",
    ]
    payload = result.to_json()
    assert payload["base_samples"] == 1 and payload["removed"][0]["name"] == "old_dep"
    assert payload["added"][0]["first_file"] == "app.py"


# --- first_repo_file and module_names_for_files ------------------------------------------


def test_module_names_for_files_gives_every_suffix_and_prefers_the_longest_match():
    names = it.module_names_for_files(
        [
            "examples/trainer/telemetry.py",
            "pkg/__init__.py",
            "src/lib2/mod.py",
            "telemetry.py",
            "a/utils.py",
            "b/utils.py",
            "my-scripts/tool.py",
            "native/_fast.cpython-311-x86_64-linux-gnu.so",
            "README.md",
            "__init__.py",
        ]
    )
    assert names["examples.trainer.telemetry"] == "examples/trainer/telemetry.py"
    assert names["trainer.telemetry"] == "examples/trainer/telemetry.py"
    assert names["telemetry"] == "telemetry.py"  # the whole path beats a suffix of another
    assert names["pkg"] == "pkg/__init__.py"
    assert names["lib2.mod"] == names["src.lib2.mod"] == names["mod"] == "src/lib2/mod.py"
    assert "utils" not in names  # a/utils.py or b/utils.py: not guessed
    assert names["a.utils"] == "a/utils.py"
    assert names["tool"] == "my-scripts/tool.py" and "my-scripts.tool" not in names
    assert names["native._fast"] == names["_fast"] == "native/_fast.cpython-311-x86_64-linux-gnu.so"
    assert set(names.values()) <= {
        "examples/trainer/telemetry.py",
        "pkg/__init__.py",
        "src/lib2/mod.py",
        "telemetry.py",
        "a/utils.py",
        "b/utils.py",
        "my-scripts/tool.py",
        "native/_fast.cpython-311-x86_64-linux-gnu.so",
    }


def test_first_repo_file_walks_up_from_the_importer():
    files = {"trainer": "trainer/__init__.py", "trainer.telemetry": "trainer/telemetry.py"}
    chain = ("trainer", "trainer.telemetry", "scipy.stats")
    assert it.first_repo_file(chain, files, "train.py") == "trainer/telemetry.py"
    chain = ("trainer", "trainer.telemetry", "wandb", "scipy.stats")
    assert it.first_repo_file(chain, files, "train.py") == "trainer/telemetry.py"
    # the module itself is not its own importer
    assert it.first_repo_file(("trainer.telemetry",), files, "train.py") == "train.py"
    assert it.first_repo_file(("torch", "numpy"), files, "train.py") == "train.py"
    assert it.first_repo_file(("torch", "numpy"), files, None) is None
    assert it.first_repo_file(("torch", "numpy"), files, "t.py", top_level=False) is None
    assert it.first_repo_file(("site", "_virtualenv", "x"), files, "train.py") is None
    assert it.first_repo_file((), files, "train.py") is None


# --- package_deltas and top_imports --------------------------------------------------------


def sample(rng: random.Random, slow: int = 0) -> tr.ImportTree:
    def j(us: int) -> int:
        return max(1, int(us * rng.uniform(0.9, 1.1)))

    return tr.parse(
        trace(
            ("torch", j(900_000), [("numpy", j(150_000), []), ("torch._C", j(400_000), [])]),
            ("transformers", j(600_000), [("tokenizers", j(80_000), [])]),
            ("slowpkg", j(20_000) + slow, [("slowpkg.core", j(10_000), [])]),
            ("yaml", j(30_000), []),
        )
    )


def test_package_deltas_find_a_planted_300ms_package_first():
    rng = random.Random(7)
    base = [sample(rng) for _ in range(9)]
    head = [sample(rng, slow=300_000) for _ in range(9)]
    deltas = it.package_deltas(base, head)
    top = deltas[0]
    assert top.package == "slowpkg"
    assert top.delta_s == pytest.approx(0.3, abs=0.01)
    assert top.head_s - top.base_s == pytest.approx(0.3, abs=0.01)
    assert top.pairs == 9
    assert all(abs(d.delta_s) < 0.15 for d in deltas[1:])
    torch = next(d for d in deltas if d.package == "torch")
    assert torch.base_s == pytest.approx(1.45, rel=0.1)  # torch._C and numpy inside, once


def test_package_deltas_pair_samples_and_count_absent_packages_as_zero():
    base = [tr.parse(trace(("a", 100, []))), tr.parse(trace(("a", 300, [])))]
    head = [tr.parse(trace(("a", 150, []), ("b", 50, []))), tr.parse(trace(("a", 340, [])))]
    deltas = {d.package: d for d in it.package_deltas(base, head + head)}
    a, b = deltas["a"], deltas["b"]
    assert (a.base_s, a.head_s, a.delta_s, a.pairs) == pytest.approx((200e-6, 245e-6, 45e-6, 2))
    assert (b.base_s, b.delta_s, b.self_delta_s) == pytest.approx((0, 25e-6, 25e-6))
    assert it.package_deltas([], head) == []


def test_a_package_moved_by_noise_in_one_pair_is_not_consistent():
    """Three pairs: ``slow`` is slower in every one, ``noisy`` gains 40 ms in two pairs and
    loses 30 ms in the third (its median still says +40 ms): only ``slow`` is consistent."""
    base = [tr.parse(trace(("slow", 10_000, []), ("noisy", 100_000, []))) for _ in range(3)]
    head = [
        tr.parse(trace(("slow", 60_000, []), ("noisy", n, []))) for n in (140_000, 140_000, 70_000)
    ]
    deltas = {d.package: d for d in it.package_deltas(base, head)}
    assert deltas["slow"].consistent and deltas["slow"].delta_s == pytest.approx(0.05)
    assert not deltas["noisy"].consistent and deltas["noisy"].delta_s == pytest.approx(0.04)
    assert not it.package_deltas(base[:1], head[:1])[0].consistent  # one pair shows nothing


def test_package_deltas_put_the_package_that_got_slower_before_its_importer():
    base = [tr.parse(trace(("app", 100, [("dep", 1000, [])])))]
    head = [tr.parse(trace(("app", 100, [("dep", 301_000, [])])))]
    deltas = it.package_deltas(base, head)
    assert [d.package for d in deltas] == ["dep", "app"]
    assert deltas[0].delta_s == deltas[1].delta_s == pytest.approx(0.3)
    assert deltas[0].self_delta_s == pytest.approx(0.3) and deltas[1].self_delta_s == 0


def test_top_imports_rank_by_median_cumulative_and_say_what_they_sit_in():
    rng = random.Random(3)
    top = it.top_imports([sample(rng) for _ in range(5)], n=4)
    assert [t.name for t in top] == ["torch", "transformers", "torch._C", "numpy"]
    assert [t.within for t in top] == [None, None, "torch", "torch"]
    assert top[0].cumulative_s > top[0].self_s > 0 and top[0].samples == 5
    assert json.dumps([t.to_json() for t in top])
    assert it.top_imports([], n=3) == []


def test_a_module_docstring_sample_parses_as_documented():
    text = textwrap.dedent(
        """\
        import time: self [us] | cumulative | imported package
        import time:       120 |        120 |     torch._utils
        import time:      1206 |      21034 |   torch
        """
    )
    tree = tr.parse(text)
    assert tree.chain("torch._utils") == ("torch", "torch._utils")
    assert not tree.top_level("torch")  # depth 1 with no importer line: an orphan


TRACE_GC = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |     pkg.small
import time:     90000 |      90100 |   pkg.heavy
import time:      1000 |      91100 | pkg
import time:       500 |        500 | other
"""


def test_a_modules_garbage_collection_leaves_its_self_time_and_its_importers_cumulative():
    tree = tr.own_times(TRACE_GC, {"pkg.heavy": 0.080, "not.listed": 1.0})
    heavy, pkg, other = tree.get("pkg.heavy"), tree.get("pkg"), tree.get("other")
    assert heavy is not None and pkg is not None and other is not None
    assert (heavy.self_us, heavy.cumulative_us) == (10_000, 10_100)
    assert (pkg.self_us, pkg.cumulative_us) == (1000, 11_100)
    assert (other.self_us, other.cumulative_us) == (500, 500)  # a pause elsewhere: untouched
    # a pause larger than the module's own time takes it to zero, never below
    small = tr.own_times(TRACE_GC, {"pkg.small": 5.0}).get("pkg.small")
    assert small is not None and (small.self_us, small.cumulative_us) == (0, 0)
    assert tr.own_times(TRACE_GC, {}) == tr.parse(TRACE_GC)


def test_a_collection_the_change_moved_between_two_imports_is_no_package_delta():
    """Base collects in ``telemetry``'s import, head in ``config``'s: as traced, one package
    loses the pause and the other gains it; counted apart, neither moves."""
    base_trace = "import time:  90000 |  90000 | telemetry\nimport time:  1000 |  1000 | config\n"
    head_trace = "import time:  1000 |  1000 | telemetry\nimport time:  90000 |  90000 | config\n"
    traced = it.package_deltas([tr.parse(base_trace)], [tr.parse(head_trace)])
    assert {d.package for d in traced if abs(d.delta_s) > 0.05} == {"telemetry", "config"}
    base = [tr.own_times(base_trace, {"telemetry": 0.089})]
    head = [tr.own_times(head_trace, {"config": 0.089})]
    assert all(abs(d.delta_s) < 0.001 for d in it.package_deltas(base, head))
