"""Where CI jobs get the calibration from: only a trusted default-branch run's artifact."""

from __future__ import annotations

import json

from bot.store import export
from bot.store.history_db import History
from bot.store.records import RunRecord

from .conftest import gh

OLDER, NEWER = "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"


def history_export(tmp_path, *, scenario: str, threshold: float) -> bytes:
    db = tmp_path / f"{scenario}.sqlite"
    with History(db) as h:
        h.record_run(RunRecord("calibrate", scenario, head_rev="r"))
        h.save_calibration(
            scenario=scenario,
            runner="ubuntu-latest",
            run_id=None,
            values={"pairs": 40, "sd_total": 0.05, "threshold_pct": threshold},
        )
        return json.dumps(export.export(h)).encode()


def test_only_a_trusted_default_branch_calibration_is_fetched(fake, actions_env, tmp_path, capsys):
    """A pull request can edit ttfb-calibrate.yml in its branch and run it (event pull_request,
    its own head branch), or push a branch: neither run's artifact may be fetched. The newest
    scheduled run of the default branch is."""
    fake.add_workflow("ttfb-calibrate.yml", id=7)
    trusted = history_export(tmp_path, scenario="ranker-cpu", threshold=3.0)
    poisoned = history_export(tmp_path, scenario="ranker-cpu", threshold=99.0)
    fake.add_run(
        1,
        workflow="ttfb-calibrate.yml",
        head_sha="1" * 40,
        event="schedule",
        head_branch="main",
        created_at=OLDER,
    )
    fake.add_artifact(1, "ttfb-history", {"export.json": trusted})
    for run_id, event, branch, owner in (
        (2, "pull_request", "feature", "forker"),
        (3, "push", "feature", None),
        (4, "pull_request", "main", "forker"),  # a fork's branch named main
    ):
        fake.add_run(
            run_id,
            workflow="ttfb-calibrate.yml",
            head_sha=str(run_id) * 40,
            event=event,
            head_branch=branch,
            head_owner=owner,
            created_at=NEWER,
        )
        fake.add_artifact(run_id, "ttfb-history", {"export.json": poisoned})
    assert gh("history") == 0
    assert "run 1" in capsys.readouterr().out
    with History(tmp_path / "history.sqlite") as h:  # TTFB_LAB_DB, set by the tests' conftest
        cal = h.calibration("ranker-cpu", "ubuntu-latest")
    assert cal is not None and cal["threshold_pct"] == 3.0


def test_no_calibration_yet_is_fine(fake, actions_env, capsys):
    fake.add_workflow("ttfb-calibrate.yml", id=7)
    assert gh("history") == 0
    assert "thresholds are the scenarios' floors" in capsys.readouterr().out
