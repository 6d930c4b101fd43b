"""The shrinker: rule kinds, wildcards, --auto on real-world-shaped configs, errors."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.shrink.auto import auto_rules, shrink
from bot.shrink.rules import apply
from bot.shrink.spec import ShrinkSpec

CONFIG = {
    "seed": None,
    "trainer": {"steps": 1000, "device": "cuda:0", "log_every": 100},
    "model": {"hidden": [512, 256, 128], "embedding_dim": 64, "dropout": 0.1},
    "data": {"rows": 2_000_000, "path": "/data/clicks"},
    "tables": [{"name": "user", "rows": 100_000}, {"name": "item", "rows": 50_000}],
    "opt": {"lr": 0.003},
}


def test_set_rule():
    r = apply(CONFIG, {"trainer.steps": 2})
    assert r.config["trainer"]["steps"] == 2
    assert CONFIG["trainer"]["steps"] == 1000  # input untouched
    assert [c.to_json() for c in r.changes] == [
        {"path": "trainer.steps", "before": 1000, "after": 2, "rule": "set 2"}
    ]


def test_set_mapping_value_with_explicit_set():
    r = apply(CONFIG, {"opt": {"set": {"lr": 0.1}}})
    assert r.config["opt"] == {"lr": 0.1}


def test_scale_with_min_and_rounding_per_list_element():
    r = apply(CONFIG, {"model.hidden": {"scale": 0.1, "min": 16, "multiple": 8}})
    assert r.config["model"]["hidden"] == [48, 24, 16]
    r = apply(CONFIG, {"model.embedding_dim": {"scale": 0.25}})
    assert r.config["model"]["embedding_dim"] == 16
    r = apply(CONFIG, {"opt.lr": {"scale": 0.5}})
    assert r.config["opt"]["lr"] == pytest.approx(0.0015)


def test_cap():
    r = apply(CONFIG, {"data.rows": {"max": 4096}})
    assert r.config["data"]["rows"] == 4096
    r = apply(CONFIG, {"trainer.steps": {"max": 5000}})
    assert r.changes == ()  # already under the cap: nothing reported


def test_wildcards_over_lists_and_mappings():
    r = apply(CONFIG, {"tables.*.rows": {"max": 1000}})
    assert [t["rows"] for t in r.config["tables"]] == [1000, 1000]
    assert [c.path for c in r.changes] == ["tables.0.rows", "tables.1.rows"]
    r = apply(CONFIG, {"trainer.*": {"set": 1}})
    assert r.config["trainer"] == {"steps": 1, "device": 1, "log_every": 1}
    r = apply(CONFIG, {"tables.1.name": "other"})
    assert r.config["tables"][1]["name"] == "other"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"trainer.stepz": 2}, "config: trainer.stepz: no such key"),
        ({"tables.*.cols": 2}, "config: tables.*.cols: no such key"),
        ({"model.hidden": {"scale": -1}}, "scale must be a positive number"),
        ({"model.hidden": {"scael": 0.5}}, "unknown rule key(s) ['scael']"),
        ({"model.hidden": {"min": 8}}, "needs 'scale' or 'max'"),
        ({"data.path": {"max": 10}}, "data.path: cannot cap 10: value '/data/clicks' is not"),
        ({"model..hidden": 1}, "not a dotted path"),
        ({"opt": {"set": 1, "max": 2}}, "'set' cannot be combined"),
    ],
)
def test_errors_name_the_key(rules, message):
    with pytest.raises(ConfigError) as info:
        apply(CONFIG, rules)
    assert message in str(info.value)


HF_STYLE = {
    "model_name_or_path": "gpt2",
    "num_train_epochs": 3,
    "max_steps": -1,
    "per_device_train_batch_size": 64,
    "dataloader_num_workers": 8,
    "learning_rate": 5e-5,
    "model": {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024, "vocab_size": 50257},
}
LIGHTNING_STYLE = {
    "trainer": {"max_epochs": 100, "accelerator": "gpu", "devices": 8},
    "model": {
        "num_hidden_layers": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "max_position_embeddings": 2048,
        "dropout": 0.1,
    },
    "data": {
        "batch_size": 256,
        "num_workers": 16,
        "max_train_samples": 10_000_000,
        "image_size": 224,
    },
}


def test_auto_on_hf_style_config():
    r = shrink(HF_STYLE, auto=True)
    c = r.config
    assert c["num_train_epochs"] == 1
    assert c["max_steps"] == -1  # "no limit" is not a number to cap: max(-1, 2) keeps -1
    assert c["per_device_train_batch_size"] == 32
    assert c["dataloader_num_workers"] == 2
    assert c["model"] == {
        "n_layer": 2,
        "n_embd": 192,
        "n_head": 2,  # heads capped; the width stays a multiple of them
        "n_positions": 64,
        "vocab_size": 1000,
    }
    assert c["learning_rate"] == 5e-5 and c["model_name_or_path"] == "gpt2"  # unrecognised
    assert all(ch.rule.startswith("auto ") for ch in r.changes)


def test_auto_on_lightning_style_config_and_device_forcing():
    r = shrink(LIGHTNING_STYLE, auto=True, device="cpu")
    c = r.config
    assert c["trainer"]["max_epochs"] == 1
    assert c["trainer"]["accelerator"] == "cpu"
    assert c["trainer"]["devices"] == 8  # a count, not a device name: left alone
    assert c["model"]["num_hidden_layers"] == 2
    assert c["model"]["hidden_size"] == 256 and c["model"]["intermediate_size"] == 256  # cap
    assert c["model"]["max_position_embeddings"] == 64
    assert c["data"] == {
        "batch_size": 32,
        "num_workers": 2,
        "max_train_samples": 4096,
        "image_size": 32,
    }
    assert c["model"]["dropout"] == 0.1
    reasons = {ch.path: ch.rule for ch in r.changes}
    assert "worker start-up is part of TTFB" in reasons["data.num_workers"]
    assert reasons["trainer.accelerator"] == "device forced to cpu"


def test_auto_never_touches_unrecognised_keys():
    config = {"foo": 10_000, "nested": {"bar_size": 4096, "learning_rate": 0.1}}
    assert auto_rules(config) == {}
    assert shrink(config, auto=True).changes == ()


def test_auto_leaves_an_input_size_alone():
    # lightning-hydra-template's MNIST MLP: input_size is the flattened image (28 * 28), which
    # the data fixes; capping it like an image side broke the first forward pass.
    config = {"model": {"net": {"input_size": 784, "lin1_size": 64}}, "data": {"image_size": 224}}
    r = shrink(config, auto=True)
    assert r.config["model"]["net"]["input_size"] == 784
    assert r.config["data"]["image_size"] == 32


def test_explicit_rules_win_over_auto_and_seeds_are_fixed():
    r = shrink(CONFIG, rules={"trainer.steps": 10}, auto=True)
    assert r.config["trainer"]["steps"] == 10
    assert r.config["seed"] == 0
    assert r.config["data"]["rows"] == 4096


def test_spec_flat_and_structured_forms():
    flat = ShrinkSpec.parse({"trainer.steps": 2, "data.rows": {"max": 4096}}, source="s.yaml")
    assert flat.rules == {"trainer.steps": 2, "data.rows": {"max": 4096}} and not flat.auto
    full = ShrinkSpec.parse(
        {
            "rules": {"trainer.steps": 2},
            "auto": True,
            "device": "cpu",
            "validate": "python check.py {config}",
        },
        source="s.yaml",
    )
    assert full.auto and full.device == "cpu"
    assert full.validate == ("python", "check.py", "{config}")
    assert full.deterministic


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {"a": 1}, "atuo": True}, "s.yaml: shrink.atuo: unknown key"),
        ({"rules": [1, 2]}, "s.yaml: shrink.rules: expected a mapping"),
        ({"rules": {"a": {"scale": 0}}}, "s.yaml: shrink.rules: rule a: scale must be"),
        ({"rules": {}, "auto": "yes"}, "s.yaml: shrink.auto: expected true or false"),
        ({"rules": {}, "validate": 5}, "s.yaml: shrink.validate: expected a command"),
    ],
)
def test_spec_errors(data, message):
    with pytest.raises(ConfigError) as info:
        ShrinkSpec.parse(data, source="s.yaml")
    assert message in str(info.value)
