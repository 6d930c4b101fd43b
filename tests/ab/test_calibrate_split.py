"""Calibration in two jobs: one records A/A pairs (it runs the measured code, holds no
history), a trusted one imports them from the sample log and calibrates."""

from __future__ import annotations

import json

import yaml

from bot.cli import main
from bot.store.history_db import History

SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}


def setup(tmp_path):
    fake = tmp_path / "fake.yaml"
    fake.write_text(
        yaml.safe_dump(
            {"version": 1, "seed": 5, "load_sd_pct": 3, "arms": {"base": {"segments": SEGMENTS}}}
        )
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.yaml").write_text("name: tiny\ncommand: [python, t.py]\n")
    (tmp_path / "t.py").write_text("")
    return [
        "--fake",
        str(fake),
        "--root",
        str(tmp_path),
        "--scenarios-dir",
        str(tmp_path / "scenarios"),
    ]


def test_recorded_pairs_are_imported_and_calibrated_by_another_job(tmp_path, capsys):
    common = setup(tmp_path)
    log = tmp_path / "aa.jsonl"
    recorder_db = tmp_path / "never.sqlite"
    assert main(["calibrate", *common, "--scenario", "tiny", "--pairs", "8", "--record-only",
                 "--samples", str(log), "--db", str(recorder_db)]) == 0  # fmt: skip
    assert not recorder_db.exists()  # the recording job wrote no history
    assert sum('"stage": "aa"' in line for line in log.read_text().splitlines()) == 16
    db = tmp_path / "h.sqlite"
    code = main(
        [
            *("calibrate", *common, "--scenario", "tiny", "--pairs", "0"),
            *("--aa-log", str(log), "--db", str(db), "--runner", "ci", "--aa-trials", "4"),
            # the smallest simulation that still chooses: the subject is the import of the
            # pairs, not the choice (tests/ab/test_calibrate.py checks that)
            *("--thresholds", "2,6", "--shifts", "10", "--shift-trials", "2"),
            *("--json", str(tmp_path / "cal.json")),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with History(db) as h:
        assert h.calibration("tiny", "ci") is not None
        assert len(h.aa_blocks("tiny", "ci")) == 4
    assert json.loads((tmp_path / "cal.json").read_text())["scenarios"][0]["scenario"] == "tiny"


def test_a_log_naming_another_scenario_is_refused(tmp_path, capsys):
    common = setup(tmp_path)
    log = tmp_path / "aa.jsonl"
    main(["calibrate", *common, "--scenario", "tiny", "--pairs", "4", "--record-only",
          "--samples", str(log)])  # fmt: skip
    log.write_text(log.read_text().replace('"scenario": "tiny"', '"scenario": "other"'))
    code = main(["calibrate", *common, "--scenario", "tiny", "--pairs", "0", "--aa-log", str(log),
                 "--db", str(tmp_path / "h.sqlite")])  # fmt: skip
    assert code == 2 and "scenario 'other' was not asked for" in capsys.readouterr().err
