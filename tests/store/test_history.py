"""The history store: migrations, two writing processes, export/import, and the CLI around it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
import yaml

from bot.cli import main
from bot.errors import ResultsError
from bot.model import Sample, Verdict
from bot.stats.instructions import Work
from bot.stats.summary import median_ci_ranks
from bot.store import depmap_db, export, history_db, scan
from bot.store.history_db import SCHEMA_VERSION, History
from bot.store.records import ComparisonRecord, RunRecord, SampleRow, work_from_json

from ..conftest import REPO


def sample(t: float, status: str = "ok") -> Sample:
    return Sample(status=status, ttfb_s=t, cpu_s=0.9 * t, phases={"import_torch": t / 2})


def comparison(name: str, verdict: Verdict, delta: float) -> ComparisonRecord:
    return ComparisonRecord(
        scenario=name,
        verdict=verdict,
        delta_pct=delta,
        ci_low_pct=delta - 1,
        ci_high_pct=delta + 1,
        p_ttest=0.001,
        p_wilcoxon=0.002,
        pairs=20,
        confirmed=True,
        threshold_pct=2.0,
        threshold_note="floor 2%",
        base_median_s=3.0,
        head_median_s=3.0 * (1 + delta / 100),
    )


def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite"
    with History(path, upto=1) as old:
        assert old.version == 1
        old.db.execute(
            "INSERT INTO runs (uid, kind, created, scenario, head_rev, runner, machine, python) "
            "VALUES ('u1', 'measure', '2026-11-01T00:00:00Z', 'lm-cpu', 'abc', 'r', '{}', '3.11')"
        )
        old.db.execute(
            "INSERT INTO samples (run_id, arm, stage, block, status, ttfb_s, cpu_s, phases) "
            "VALUES (1, '', 'measure', -1, 'ok', 3.5, 3.1, '{}')"
        )
        columns = {r[1] for r in old.db.execute("PRAGMA table_info(runs)")}
        assert "torch" not in columns
    with History(path) as new:
        assert new.version == SCHEMA_VERSION == 4
        columns = {r[1] for r in new.db.execute("PRAGMA table_info(runs)")}
        assert "torch" in columns
        (run,) = new.recent()
        assert run["scenario"] == "lm-cpu" and run["mean_ttfb_s"] == pytest.approx(3.5)
        assert new.calibration("lm-cpu", "r") is None  # the v2 table exists and is empty


def test_a_newer_or_foreign_file_is_a_one_line_error(tmp_path):
    newer = tmp_path / "newer.sqlite"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ResultsError, match="newer than this ttfb understands"):
        History(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 100)
    with pytest.raises(ResultsError, match=r"junk\.sqlite: not a usable history database"):
        History(junk)


WRITER = textwrap.dedent(
    """
    import sys
    from bot.model import Sample
    from bot.store.history_db import History
    from bot.store.records import RunRecord, SampleRow

    path, tag = sys.argv[1], sys.argv[2]
    with History(path) as h:
        for i in range(40):
            rows = tuple(SampleRow("head", "measure", -1, Sample("ok", ttfb_s=1.0 + j, cpu_s=1.0))
                         for j in range(5))
            h.record_run(RunRecord("measure", f"s-{tag}", head_rev=str(i), samples=rows))
    """
)


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    History(path).close()  # created (and migrated) once, as a CI job's first step would
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag], cwd=REPO)
        for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with History(path) as h:
        counts = dict(h.db.execute("SELECT scenario, COUNT(*) FROM runs GROUP BY scenario"))
        assert counts == {"s-a": 40, "s-b": 40}
        assert h.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 400


def fill(h: History) -> None:
    h.record_run(
        RunRecord(
            "measure",
            "lm-cpu",
            head_rev="aaa",
            runner="ci",
            machine={"cpu": "X", "cores": 2, "python": "3.11"},
            samples=(
                SampleRow("", "measure", -1, sample(3.0)),
                SampleRow("", "measure", -1, sample(3.2, "crashed")),
            ),
        )
    )
    h.record_run(
        RunRecord(
            "compare",
            "lm-cpu",
            base_rev="aaa",
            head_rev="bbb",
            runner="ci",
            samples=(
                SampleRow("base", "primary", 0, sample(3.0)),
                SampleRow("head", "primary", 0, sample(3.3)),
            ),
            comparison=comparison("lm-cpu", Verdict.REGRESSION, 10.0),
        )
    )
    h.save_calibration(
        scenario="lm-cpu",
        runner="ci",
        run_id=None,
        values={"pairs": 40, "sd_total": 0.05, "threshold_pct": 3.0, "power": {"scale:5": 0.9}},
    )


def without_ids(doc: dict) -> dict:
    return json.loads(json.dumps(doc))


def test_export_then_import_round_trips_and_skips_what_it_has(tmp_path):
    with History(tmp_path / "a.sqlite") as a:
        fill(a)
        exported = export.export(a)
    assert exported["version"] == 1 and exported["kind"] == "ttfb-history"
    assert len(exported["runs"]) == 2 and len(exported["calibrations"]) == 1
    with History(tmp_path / "b.sqlite") as b:
        assert export.load_export(b, exported) == 2
        again = export.export(b)
        assert without_ids(again) == without_ids(exported)
        assert export.load_export(b, exported) == 0  # the same runs twice add nothing
        assert len(export.export(b)["runs"]) == 2
        assert len(export.export(b)["calibrations"]) == 1
        cal = b.calibration("lm-cpu", "ci")
        assert cal["threshold_pct"] == 3.0 and cal["power"] == {"scale:5": 0.9}
    with pytest.raises(ResultsError, match="kind"):
        export.load_export(History(tmp_path / "c.sqlite"), {"version": 1, "kind": "other"})


def test_history_cli_lists_plots_exports_and_imports(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        fill(h)
    dump = tmp_path / "export.json"
    plots = tmp_path / "plots"
    assert main(["history", "--db", str(db), "--plot", str(plots), "--export", str(dump)]) == 0
    out = capsys.readouterr().out
    assert "regression" in out and "+10.0%" in out and "lm-cpu" in out
    (png,) = plots.glob("*.png")
    assert png.name == "trend-lm-cpu.png" and png.read_bytes()[:4] == b"\x89PNG"
    other = tmp_path / "other.sqlite"
    assert main(["history", "--db", str(other), "--import", str(dump)]) == 0
    assert "imported 2 new run(s)" in capsys.readouterr().out
    assert main(["history", "--db", str(other), "--import", str(dump)]) == 0
    assert "imported 0 new run(s)" in capsys.readouterr().out
    dump.write_text('{"version": 9, "kind": "ttfb-history"}')
    assert main(["history", "--db", str(other), "--import", str(dump)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "export.json" in err and "version" in err


SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "first_batch_gap": 0.4}


def fake_setup(tmp_path):
    spec = {
        "version": 1,
        "seed": 5,
        "load_sd_pct": 3,
        "arms": {"base": {"segments": SEGMENTS, "sd_pct": 2}},
    }
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump(spec))
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "tiny.yaml").write_text("name: tiny\ncommand: [python, t.py]\n")
    (tmp_path / "t.py").write_text("")  # scripted samples: the script only has to exist
    return fake, scenarios


def test_compare_uses_the_stored_threshold_and_says_so(tmp_path, capsys):
    fake, scenarios = fake_setup(tmp_path)
    db = tmp_path / "h.sqlite"
    common = ["--fake", str(fake), "--root", str(tmp_path), "--scenarios-dir", str(scenarios)]
    code = main(
        [
            "calibrate",
            *common,
            "--scenario",
            "tiny",
            "--pairs",
            "16",
            "--runner",
            "ci-box",
            "--db",
            str(db),
            # the smallest simulation that still chooses: the subject is what compare does
            # with the stored threshold (tests/ab/test_calibrate.py checks the choice)
            "--thresholds",
            "2,6",
            "--shifts",
            "10",
            "--aa-trials",
            "4",
            "--shift-trials",
            "2",
            "--compares-per-week",
            "4",
            "--max-pairs",
            "8",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "tiny on ci-box: 16 A/A pairs" in out and "chosen: threshold" in out
    with History(db) as h:
        cal = h.calibration("tiny", "ci-box")
        assert cal is not None and cal["pairs"] == 16
        (run,) = h.recent()
        assert run["kind"] == "calibrate" and run["samples"] == 32
    # raise the stored threshold, as a stricter policy would, to see compare pick it up
    with History(db) as h:
        h.db.execute("UPDATE calibrations SET threshold_pct = 4.5")

    def compare(runner: str) -> dict:
        out_dir = tmp_path / f"out-{runner}"
        args = [*common, "--scenario", "tiny", "--base-env", "A=1", "--head-env", "A=2"]
        args += ["--runner", runner, "--db", str(db), "--out-dir", str(out_dir)]
        assert main(["compare", *args]) == 0
        doc = json.loads((out_dir / "results.json").read_text())
        return {**doc["scenarios"][0], "comment": (out_dir / "comment.md").read_text()}

    calibrated = compare("ci-box")
    assert calibrated["threshold_pct"] == 4.5
    note = "threshold 4.5% from 16 A/A pairs on ci-box, tuned for ≤1 false positive/week"
    assert calibrated["threshold_note"] == note and note in calibrated["comment"]
    plain = compare("elsewhere")
    assert plain["threshold_pct"] == 2.0
    assert "floor 2%, no calibration for this scenario on elsewhere" in plain["comment"]
    with History(db) as h:
        kinds = [r["kind"] for r in h.recent()]
        assert kinds == ["compare", "compare", "calibrate"]
        assert h.compares_per_week() == pytest.approx(0.5)


def test_calibrate_without_enough_blocks_is_a_one_line_error(tmp_path, capsys):
    fake, scenarios = fake_setup(tmp_path)
    args = ["calibrate", "--fake", str(fake), "--root", str(tmp_path)]
    args += ["--scenarios-dir", str(scenarios), "--scenario", "tiny", "--pairs", "0"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "0 A/A blocks of tiny" in err and "--pairs" in err


def test_default_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TTFB_LAB_DB")
    assert history_db.default_path(tmp_path) == tmp_path / ".ttfb" / "history.sqlite"
    monkeypatch.setenv("TTFB_LAB_DB", str(tmp_path / "x.sqlite"))
    assert history_db.default_path(tmp_path) == tmp_path / "x.sqlite"


@pytest.mark.parametrize("n,ranks", [(10, (1, 8)), (20, (5, 14)), (100, (39, 60))])
def test_median_ci_ranks_match_the_binomial_table(n, ranks):
    """The classic distribution-free 95% CI of the median: ranks 2–9 of 10, 6–15 of 20,
    40–61 of 100 (1-based)."""
    from scipy.stats import binom

    assert median_ci_ranks(n) == ranks
    j, k = ranks
    assert binom.cdf(k, n, 0.5) - binom.cdf(j, n, 0.5) >= 0.95


def test_trend_carries_the_ci_of_each_runs_median(tmp_path):
    with History(tmp_path / "t.sqlite") as h:
        rows = tuple(SampleRow("", "measure", -1, sample(1.0 + i / 10)) for i in range(20))
        h.record_run(RunRecord("measure", "s", head_rev="r1", samples=rows))
        (t,) = h.trend("s")
    assert t["n"] == 20 and t["median_s"] == pytest.approx(2.0)
    assert t["ci_low_s"] == pytest.approx(1.5) and t["ci_high_s"] == pytest.approx(2.4)


def test_the_depmap_lives_in_the_history_and_travels_with_its_export(tmp_path):
    db = tmp_path / "h.sqlite"
    depmap_db.record(db, "lm-cpu", imported={"a.py", "b.py"}, opened={"c.yaml"}, revision="r1")
    depmap_db.record(
        db, "lm-cpu", imported={"d.py"}, opened=(), revision="r2", verdict=Verdict.REGRESSION
    )
    dm = depmap_db.load(db)
    e = dm.entries["lm-cpu"]
    assert e.imported == {"a.py", "b.py", "d.py"} and e.opened >= {"c.yaml", "a.py"}
    assert (e.runs, e.compares, e.moved, e.revision) == (2, 1, 1, "r2")
    with History(db) as h:
        exported = export.export(h)
    assert set(exported["depmap"]) == {"lm-cpu"}
    other = tmp_path / "other.sqlite"
    depmap_db.record(other, "lm-cpu", imported={"z.py"}, opened=(), revision="r0")
    with History(other) as h:
        export.load_export(h, exported)
        export.load_export(h, exported)  # twice: counts do not double
    merged = depmap_db.load(other).entries["lm-cpu"]
    assert merged.imported == {"a.py", "b.py", "d.py", "z.py"}
    assert (merged.runs, merged.compares) == (2, 1)
    depmap_db.reset(other)
    assert depmap_db.load(other).entries == {}
    # a .json path keeps the file format of earlier versions
    legacy = tmp_path / "depmap.json"
    depmap_db.record(legacy, "cnn-cpu", imported={"x.py"}, opened=(), revision="r1")
    assert json.loads(legacy.read_text())["kind"] == "ttfb-depmap"
    assert depmap_db.load(legacy).entries["cnn-cpu"].imported == {"x.py"}


def test_a_version_2_database_gains_the_depmap_table(tmp_path):
    path = tmp_path / "v2.sqlite"
    with History(path, upto=2) as old:
        fill(old)
        assert "depmap" not in {r[0] for r in old.db.execute("SELECT name FROM sqlite_master")}
    with History(path) as new:
        assert new.version == SCHEMA_VERSION and new.depmap().entries == {}
        assert len(export.export(new)["runs"]) == 2


WORK = Work(
    (2_000_000_000, 2_000_040_000),
    (2_060_000_000, 2_060_020_000, 2_060_010_000),
    threshold_pct=1.0,
    backend="cachegrind",
    settings=("PYTHONHASHSEED=0",),
    confirm_base=2_000_010_000,
    confirm_head=2_060_030_000,
)


def columns(h: History, table: str) -> set[str]:
    return {r[1] for r in h.db.execute(f"PRAGMA table_info({table})")}


def counted_run(uid: str = "counted") -> RunRecord:
    return RunRecord(
        "compare",
        "lm-cpu",
        base_rev="bbb",
        head_rev="ccc",
        runner="ci",
        uid=uid,
        created="2026-11-02T00:00:00Z",
        samples=(
            SampleRow("base", "primary", 0, sample(3.0)),
            SampleRow("head", "primary", 0, sample(3.1)),
        ),
        comparison=replace(comparison("lm-cpu", Verdict.REGRESSION, 3.0), work=WORK),
    )


def test_a_version_3_database_gains_the_work_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v3.sqlite"
    with History(path, upto=3) as old:
        fill(old)
        assert old.version == 3 and "work" not in columns(old, "comparisons")
        before = [dict(r) for r in old.db.execute("SELECT * FROM comparisons")]
    with History(path) as new:
        assert new.version == SCHEMA_VERSION == 4 and "work" in columns(new, "comparisons")
        after = [dict(r) for r in new.db.execute("SELECT * FROM comparisons")]
        assert after == [{**row, "work": None} for row in before] and len(after) == 1
        assert [r["work"] for r in scan.runs(new)] == [None, None]
        assert len(export.export(new)["runs"]) == 2
        new.record_run(counted_run())  # the migrated file takes counts
        assert scan.runs(new)[-1]["work"]["head"] == list(WORK.head)


def test_counts_go_through_the_history_its_export_and_an_import(tmp_path):
    with History(tmp_path / "a.sqlite") as a:
        fill(a)
        a.record_run(counted_run())
        stored = json.loads(
            a.db.execute("SELECT work FROM comparisons WHERE work IS NOT NULL").fetchone()[0]
        )
        exported = json.loads(json.dumps(export.export(a)))  # as the file carries it
    assert stored == {
        "base": [2_000_000_000, 2_000_040_000],
        "head": [2_060_000_000, 2_060_020_000, 2_060_010_000],
        "confirm_base": 2_000_010_000,
        "confirm_head": 2_060_030_000,
        "backend": "cachegrind",
        "delta_pct": pytest.approx(WORK.delta_pct),
        "threshold_pct": 1.0,
    }
    works = [r["comparison"] and r["comparison"]["work"] for r in exported["runs"]]
    assert works == [None, None, stored]  # a measure, a compare without counts, one with
    with History(tmp_path / "b.sqlite") as b:
        assert export.load_export(b, exported) == 3
        assert [r["work"] for r in scan.runs(b)] == [None, None, stored]
        assert export.export(b)["runs"] == exported["runs"]
    # the counts come back as they were counted (the counter's settings are not stored)
    assert work_from_json(stored) == replace(WORK, settings=())


def test_an_export_without_counts_still_imports_and_bad_counts_are_refused(tmp_path):
    with History(tmp_path / "a.sqlite") as a:
        a.record_run(counted_run())
        exported = json.loads(json.dumps(export.export(a)))
    older = json.loads(json.dumps(exported))
    del older["runs"][0]["comparison"]["work"]  # as ttfb wrote it before schema 4
    with History(tmp_path / "b.sqlite") as b:
        assert export.load_export(b, older) == 1
        assert [r["work"] for r in scan.runs(b)] == [None]
    for bad in ({"base": [1, "2"], "head": [3], "threshold_pct": 1}, [1, 2], {"head": [1]}):
        broken = json.loads(json.dumps(exported))
        broken["runs"][0]["comparison"]["work"] = bad
        with History(tmp_path / "c.sqlite") as c, pytest.raises(ResultsError, match="work"):
            export.load_export(c, broken)


def test_a_stored_work_value_that_does_not_decode_reads_as_none(tmp_path):
    with History(tmp_path / "a.sqlite") as h:
        h.record_run(counted_run("one"))
        h.record_run(counted_run("two"))
        h.db.execute("UPDATE comparisons SET work = 'not json' WHERE id = 1")
        h.db.execute("UPDATE comparisons SET work = '[1, 2]' WHERE id = 2")
        assert [r["work"] for r in scan.runs(h)] == [None, None]
