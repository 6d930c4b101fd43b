"""The dashboard's pure views: trend points, sessions, the release, downsampling, the data."""

from __future__ import annotations

import json

import pytest

from bot.dashboard import pages, sessions, trend
from bot.dashboard.markdown import to_html
from bot.dashboard.reports import (
    compare_document,
    compare_markdown,
    phase_rows,
    release_markdown,
    scenario_entry,
)
from bot.dashboard.site import js_json
from bot.model import Verdict
from bot.stats.summary import median_ci_ranks
from bot.store import scan
from bot.store.history_db import History

from .conftest import HOSTILE, C


def loaded(path):
    with History(path) as h:
        return scan.runs(h), dict(scan.samples(h)), scan.latest_calibrations(h)


def test_a_compare_point_is_its_head_arm_with_the_order_statistic_ci(history):
    runs, samples, _ = loaded(history)
    run = next(r for r in runs if r["kind"] == "compare" and r["verdict"] == "regression")
    p = trend.point(run, samples[run["id"]])
    heads = sorted(s["ttfb_s"] for s in samples[run["id"]] if s["arm"] == "head")
    lo, hi = median_ci_ranks(len(heads))
    assert p.n == 6 and p.median_s == pytest.approx((heads[2] + heads[3]) / 2)
    assert (p.ci_low_s, p.ci_high_s) == (heads[lo], heads[hi])
    assert p.base_median_s == pytest.approx(2.0)
    assert p.rev == C[3] and p.base_rev == C[2] and p.verdict == "regression"
    assert p.phase_at["first_batch"] == pytest.approx(p.median_s)


def test_calibrate_points_use_both_arms_and_measure_its_single_arm(history):
    runs, samples, _ = loaded(history)
    cal = next(r for r in runs if r["kind"] == "calibrate")
    measure = next(r for r in runs if r["kind"] == "measure")
    assert trend.point(cal, samples[cal["id"]]).n == 12
    m = trend.point(measure, samples[measure["id"]])
    assert m.n == 5 and m.base_rev is None and m.verdict is None


def test_a_run_without_samples_is_still_a_point():
    run = {
        "id": 1,
        "uid": "u",
        "kind": "compare",
        "created": "c",
        "head_rev": "a",
        "base_rev": "b",
        "verdict": "broken",
    }
    p = trend.point(run, [])
    assert p.n == 0 and p.median_s is None and p.verdict == "broken"


def test_phases_are_ordered_as_reached_and_stack_to_the_first_batch(history):
    runs, samples, _ = loaded(history)
    points = [
        trend.point(r, samples.get(r["id"], [])) for r in runs if r["kind"] in trend.TREND_KINDS
    ]
    order = trend.phase_order(points)
    assert order == ("interpreter_ready", "config_loaded", "model_built", "first_batch")
    p = points[0]
    assert sum(trend.segments(p, order)) == pytest.approx(p.phase_at["first_batch"])


def test_series_group_by_scenario_and_runner_with_safe_unique_keys(history):
    runs, samples, _ = loaded(history)
    series = trend.build_series(
        (r["scenario"], r["runner"], trend.point(r, samples.get(r["id"], [])))
        for r in runs
        if r["kind"] in trend.TREND_KINDS
    )
    keys = {(s.scenario, s.runner): s for s in series}
    assert (
        len(keys[("lm-cpu", "ubuntu-latest")].points) == 5
    )  # calibrate, 2 compares, measure, release
    assert len(keys[("lm-cpu", "gpu-a100")].points) == 1
    assert all(ch.isalnum() or ch in "_.-" for s in series for ch in s.key)
    assert len({s.key for s in series}) == len(series)
    assert keys[(HOSTILE, "ubuntu-latest")].key != keys[("lm-cpu", "ubuntu-latest")].key


def test_sessions_group_one_compare_and_split_reruns():
    def run(i, scenario, head="h"):
        return {
            "id": i,
            "uid": f"u{i}",
            "kind": "compare",
            "created": f"t{i}",
            "scenario": scenario,
            "base_rev": "b",
            "head_rev": head,
            "runner": "r",
            "verdict": "no_change",
        }

    runs = [run(1, "a"), run(2, "b"), run(3, "a"), run(4, "x", head="other"), run(5, "b")]
    got = sessions.group(runs)
    assert [s.scenarios for s in got] == [["a", "b"], ["a", "b"], ["x"]]
    assert len({s.id for s in got}) == 3 and all(len(s.id) == 12 for s in got)
    rows = sessions.comparison_rows(got)
    assert [r["order"] for r in rows] == [5, 4, 3, 2, 1]  # newest first


def test_the_last_release_has_its_bisects_and_gate(history):
    runs, _, _ = loaded(history)
    release = sessions.latest_release(sessions.group(runs), runs)
    assert release is not None and release.session.kind == "release"
    assert sorted(release.session.scenarios) == sorted([HOSTILE, "lm-cpu"])
    assert [b["scenario"] for b in release.bisects] == ["lm-cpu"]
    state, description = release.gate
    assert state == "failure" and "lm-cpu (regression)" in description


def test_a_release_across_runner_pools_is_one_session_with_a_runner_column():
    def run(i, scenario, runner, kind="release"):
        return {
            "id": i,
            "uid": f"u{i}",
            "kind": kind,
            "created": f"t{i}",
            "scenario": scenario,
            "base_rev": "b",
            "head_rev": "h",
            "runner": runner,
            "verdict": "no_change",
        }

    runs = [run(1, "cpu-one", "ubuntu-latest"), run(2, "gpu-one", "self-hosted-gpu")]
    (session,) = sessions.group(runs)  # the gate records each pool under its own label
    assert session.scenarios == ["cpu-one", "gpu-one"]
    release = sessions.latest_release([session], runs)
    assert release is not None
    text = release_markdown(release, {r["uid"]: scenario_entry(r, []) for r in runs})
    assert "| `gpu-one` |" in text and text.count("| `self-hosted-gpu` |") == 1
    # compares on two runners stay two sessions: each its own report
    compares = [run(1, "a", "r1", "compare"), run(2, "a", "r2", "compare")]
    assert len(sessions.group(compares)) == 2


def test_no_release_without_release_runs():
    assert sessions.latest_release([], []) is None


def test_the_report_is_the_comment_of_the_session(history):
    runs, samples, _ = loaded(history)
    got = sessions.group(runs)
    two = next(s for s in got if len(s.runs) == 2 and s.kind == "compare")
    entries = {r["uid"]: scenario_entry(r, samples.get(r["id"], [])) for r in two.runs}
    doc = compare_document(two, entries)
    assert doc.base.label == C[1][:12] and doc.head.revision == C[2]
    md = compare_markdown(two, entries)
    assert md.startswith("<!-- ttfb-lab:report -->\n## TTFB Lab: 1 inconclusive, 1 no change")
    assert "reason not recorded in the history" in md
    assert f"`{HOSTILE}`" in md  # a code span: inert in Markdown…
    assert "<img" not in to_html(md) and "&lt;img src=x" in to_html(md)  # …and in HTML


def test_phase_rows_are_medians_of_the_stored_pairs(history):
    runs, samples, _ = loaded(history)
    run = next(r for r in runs if r["kind"] == "compare" and r["verdict"] == "regression")
    rows = phase_rows(samples[run["id"]])
    assert [r.label for r in rows][:2] == [
        "submit → interpreter_ready",
        "interpreter_ready → config_loaded",
    ]
    total = sum(r.delta_s for r in rows[:-1])
    assert total == pytest.approx(0.4, abs=0.02)  # head is 400 ms slower, spread over phases
    assert rows[-1].label.startswith("CPU time")


@pytest.mark.parametrize("n,limit", [(10, 20), (1000, 30), (101, 3), (50, 7)])
def test_downsampling_keeps_the_ends_and_the_extremes(n, limit):
    values = [float((i * 37) % 11) for i in range(n)]
    values[n // 2] = 100.0  # a spike
    kept = trend.downsample(values, limit)
    assert len(kept) == min(n, limit)
    assert kept[0] == (0, values[0]) and kept[-1] == (n - 1, values[-1])
    assert [i for i, _ in kept] == sorted({i for i, _ in kept})
    if limit >= 3:
        assert (n // 2, 100.0) in kept


def test_data_is_inert_as_javascript_and_html():
    text = js_json({"s": HOSTILE + "\u2028\u2029 é", "n": [1.5, None]})
    assert "<" not in text and "\u2028" not in text and "é" not in text
    assert json.loads(text) == {"s": HOSTILE + "\u2028\u2029 é", "n": [1.5, None]}
    with pytest.raises(ValueError):
        js_json({"x": float("nan")})


def test_series_data_is_columnar_and_lists_every_run(history):
    runs, samples, cals = loaded(history)
    pts = [
        trend.point(r, samples.get(r["id"], []))
        for r in runs
        if r["kind"] in trend.TREND_KINDS
        and r["scenario"] == "lm-cpu"
        and r["runner"] == "ubuntu-latest"
    ]
    s = trend.Series("lm-cpu", "ubuntu-latest", tuple(pts), trend.phase_order(pts))
    data = pages.series_data(s, commits={}, on_branch={C[1]}, branch="main", repo_url=None)
    assert {len(v) for k, v in data["runs"].items() if k != "seg"} == {5}
    assert len(data["runs"]["seg"]) == len(s.phases) and data["runs"]["on_branch"][:2] == [1, 0]
    assert data["verdicts"]["regression"]["badge"] == "🔴 regression"
    row = pages.overview_row(s, cal=cals[("lm-cpu", "ubuntu-latest")], last=3, spark_points=30)
    assert row["calibration"] == "threshold 5% · paired sd 16.2% · from 40 A/A pairs"
    assert row["verdict"] == "🔴 regression" and row["window"] == 3
    assert len(row["spark"].split()) == 3


def test_verdict_symbols_differ_for_every_verdict():
    symbols = [v["symbol"] for v in pages.verdicts().values()]
    assert len(set(symbols)) == len(Verdict)


@pytest.mark.parametrize(
    "work,expected",
    [
        ({"base": [1, 2], "head": [7, 9, 8]}, 8.0),
        ({"head": [10, 20]}, 15.0),
        (None, None),
        ({"head": []}, None),
        ({"head": "12"}, None),
        ({"head": [1, "2"]}, None),
        ({"head": [True, 3]}, None),
        ([1, 2], None),
    ],
)
def test_a_point_carries_the_head_arms_median_instruction_count(work, expected):
    run = {
        "id": 1,
        "uid": "u",
        "kind": "compare",
        "created": "c",
        "head_rev": "a",
        "base_rev": "b",
        "work": work,
    }
    assert trend.point(run, []).instructions == expected
