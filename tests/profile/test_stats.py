"""The pure parts of the differential profile: naming frames, folding stacks into milliseconds,
the per-frame change and which rows name it, the call tree, and reading py-spy's raw output."""

from __future__ import annotations

import numpy as np

from bot.exec.profiler import collapsed, main_thread_stacks, records
from bot.report.flame import layout
from bot.stats import profile
from bot.stats.stacks import GC, Frame, flame_tree, fold, name_file, sampled, take_gc, top_frames

ROOT = "/work/repo"
SITE = "/venv/lib/python3.11/site-packages"


def test_files_are_named_by_repository_path_or_by_module():
    assert name_file(f"{ROOT}/examples/trainer/telemetry.py", ROOT) == (
        "examples/trainer/telemetry.py",
        True,
    )
    assert name_file(f"{SITE}/torch/nn/modules/module.py", ROOT) == (
        "torch.nn.modules.module",
        False,
    )
    assert name_file(f"{ROOT}/.venv/lib/python3.11/site-packages/yaml/__init__.py", ROOT) == (
        "yaml",
        False,
    )
    assert name_file("/usr/lib/python3.11/socket.py", ROOT) == ("socket", False)
    assert name_file("<frozen importlib._bootstrap>", ROOT) == ("importlib._bootstrap", False)
    assert name_file("/home/u/.cache/ttfb-lab/probe-1/_ttfb_probe.py", ROOT) == (
        "_ttfb_probe",
        False,
    )


def test_a_function_is_the_same_frame_when_an_edit_moves_its_first_line():
    a = fold({f"main ({ROOT}/t.py:10)": 1}, ROOT)
    b = fold({f"main ({ROOT}/t.py:14)": 1}, ROOT)
    assert list(a) == list(b)


def test_the_probes_work_after_the_first_batch_is_not_part_of_the_profile():
    s = sampled(
        1.0,
        {
            f"main ({ROOT}/t.py:1)": 90,
            f"main ({ROOT}/t.py:1);_first_batch (/c/_ttfb_probe.py:270)": 10,
        },
        ROOT,
    )
    (frame,) = s.inclusive()
    assert frame.function == "main" and s.inclusive()[frame] == 1000.0


def arm(values: list[dict[str, float]], ttfb_ms: float = 1000.0) -> list:
    """Samples whose stacks take ``values`` ms of a ``ttfb_ms`` TTFB (the rest in ``main``)."""
    out = []
    for stacks in values:
        rest = ttfb_ms - sum(stacks.values())
        raw = {f"main ({ROOT}/t.py:1)": rest, **{k: v for k, v in stacks.items()}}
        out.append(sampled(ttfb_ms / 1000, raw, ROOT))
    return out


MAIN = f"main ({ROOT}/t.py:1)"
LOAD = f"{MAIN};load ({ROOT}/t.py:5)"
SLOW = f"{LOAD};slow_key ({ROOT}/t.py:9);Tensor.__repr__ ({SITE}/torch/_tensor.py:400)"


def test_a_new_function_is_the_row_with_its_library_frame_beside_it():
    rng = np.random.default_rng(1)
    base = arm([{LOAD: 100 * rng.uniform(0.9, 1.1)} for _ in range(5)])
    head = arm(
        [{LOAD: 100 * rng.uniform(0.9, 1.1), SLOW: 300 * rng.uniform(0.8, 1.2)} for _ in range(5)],
        ttfb_ms=1300,
    )
    d = profile.differential(base, head)
    top = d.rows[0]
    assert (top.frame.function, top.frame.file, top.frame.line) == ("slow_key", "t.py", 9)
    assert top.library == Frame("Tensor.__repr__", "torch._tensor")
    assert top.ci_low_ms > 200 and 80 < (top.share_pct or 0) < 120
    assert [r.frame.function for r in d.rows] == ["slow_key"]  # load, main carry it


def test_identical_arms_with_noise_have_no_row():
    rng = np.random.default_rng(2)
    for trial in range(20):
        stacks = lambda: {LOAD: 200 * rng.lognormal(0, 0.2), SLOW: 50 * rng.lognormal(0, 0.3)}  # noqa: E731
        base = [arm([stacks()], ttfb_ms=1000 * rng.lognormal(0, 0.15))[0] for _ in range(5)]
        head = [arm([stacks()], ttfb_ms=1000 * rng.lognormal(0, 0.15))[0] for _ in range(5)]
        assert profile.differential(base, head, seed=trial).rows == ()


def test_one_pair_slowed_by_a_neighbour_is_not_a_change():
    base = arm([{LOAD: 200} for _ in range(5)])
    head = arm([{LOAD: 200} for _ in range(4)] + [{LOAD: 900}], ttfb_ms=1000)
    assert profile.differential(base, head).rows == ()


def test_a_function_that_got_faster_is_a_row_with_a_negative_change():
    base = arm([{LOAD: 400} for _ in range(5)])
    head = arm([{LOAD: 100} for _ in range(5)], ttfb_ms=700)
    (row,) = profile.differential(base, head).rows
    assert row.frame.function == "load" and row.delta_ms < -250 and row.ci_high_ms < 0


WARM = f"{MAIN};warm_cache ({ROOT}/t.py:20)"
PICK = f"{MAIN};pick_device ({ROOT}/t.py:30)"


def gc_arm(where: str, *, gc: bool, seed: int) -> list:
    """Five samples of one TTFB in which a full collection (~90 ms) interrupts ``where``: both
    functions do 10 ms of their own work; ``gc`` gives the probe's record of the pauses."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(5):
        pause = 90 * rng.uniform(0.95, 1.05)
        raw = {MAIN: 800.0, WARM: 10.0, PICK: 10.0}
        raw[where] += pause
        pauses = {where: pause * 1000} if gc else {}  # microseconds, as gc.txt has them
        out.append(sampled(sum(raw.values()) / 1000, raw, ROOT, pauses))
    return out


def test_a_collection_that_lands_on_another_function_is_not_a_change_of_either():
    """An unrelated change moves a full collection from one allocating function to another.
    Charged to the functions, both look significant; taken out, neither is, and the
    collections' own change is reported beside the rows."""
    charged = profile.differential(gc_arm(WARM, gc=False, seed=1), gc_arm(PICK, gc=False, seed=2))
    assert {r.frame.function for r in charged.rows} == {"warm_cache", "pick_device"}
    assert charged.gc is None
    d = profile.differential(gc_arm(WARM, gc=True, seed=1), gc_arm(PICK, gc=True, seed=2))
    assert d.rows == ()
    assert d.gc is not None and not d.gc.significant
    assert 85 < d.gc.base_ms < 95 and abs(d.gc.delta_ms) < 10
    assert d.gc_placed_pct == 100.0


def test_a_function_that_allocates_much_is_the_top_row_above_the_collections_it_causes():
    """A memo built per feature (the memo plant of ``benchmarks/profile_locate.py``) costs
    350 ms itself and makes the collector run 420 ms more. Both are rows; the function comes
    first, since a row names where the change lives and the collector is not a place."""
    rng = np.random.default_rng(3)
    memo = f"{MAIN};memo_key ({ROOT}/t.py:70)"

    def arm_of(extra: bool, gc_ms: float) -> list:
        out = []
        for _ in range(5):
            raw = {MAIN: 800.0 * rng.uniform(0.98, 1.02), WARM: 10.0}
            pause = gc_ms * rng.uniform(0.97, 1.03)
            if extra:
                raw[memo] = (350 + pause) * rng.uniform(0.97, 1.03)
                pauses = {memo: pause * 1000}
            else:
                raw[WARM] += pause
                pauses = {WARM: pause * 1000}
            out.append(sampled(sum(raw.values()) / 1000, raw, ROOT, pauses))
        return out

    d = profile.differential(arm_of(False, 100.0), arm_of(True, 520.0))
    assert [r.frame.function for r in d.rows] == ["memo_key", "garbage collection"], d.rows
    assert d.rows[1].delta_ms > d.rows[0].delta_ms  # the larger change, listed second


def test_a_collection_is_taken_from_its_own_stack_first_then_from_those_above_it():
    main = (Frame("main", "t.py", 1, True),)
    warm = (*main, Frame("warm_cache", "t.py", 20, True))
    # a finalizer the collection ran, on top of the stack it stopped
    final = (*warm, Frame("__del__", "t.py", 40, True))
    ms = {main: 500.0, warm: 30.0, final: 60.0}
    out, unplaced = take_gc(ms, {warm: 50.0})
    assert warm not in out  # its own 30 ms went first
    assert out[final] == 40.0 and out[main] == 500.0 and out[(GC,)] == 50.0
    assert unplaced == 0.0
    # more than the stacks hold: they go to zero, never below, and the rest is unplaced
    out, unplaced = take_gc(ms, {warm: 100.0})
    assert final not in out and out[(GC,)] == 90.0 and unplaced == 10.0
    # a stack no sample saw is left where it is
    elsewhere = (*main, Frame("other", "t.py", 50, True))
    out, unplaced = take_gc(ms, {elsewhere: 20.0})
    assert out == ms and unplaced == 20.0


def test_a_collection_matches_a_frame_another_profiler_names_differently():
    """py-spy may name a method without its class, or a nested function without
    ``<locals>``; the probe names them by ``co_qualname``. File and first line agree."""
    s = sampled(
        1.0,
        {MAIN: 900, f"{MAIN};visit ({ROOT}/t.py:60)": 100},
        ROOT,
        {f"{MAIN};install.<locals>.visit ({ROOT}/t.py:60)": 80_000},
    )
    by = {stack[-1].function: ms for stack, ms in s.ms.items()}
    assert round(by["visit"]) == 20 and round(by["garbage collection"]) == 80
    assert s.gc_unplaced_ms == 0.0


def test_the_top_functions_of_one_arm_by_self_and_inclusive_time():
    samples = arm([{LOAD: 300, SLOW: 100}])
    by_self = top_frames(samples, by="self", n=2)
    assert [r.frame.function for r in by_self] == ["main", "load"]
    by_incl = top_frames(samples, by="inclusive", n=4)
    assert [r.frame.function for r in by_incl[:2]] == ["main", "load"]
    assert {r.frame.function for r in by_incl[2:]} == {"slow_key", "Tensor.__repr__"}
    assert by_incl[1].inclusive_ms == 400.0


def test_the_flame_tree_keeps_parents_first_and_fits_children_in_their_caller():
    base = arm([{LOAD: 300}])
    head = arm([{LOAD: 100, SLOW: 200}], ttfb_ms=1000)
    nodes = flame_tree(base, head, min_ms=1.0)
    assert nodes[0].parent == -1 and all(n.parent < i for i, n in enumerate(nodes))
    as_json = [
        [n.parent, n.frame.function, n.frame.file, n.frame.line, n.frame.repo, n.base_ms, n.head_ms]
        for n in nodes
    ]
    rects, height = layout(as_json, width=1000)
    assert height > 0
    by_name = {r.function: r for r in rects}
    load, slow = by_name["load"], by_name["slow_key"]
    assert load.x <= slow.x and slow.x + slow.w <= load.x + load.w + 0.01


LAUNCHER = 'process 10:"python launcher.py";'
WORKER = f'{LAUNCHER}process 12:"python worker.py";'
RAW = (
    f"{LAUNCHER}thread (10);launch (/r/launcher.py:5) 7\n"
    f'{LAUNCHER}process 11:"python -c import x\nprint(1)";thread (11);work (/r/w.py:3) 5\n'
    f"{WORKER}thread (12): MainThread;main (/r/w.py:9);step (/r/w.py:20) 40\n"
    f"{WORKER}thread (13): pin_memory;loop (/r/w.py:30) 40\n"
    f"{WORKER}thread (12) 3\n"
)


def test_py_spy_raw_records_keep_multi_line_command_lines_together():
    got = list(records(RAW))
    assert len(got) == 5 and got[1][1] == 5 and "print(1)" in got[1][0]


def test_the_reporting_processs_main_thread_is_kept():
    assert main_thread_stacks(RAW, 12, every_process=False) == {
        "main (/r/w.py:9);step (/r/w.py:20)": 40.0,
        "": 3.0,
    }
    every = main_thread_stacks(RAW, 12, every_process=True)
    assert every["launch (/r/launcher.py:5)"] == 7 and every["work (/r/w.py:3)"] == 5
    assert "loop (/r/w.py:30)" not in every  # a thread other than the main one


def test_the_in_process_samplers_file_reads_the_same_way():
    assert collapsed("a (/r/t.py:1);b (/r/t.py:4) 1500\n") == {"a (/r/t.py:1);b (/r/t.py:4)": 1500}
