"""Resampled A/A blocks with planted shifts: the executor sensitivity and calibration use."""

from __future__ import annotations

import pytest

from bot.exec.resample import BlockResampler, Plant, blocks_from_log, shifted
from bot.model import Job, Sample

S = Sample(
    "ok",
    ttfb_s=2.0,
    cpu_s=1.8,
    phases={"interpreter_ready": 0.03, "import_torch": 1.2, "first_batch": 2.0},
    wall_s=2.1,
)


def test_shift_lands_after_the_named_phase():
    out = shifted(S, 0.2, after_phase="interpreter_ready", cpu=False)
    assert out.phases == {
        "interpreter_ready": 0.03,
        "import_torch": pytest.approx(1.4),
        "first_batch": pytest.approx(2.2),
    }
    assert out.ttfb_s == pytest.approx(2.2) and out.cpu_s == 1.8
    busy = shifted(S, 0.2, after_phase="import_torch", cpu=True)
    assert busy.phases["import_torch"] == 1.2 and busy.cpu_s == pytest.approx(2.0)


def test_resampler_draws_whole_blocks_and_plants_in_head_only():
    blocks = [
        [
            Sample("ok", ttfb_s=float(b * 10 + i), phases={"first_batch": float(b * 10 + i)})
            for i in range(4)
        ]
        for b in range(1, 4)
    ]
    ex = BlockResampler(blocks, plant=Plant(delay_s=0.5), seed=3)
    base, head = Job(argv=(), cwd=".", label="base"), Job(argv=(), cwd=".", label="head")
    ex.new_block()
    got = [ex.run(base), ex.run(head), ex.run(head), ex.run(base)]
    block = int(got[0].ttfb_s // 10)
    assert [g.ttfb_s for g in got] == [
        block * 10,
        block * 10 + 1.5,
        block * 10 + 2.5,
        block * 10 + 3,
    ]


def draws(blocks, seed: int, n: int = 40) -> list[float]:
    ex = BlockResampler(blocks, seed=seed)
    job = Job(argv=(), cwd=".", label="base")
    return [ex.run(job).ttfb_s for _ in range(n)]


def test_the_seed_fixes_the_draw_and_another_seed_changes_it():
    blocks = [
        [Sample("ok", ttfb_s=float(b * 10 + i), phases={"first_batch": 0.0}) for i in range(4)]
        for b in range(1, 9)
    ]
    assert draws(blocks, 3) == draws(blocks, 3)
    assert draws(blocks, 3) != draws(blocks, 4)
    # every block is drawn whole: each run of four values is one block's, in order
    got = draws(blocks, 5)
    for i in range(0, len(got), 4):
        block = int(got[i] // 10)
        assert got[i : i + 4] == [block * 10 + k for k in range(4)]


def test_incomplete_blocks_are_rejected():
    with pytest.raises(ValueError):
        BlockResampler([[S, S, S]])


def test_blocks_from_log():
    samples = [S] * 6
    assert blocks_from_log(samples, [-1, 0, 0, 1, 1, 1]) == [[S, S], [S, S, S]]
