"""The report job joins the counting jobs' counts with the timing jobs' results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.errors import ResultsError
from bot.gh.counts_join import join_counts, load_counts
from bot.gh.report_flow import load_artifacts
from bot.model import Verdict
from bot.pipeline.comparing import compare
from bot.pipeline.counting_run import CountOptions, count_only
from bot.pipeline.options import ArmSpec, CompareOptions, CountingOptions, OutputPaths, StoreOptions
from bot.scenarios import load_scenario

from ..conftest import commit, git

SCENARIO = "name: trainer\ncommand: [python, train.py]\ntimeout_s: 30\ntags: [pr]\n"
SEGMENTS = {"interpreter_ready": 0.03, "import_torch": 1.2, "model_built": 0.4}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str, str]:
    repo = tmp_path_factory.mktemp("join") / "repo"
    (repo / "scenarios").mkdir(parents=True)
    (repo / "scenarios" / "trainer.yaml").write_text(SCENARIO)
    (repo / "train.py").write_text("print(1)\n")
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, "base")
    (repo / "train.py").write_text("print(2)\n")
    return repo, base, commit(repo, "head")


def spec(tmp_path: Path, *, head_delay: float, head_pct: float, sd: float) -> Path:
    head = dict(SEGMENTS, model_built=SEGMENTS["model_built"] + head_delay)
    doc = {
        "version": 1,
        "seed": 11,
        "arms": {
            "base": {"segments": SEGMENTS, "sd_pct": sd, "instructions": 2e9},
            "head": {
                "segments": head,
                "sd_pct": sd,
                "instructions": 2e9 * (1 + head_pct / 100),
            },
        },
    }
    path = tmp_path / f"fake-{head_delay}-{head_pct}-{sd}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def timing_and_counts(repo, tmp_path: Path, fake: Path) -> Path:
    """A timing job's results.json and a counting job's counts.json, as two artifacts."""
    root, base, head = repo
    scenario = load_scenario(root / "scenarios" / "trainer.yaml")
    compare(
        CompareOptions(
            root=root,
            base=ArmSpec(base),
            head=ArmSpec(head),
            scenarios=(scenario,),
            store=StoreOptions(root, record=False, learn=False),
            counting=CountingOptions("off"),
            outputs=OutputPaths(out_dir=tmp_path / "artifacts" / "ttfb-results-trainer"),
            fake=fake,
        )
    )
    count_only(
        CountOptions(
            root=root,
            base=base,
            head=head,
            scenario=scenario,
            out_dir=tmp_path / "artifacts" / "ttfb-counts-trainer",
            fake=fake,
        )
    )
    return tmp_path / "artifacts"


def joined(repo, tmp_path, **kw: float):
    folder = timing_and_counts(repo, tmp_path, spec(tmp_path, **kw))
    results, _ = load_artifacts(folder)
    assert results is not None
    (s,) = results.scenarios
    return s, folder


def test_unchanged_counts_turn_an_inconclusive_look_into_no_change(repo, tmp_path):
    s, _ = joined(repo, tmp_path, head_delay=0.0, head_pct=0.0, sd=8)
    assert s.verdict is Verdict.NO_CHANGE, s.reason
    assert s.reason.startswith("CPU work from start to the first forward unchanged")
    assert s.instructions is not None and s.instructions.unchanged


def test_a_confirmed_finding_on_the_counts_is_a_regression(repo, tmp_path):
    s, _ = joined(repo, tmp_path, head_delay=0.0, head_pct=3.0, sd=8)
    assert s.verdict is Verdict.REGRESSION and s.confirmed is True, s.reason
    assert s.finding is not None and s.finding.kind == "instructions"


def test_a_confirmed_wall_time_finding_stands(repo, tmp_path):
    s, _ = joined(repo, tmp_path, head_delay=0.5, head_pct=0.0, sd=2)
    assert s.verdict is Verdict.REGRESSION and s.finding is not None
    assert s.finding.kind != "instructions"


def test_counts_are_judged_from_the_raw_numbers_not_the_files_claims(repo, tmp_path):
    """A counting job runs the pull request's code: its summary and direction are claims."""
    _, folder = joined(repo, tmp_path, head_delay=0.0, head_pct=0.0, sd=8)
    path = next(folder.rglob("counts.json"))
    doc = json.loads(path.read_text())
    doc["work"].update(direction=1, delta_pct=9.0, summary="CPU work +9%: regression")
    path.write_text(json.dumps(doc))
    (c,) = load_counts(folder)
    assert c.work is not None and c.work.direction == 0 and c.work.unchanged


def test_counts_of_another_scenario_or_other_commits_are_refused(repo, tmp_path):
    _, folder = joined(repo, tmp_path, head_delay=0.0, head_pct=0.0, sd=8)
    path = next(folder.rglob("counts.json"))
    good = json.loads(path.read_text())
    results, _ = load_artifacts(folder)
    assert results is not None
    for change, message in (
        ({"scenario": "other"}, "'other', which was not timed"),
        ({"head": "f" * 40}, "name head ffffffffff"),
    ):
        path.write_text(json.dumps({**good, **change}))
        with pytest.raises(ResultsError, match=message):
            join_counts(results, load_counts(folder))
    path.write_text(json.dumps({**good, "scenario": "bad\nname"}))
    with pytest.raises(ResultsError, match="scenario"):
        load_counts(folder)
