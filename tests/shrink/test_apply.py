"""Shrinking real commands and files, with the example trainer's own validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.errors import ConfigError
from bot.shrink.apply import DETERMINISTIC_ENV, shrink_command
from bot.shrink.spec import ShrinkSpec

from ..conftest import PYTHON, REPO

VALIDATE = ("python", "-m", "examples.trainer.train", "--config", "{config}", "--validate-only")
PROD = ["python", "-m", "examples.trainer.train", "--config", "examples/configs/ranker.yaml"]


def spec(rules, **kw) -> ShrinkSpec:
    return ShrinkSpec.parse({"rules": rules, **kw}, source="test")


def test_config_file_with_overrides_folded_in_and_validated(tmp_path):
    argv = [*PROD, "trainer.log_every=7"]
    shrunk = shrink_command(
        argv,
        spec(
            {"trainer.steps": 2, "data.rows": {"max": 4096}, "model.num_embeddings": {"max": 1000}},
            validate=list(VALIDATE),
        ),
        root=REPO,
        workdir=tmp_path,
        python=PYTHON,
        name="ranker-cpu",
    )
    assert shrunk.form == "file" and shrunk.validated
    assert shrunk.written is not None and shrunk.written.parent == tmp_path
    assert list(shrunk.argv) == [*PROD[:4], str(shrunk.written)]  # override folded in
    config = yaml.safe_load(shrunk.written.read_text())
    assert config["trainer"]["steps"] == 2 and config["trainer"]["log_every"] == 7
    assert config["model"]["num_embeddings"] == [1000] * 8
    assert shrunk.env == DETERMINISTIC_ENV
    report = shrunk.to_json()
    assert {c["path"] for c in report["changes"]} == {
        "trainer.steps",
        "data.rows",
        "model.num_embeddings",
    }


def test_shrink_that_breaks_validation_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ConfigError) as info:
        shrink_command(
            PROD,
            spec({"model.hidden": {"set": []}}, validate=list(VALIDATE)),
            root=REPO,
            workdir=tmp_path,
            python=PYTHON,
            name="ranker-cpu",
        )
    message = str(info.value)
    assert "ranker-cpu: the shrunk config fails the project's validation" in message
    assert "model.hidden" in message
    assert list(tmp_path.iterdir()) == []


def test_rule_naming_a_missing_key_names_key_and_file(tmp_path):
    with pytest.raises(ConfigError, match=r"examples/configs/ranker\.yaml: trainer\.stepz: no"):
        shrink_command(
            PROD, spec({"trainer.stepz": 2}), root=REPO, workdir=tmp_path, python=PYTHON, name="x"
        )


def test_override_list_form(tmp_path):
    argv = ["python", "train.py", "trainer.max_steps=1000", "model.hidden=[512,256]", "x=y"]
    shrunk = shrink_command(
        argv,
        spec({"model.hidden": {"scale": 0.25}}, auto=True),
        root=tmp_path,
        workdir=tmp_path,
        python=PYTHON,
        name="c",
    )
    assert shrunk.form == "overrides"
    assert shrunk.argv == (
        "python",
        "train.py",
        "trainer.max_steps=2",
        "model.hidden=[128,64]",
        "x=y",
    )


def test_argparse_flags_form(tmp_path):
    argv = ["python", "train.py", "--steps", "1000", "--batch-size=512", "--fp16", "--lr", "3e-4"]
    shrunk = shrink_command(
        argv,
        spec({"steps": 2}, auto=True),
        root=tmp_path,
        workdir=tmp_path,
        python=PYTHON,
        name="c",
    )
    assert shrunk.form == "flags"
    assert shrunk.argv == (
        "python",
        "train.py",
        "--steps",
        "2",
        "--batch-size=32",
        "--fp16",
        "--lr",
        "3e-4",
    )


def test_nothing_to_shrink(tmp_path):
    with pytest.raises(ConfigError, match="nothing to shrink"):
        shrink_command(
            ["python", "train.py"],
            spec({"a": 1}),
            root=tmp_path,
            workdir=tmp_path,
            python=PYTHON,
            name="c",
        )


def test_json_config_round_trip(tmp_path):
    source = tmp_path / "cfg.json"
    source.write_text(json.dumps({"trainer": {"num_train_epochs": 10}}))
    shrunk = shrink_command(
        ["python", "t.py", "--config", str(source)],
        spec({}, auto=True),
        root=tmp_path,
        workdir=tmp_path / "w",
        python=PYTHON,
        name="j",
    )
    assert shrunk.written is not None and shrunk.written.suffix == ".json"
    assert json.loads(shrunk.written.read_text()) == {"trainer": {"num_train_epochs": 1}}


def test_cli_shrink_file_with_report(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    out, report = tmp_path / "small.yaml", tmp_path / "report.json"
    code = main(
        [
            "shrink",
            "examples/configs/lm.yaml",
            "--auto",
            "-o",
            str(out),
            "--json",
            str(report),
            "--validate",
            "python -m examples.trainer.train --config {config} --validate-only",
        ]
    )
    assert code == 0
    doc = json.loads(report.read_text())
    assert doc["version"] == 1 and doc["validated"] is True and doc["form"] == "file"
    paths = {c["path"] for c in doc["changes"]}
    assert {"trainer.steps", "model.d_model", "model.n_layer", "data.rows"} <= paths
    assert yaml.safe_load(out.read_text())["model"]["d_model"] == 64
    assert "trainer.steps: 360 → 2" in capsys.readouterr().err


def test_cli_failed_shrink_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    rules = tmp_path / "rules.yaml"
    rules.write_text("model.n_head: 5\n")  # d_model % n_head != 0
    out = tmp_path / "small.yaml"
    code = main(
        [
            "shrink",
            "examples/configs/lm.yaml",
            "--rules",
            str(rules),
            "-o",
            str(out),
            "--validate",
            "python -m examples.trainer.train --config {config} --validate-only",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: lm.yaml: the shrunk config fails the project's validation")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]


def test_cli_shrink_command_form(capsys):
    code = main(
        [
            "shrink",
            "--auto",
            "--",
            "python",
            "train.py",
            "--max_steps",
            "500",
            "--num-workers",
            "16",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == "python train.py --max_steps 2 --num-workers 2"


def test_cli_shrink_usage_errors(capsys, tmp_path):
    assert main(["shrink", "--auto"]) == 2
    assert "give a CONFIG file" in capsys.readouterr().err
    assert main(["shrink", str(tmp_path / "x.yaml")]) == 2
    assert "give --rules FILE, --auto or --device" in capsys.readouterr().err


def test_bundled_scenarios_shrink_production_configs_and_pass_validation(tmp_path):
    """Every CPU scenario runs its production config, shrunk, through the trainer's validator."""
    from bot.ab.targets import scenario_job
    from bot.scenarios import load_all

    shrunk_ones = [s for s in load_all(REPO / "scenarios") if s.shrink is not None]
    # the example trainer's scenarios shrink; framework ones are small on their command line
    assert {"ranker-cpu", "lm-cpu", "cnn-cpu", "ranker-gpu"} <= {s.name for s in shrunk_ones}
    for scenario in shrunk_ones:
        assert scenario.shrink is not None
        if "--config" not in scenario.command:
            continue  # shrunk in place: the next test
        assert scenario.shrink.validate, scenario.name
        config = scenario.command[scenario.command.index("--config") + 1]
        assert config.startswith("examples/configs/"), scenario.name
        if scenario.needs_gpu:
            continue
        job = scenario_job(scenario, root=REPO, python=PYTHON, workdir=tmp_path)
        assert job.shrink is not None and job.shrink["validated"], scenario.name
        assert job.env["PYTHONHASHSEED"] == "0"
        shrunk = yaml.safe_load(Path(job.shrink["file"]).read_text())
        assert shrunk["trainer"]["steps"] <= 2, scenario.name
        production = yaml.safe_load((REPO / config).read_text())
        assert shrunk["data"]["rows"] < production["data"]["rows"], scenario.name


def test_bundled_scenarios_shrunk_in_place_keep_every_untouched_argument(tmp_path):
    """A scenario without a --config file (e.g. a nanoGPT-style trainer in its own cwd) gets
    its steps shrunk, and each argument either comes back verbatim or is a reported change."""
    from bot.scenarios import load_all

    for scenario in load_all(REPO / "scenarios"):
        if scenario.shrink is None or "--config" in scenario.command:
            continue
        argv = scenario.command_for(PYTHON)
        shrunk = shrink_command(
            argv,
            scenario.shrink,
            root=REPO,
            workdir=tmp_path,
            python=PYTHON,
            name=scenario.name,
            cwd=REPO / scenario.cwd,
        )
        assert any(c.rule.startswith("auto steps") for c in shrunk.result.changes), scenario.name
        arguments = [c.argument for c in shrunk.result.changes]
        for before, after in zip(argv, shrunk.argv, strict=False):
            assert after == before or any(a.startswith(f"{before} → ") for a in arguments)
