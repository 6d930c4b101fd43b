"""The typed results document (``bot.results``): what the writer wrote reads back and writes out
unchanged, and a field of the wrong type is refused by name."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.errors import ResultsError
from bot.gh.artifacts import validate
from bot.model import Verdict
from bot.report.compare_view import as_results
from bot.results import ArmMedians, Results, ScenarioResult, StoredResults

RESULTS = Path(__file__).parent / "fixtures" / "results"
DOCUMENTS = sorted(p.stem for p in RESULTS.glob("*.json") if p.stem != "stored")


def fixture(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def test_the_fixtures_cover_what_a_document_can_hold():
    scenarios = [s for name in DOCUMENTS for s in fixture(name)["scenarios"]]
    assert {s["verdict"] for s in scenarios} >= {"regression", "broken"}
    assert {s["finding"]["kind"] for s in scenarios if s["finding"]} >= {
        "total",
        "segments",
        "instructions",
    }
    present = {k for s in scenarios for k, v in s.items() if v}
    assert {"instructions", "attribution", "dependencies", "prepare", "cpu"} <= present
    assert any("values_s" in s["finding"] for s in scenarios if s["finding"])


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_written_document_reads_back_and_writes_out_unchanged(name):
    data = fixture(name)
    validate(data, schema="results", source=name)  # the fixtures are what artifacts carry
    results = Results.from_json(data, source=f"{name}.json")
    assert results.to_json() == data
    # key for key, in the writer's order: the JSON text is the same
    assert json.dumps(results.to_json(), indent=2) == json.dumps(data, indent=2)


def test_the_history_s_copy_of_an_outcome_reads_back_unchanged():
    data = fixture("stored")
    stored = StoredResults.from_json(data, source="runs.doc")
    assert stored.to_json() == data
    (s,) = stored.scenarios
    assert s.samples is None and "samples" not in s.to_json()


def test_fields_are_typed_values():
    results = Results.from_json(fixture("segments"))
    (s,) = results.scenarios
    assert s.verdict is Verdict.REGRESSION and isinstance(s.phases, tuple)
    assert s.finding is not None and s.finding.kind == "segments"
    assert s.finding.values_s is not None and isinstance(s.finding.values_s["primary"], tuple)
    assert s.samples is not None and {x.stage for x in s.samples} == {"primary", "confirm"}
    assert results.extra == {"samples_log": "out/samples.jsonl"}  # what the command added
    env = Results.from_json(fixture("environments")).scenarios[0]
    assert env.dependencies is not None and env.dependencies.packages[0].head == "2.0"
    assert env.prepare is not None and env.prepare.head is not None
    assert env.prepare.head.setup == ("python", "setup_arm.py")


def mutated(path: tuple[str | int, ...], value: object) -> dict:
    data = copy.deepcopy(fixture("segments"))
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("scenarios", 0, "verdict"), 3, "scenarios[0].verdict: expected one of regression"),
        (("scenarios", 0, "verdict"), "pwned", "scenarios[0].verdict: expected one of"),
        (("scenarios", 0, "delta_pct"), "x", "scenarios[0].delta_pct: expected a number, got 'x'"),
        (("scenarios", 0, "pairs"), True, "scenarios[0].pairs: expected an integer, got True"),
        (("scenarios", 0, "pairs"), 1.5, "scenarios[0].pairs: expected an integer"),
        (("scenarios", 0, "base", "median_s"), "2s", "scenarios[0].base.median_s: expected a"),
        (("scenarios", 0, "phases", 2, "significant"), 1, "phases[2].significant: expected true"),
        (("scenarios", 0, "finding", "kind"), "bogus", "finding.kind: expected one of total"),
        (("scenarios", 0, "finding", "values_s", "primary", 3), None, "values_s.primary[3]"),
        (("scenarios", 0, "samples", 0, "stage"), "warmup", "samples[0].stage: expected one of"),
        (("scenarios", 0, "notes"), "a note", "scenarios[0].notes: expected an array"),
        (("scenarios", 0, "cpu"), [], "scenarios[0].cpu: expected an object, got []"),
        (("policy", "alpha"), "0.01", "policy.alpha: expected a number"),
        (("base", "label"), None, "base.label: expected a string, got None"),
        (("scenarios",), {}, "scenarios: expected an array, got {}"),
        (("kind",), "ttfb-bisect", "kind: expected one of ttfb-compare"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(path, value, expected):
    with pytest.raises(ResultsError) as err:
        Results.from_json(mutated(path, value), source="results.json")
    assert str(err.value).startswith("results.json: ")
    assert expected in str(err.value)


def test_a_missing_field_is_refused_naming_it():
    data = fixture("segments")
    del data["scenarios"][0]["verdict"]
    with pytest.raises(ResultsError, match=r"^r\.json: scenarios\[0\]\.verdict: missing$"):
        Results.from_json(data, source="r.json")


@pytest.mark.parametrize("version", [2, 99])
def test_a_newer_version_is_refused(version):
    data = dict(fixture("broken"), version=version)
    with pytest.raises(ResultsError, match=f"version: {version} is newer than this ttfb"):
        Results.from_json(data, source="results.json")
    with pytest.raises(ResultsError, match="is newer"):
        StoredResults.from_json(dict(fixture("stored"), version=version))


@pytest.mark.parametrize("data", [[], "results", None])
def test_anything_but_an_object_is_refused(data):
    with pytest.raises(ResultsError, match="expected a JSON object"):
        Results.from_json(data)


def test_keys_it_does_not_name_are_kept_in_place():
    data = fixture("broken")
    data["scenarios"][0]["from_a_later_tool"] = {"x": 1}
    assert Results.from_json(data).to_json() == data


def test_optional_keys_are_left_out_while_none_and_the_others_written_as_null():
    s = ScenarioResult(
        name="s",
        verdict=Verdict.SKIPPED,
        reason="needs a GPU",
        threshold_pct=2.0,
        delta_pct=None,
        ci_low_pct=None,
        ci_high_pct=None,
        p_ttest=None,
        p_wilcoxon=None,
        pairs=0,
        confirmed=None,
        mde_pct=None,
        base=ArmMedians(median_s=None),
        head=ArmMedians(median_s=None),
        phases=(),
    )
    data = s.to_json()
    assert data["cpu"] is None and data["finding"] is None and data["base"] == {"median_s": None}
    assert not {"effective_alpha", "samples", "instructions_note", "threshold_note"} & set(data)
    assert data["verdict"] == "skipped" and ScenarioResult.from_json(data) == s


def test_the_reports_take_a_document_or_its_model():
    results = Results.from_json(fixture("regression"))
    assert as_results(results) is results
    assert as_results(fixture("regression")) == results
