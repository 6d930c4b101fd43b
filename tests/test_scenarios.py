"""Scenario loading: strict validation with one-line errors naming file and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.errors import ScenarioError
from bot.scenarios import find, load_all, load_scenario

from .conftest import REPO

GOOD = """
name: ranker-cpu
description: Click-through ranker, shrunk to CPU
command: [python, -m, examples.trainer.train, --config, examples/configs/ranker.yaml]
paths: [examples/trainer/**]
resources: {runner: [ubuntu-latest], gpu: 0, est_seconds: 6}
stop: first_batch
timeout_s: 120
threshold: {floor_pct: 3}
tags: [pr, release]
env: {OMP_NUM_THREADS: 1, FLAG: true}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_file(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "ranker-cpu"
    assert s.command[0] == "python"
    assert s.command_for("/venv/bin/python")[0] == "/venv/bin/python"
    assert s.resources.est_seconds == 6 and s.floor_pct == 3
    assert s.stop.env_value == "first_batch"
    assert s.env == {"OMP_NUM_THREADS": "1", "FLAG": "1"}
    assert s.tags == ("pr", "release")


def test_defaults_and_string_command(tmp_path):
    s = load_scenario(write(tmp_path, "name: x\ncommand: python train.py --lr 0.1\n"))
    assert s.command == ("python", "train.py", "--lr", "0.1")
    assert s.floor_pct == 2.0 and s.timeout_s == 300 and s.first_batch == "auto"
    assert s.resources.runner == ("ubuntu-latest",)


def test_gpu_scenario_defaults_to_gpu_runner(tmp_path):
    s = load_scenario(write(tmp_path, "name: g\ncommand: [python, t.py]\nresources: {gpu: 1}\n"))
    assert s.needs_gpu and s.resources.runner == ("self-hosted", "gpu")


def test_inputs_setup_and_environment(tmp_path):
    text = """
    name: gpt
    command: python train.py config/small.py
    inputs: [data/**/*.bin, {glob: tokenizer/*, copy: true}]
    setup: pip install -e .
    environment: {requirements: requirements.txt, lock: uv.lock}
    """
    s = load_scenario(write(tmp_path, text))
    assert [(i.glob, i.copy) for i in s.inputs] == [("data/**/*.bin", False), ("tokenizer/*", True)]
    assert s.setup == ("pip", "install", "-e", ".")
    assert s.environment is not None
    assert s.environment.files == ("requirements.txt", "uv.lock")


def test_steps_stop(tmp_path):
    s = load_scenario(write(tmp_path, "name: x\ncommand: [a]\nstop: {steps: 5}\n"))
    assert s.stop.env_value == "steps:5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ncommand: [a]\nshrnk: {}\n", "s.yaml: shrnk: unknown key"),
        ("name: x\ncommand: [a]\nresources: {gpus: 1}\n", "s.yaml: resources.gpus: unknown key"),
        ("name: x\ncommand: [a]\nresources: {gpu: one}\n", "s.yaml: resources.gpu: 'one' is not"),
        ("name: x\n", "s.yaml: command: required field is missing"),
        ("name: x\ncommand: []\n", "s.yaml: command: [] should be non-empty"),
        ("name: x\ncommand: 5\n", "s.yaml: command: expected a non-empty list of strings"),
        ("name: x\ncommand: [a]\nstop: {steps: 0}\n", "s.yaml: stop.steps: 0 is less than"),
        ("name: x\ncommand: [a]\nstop: sometime\n", "s.yaml: stop: 'sometime' is not one of"),
        ("name: x\ncommand: [a]\ntimeout_s: -1\n", "s.yaml: timeout_s: -1 is less than"),
        ("name: 'bad name'\ncommand: [a]\n", "s.yaml: name: 'bad name' does not match"),
        ("name: x\ncommand: [a]\nfirst_batch: sometimes\n", "s.yaml: first_batch: 'sometimes'"),
        ("- just\n- a list\n", "s.yaml: expected a mapping at the top level"),
        (
            "name: x\ncommand: 'unterminated\n",
            "s.yaml:3:1: YAML syntax error: found unexpected end of stream",
        ),
        ("name: x\ncommand: [a\n", "s.yaml:3:1: YAML syntax error"),
        (
            "name: x\ncommand: [a]\ninputs: [../data]\n",
            "s.yaml: inputs.0: expected a path relative",
        ),
        ("name: x\ncommand: [a]\ninputs: [{glob: d, cp: 1}]\n", "s.yaml: inputs.0.cp: unknown key"),
        ("name: x\ncommand: [a]\nsetup: 5\n", "s.yaml: setup: expected a non-empty list"),
        ("name: x\ncommand: [a]\nenvironment: {reqs: r.txt}\n", "environment.reqs: unknown key"),
        ("name: x\ncommand: [a]\nenvironment: {lock: /uv.lock}\n", "environment.lock: expected"),
    ],
)
def test_errors_name_file_and_field(tmp_path, text, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 's.yaml'}:"), message  # the file comes first
    assert expected in message
    assert "\n" not in message


def test_yaml_error_names_line(tmp_path):
    path = write(tmp_path, "name: x\ncommand: [a]\ntags: [a, b\nfoo: 1\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:\d+:\d+: YAML syntax error"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_load_all_rejects_duplicate_names(tmp_path):
    write(tmp_path, "name: same\ncommand: [a]\n", "a.yaml")
    write(tmp_path, "name: same\ncommand: [b]\n", "b.yaml")
    with pytest.raises(ScenarioError, match=r"b\.yaml: name: 'same' is also used by"):
        load_all(tmp_path)


def test_find_by_name_lists_known_ones(tmp_path):
    write(tmp_path, "name: one\ncommand: [a]\n", "one.yaml")
    assert find("one", tmp_path).name == "one"
    with pytest.raises(ScenarioError, match=r"no scenario named 'two' in .* \(one\)"):
        find("two", tmp_path)


def test_bundled_scenarios_load():
    scenarios = load_all(REPO / "scenarios")
    names = {s.name for s in scenarios}
    assert len(scenarios) >= 4
    assert any(s.needs_gpu and s.resources.runner == ("self-hosted", "gpu") for s in scenarios)
    for s in scenarios:
        assert s.command, s.name
    assert names  # every file parsed into a named scenario


@pytest.mark.parametrize(("written", "read"), [("off", "off"), ("on", "on"), ("'off'", "off")])
def test_instructions_on_off_as_yaml_reads_them(tmp_path, written, read):
    s = load_scenario(write(tmp_path, f"name: x\ncommand: [a]\ninstructions: {written}\n"))
    assert s.instructions == read
    assert load_scenario(write(tmp_path, "name: x\ncommand: [a]\n")).instructions == "auto"
