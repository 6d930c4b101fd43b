"""Shrinking the configs real trainers use, in place, with every untouched byte kept.

One test per style (nanoGPT config file + ``--name=value``, the script's own defaults, Hydra,
HF ``TrainingArguments`` flags, LightningCLI), a nanoGPT-style trainer actually run on the
shrunk command, and a property: arguments no rule touches come back verbatim.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.shrink import argv as shrinkargs
from bot.shrink.apply import shrink_command
from bot.shrink.auto import _BY_NAME, SEED_NAMES
from bot.shrink.cmdline import rewrite
from bot.shrink.rules import norm
from bot.shrink.spec import ShrinkSpec

from ..conftest import PYTHON

# nanoGPT's train.py, cut down: module-level defaults, the configurator, then the config used.
TRAIN_PY = """\
import json
out_dir = 'out'
eval_interval = 2000
eval_iters = 200
log_interval = 1
eval_only = False
dataset = 'openwebtext'
gradient_accumulation_steps = 5 * 8
batch_size = 12
block_size = 1024
n_layer = 12
n_head = 12
n_embd = 768
dropout = 0.0
bias = False
learning_rate = 6e-4
max_iters = 600000
lr_decay_iters = 600000
device = 'cuda'
compile = True
seed = None
config_keys = [k for k, v in globals().items()
               if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
exec(open('configurator.py').read())
print(json.dumps({k: globals()[k] for k in config_keys}))
"""
# nanoGPT's configurator.py, in substance: exec .py arguments, literal_eval --key=value ones.
CONFIGURATOR_PY = """\
import sys
from ast import literal_eval
for arg in sys.argv[1:]:
    if '=' not in arg:
        assert not arg.startswith('--')
        exec(open(arg).read())
    else:
        assert arg.startswith('--')
        key, val = arg.split('=')
        key = key[2:]
        if key not in globals():
            raise ValueError(f"Unknown config key: {key}")
        try:
            attempt = literal_eval(val)
        except (SyntaxError, ValueError):
            attempt = val
        assert type(attempt) == type(globals()[key]), (key, val)
        globals()[key] = attempt
"""
SHAKESPEARE_PY = """\
out_dir = 'out-shakespeare-char'
eval_interval = 250 # keep frequent because we'll overfit
eval_iters = 200
log_interval = 10
dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256 # context of up to 256 previous characters
n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2
learning_rate = 1e-3 # with baby networks can afford to go a bit higher
max_iters = 5000
lr_decay_iters = 5000 # make equal to max_iters usually
"""


def nanogpt(root: Path) -> Path:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "train.py").write_text(TRAIN_PY)
    (root / "configurator.py").write_text(CONFIGURATOR_PY)
    (root / "config" / "train_shakespeare_char.py").write_text(SHAKESPEARE_PY)
    return root


def shrunk(argv, root, *, device=None, **rules):
    data = {"auto": True, "rules": rules, **({"device": device} if device else {})}
    return shrink_command(
        argv,
        ShrinkSpec.parse(data, source="test"),
        root=root,
        workdir=root,
        python=PYTHON,
        name="t",
    )


def changed(result) -> dict[str, tuple[object, object, str]]:
    return {c.path: (c.before, c.after, c.style) for c in result.result.changes}


# --- one test per style -------------------------------------------------------------------------


def test_python_config_file_and_overrides_nanogpt(tmp_path):
    argv = [
        "python",
        "train.py",
        "config/train_shakespeare_char.py",
        "--compile=False",
        "--max_iters=5000",
        "--dataset='shakespeare_char'",
    ]
    out = shrunk(argv, nanogpt(tmp_path), device="cpu")
    assert out.form == "python"
    assert list(out.argv[:6]) == [*argv[:4], "--max_iters=2", "--dataset='shakespeare_char'"]
    # names only the files set are appended, in the configurator's syntax, after the .py file
    assert set(out.argv[6:]) == {
        "--eval_interval=2",
        "--eval_iters=2",
        "--batch_size=32",
        "--block_size=64",
        "--n_layer=2",
        "--n_embd=96",
        "--n_head=2",
        "--device='cpu'",
    }
    changes = changed(out)
    assert changes["max_iters"] == (5000, 2, "python-override")
    assert changes["n_layer"] == (6, 2, "python-config")  # the config file's value, not 12
    assert changes["device"] == ("cuda", "cpu", "script-defaults")
    assert "compile" not in changes and "learning_rate" not in changes
    (edit,) = [c for c in out.result.changes if c.path == "max_iters"]
    assert edit.argument == "--max_iters=5000 → --max_iters=2"
    assert edit.to_json()["style"] == "python-override"
    assert "appended --n_layer=2 (default from config/train_shakespeare_char.py)" in str(
        [c.argument for c in out.result.changes]
    )


def test_script_defaults_with_configurator(tmp_path):
    nanogpt(tmp_path)
    out = shrunk(["python", "train.py", "--compile=False", "--n_layer=4"], tmp_path)
    assert out.argv[:4] == ("python", "train.py", "--compile=False", "--n_layer=2")
    appended = set(out.argv[4:])
    assert {"--max_iters=2", "--gradient_accumulation_steps=1", "--n_embd=192"} <= appended
    assert {"--block_size=64", "--eval_iters=2", "--eval_interval=2"} <= appended
    assert not any(
        a.startswith(("--learning_rate", "--lr_decay_iters", "--device")) for a in appended
    )
    changes = changed(out)
    assert changes["gradient_accumulation_steps"] == (40, 1, "script-defaults")  # 5 * 8
    assert changes["n_layer"] == (4, 2, "python-override")


def test_script_defaults_without_exec_are_edited_in_place_never_appended(tmp_path):
    """Module-level defaults and matching --name=value arguments, but no configurator: the
    arguments are Python literals, and nothing is added the script might not accept."""
    (tmp_path / "train.py").write_text("max_iters = 100\nn_layer = 12\nfast = True\n")
    out = shrunk(["python", "train.py", "--max_iters=5000", "--fast=True"], tmp_path)
    assert out.argv == ("python", "train.py", "--max_iters=2", "--fast=True")


def test_shrink_config_naming_a_py_file_forces_the_python_style(tmp_path):
    (tmp_path / "defaults.py").write_text("n_layer = 12\nmax_iters = 1000\nname = 'gpt'\n")
    (tmp_path / "train.py").write_text("import defaults\n")
    spec = ShrinkSpec.parse({"auto": True, "config": "defaults.py"}, source="test")
    out = shrink_command(
        ["python", "train.py", "--name='gpt'"],
        spec,
        root=tmp_path,
        workdir=tmp_path,
        python=PYTHON,
        name="t",
    )
    assert out.argv == ("python", "train.py", "--name='gpt'", "--n_layer=2", "--max_iters=2")


def test_torchrun_launch_of_a_configurator_script(tmp_path):
    nanogpt(tmp_path)
    argv = shlex.split(
        "torchrun --standalone --nproc_per_node=8 train.py config/train_shakespeare_char.py"
        " --batch_size=48"
    )
    out = shrunk(argv, tmp_path)
    assert out.argv[:6] == (*argv[:5], "--batch_size=32")  # launcher flags untouched
    assert "--n_layer=2" in out.argv[6:]


def test_hydra_overrides_in_place_and_config_dir_keys_appended(tmp_path):
    conf = tmp_path / "conf"
    for sub in ("trainer", "model"):
        (conf / sub).mkdir(parents=True)
    (conf / "config.yaml").write_text(
        "defaults:\n  - trainer: default\n  - model: gpt\n  - _self_\n"
        "seed: null\ndata:\n  batch_size: 64\n  num_workers: 8\n  path: /data/x\n"
    )
    (conf / "trainer" / "default.yaml").write_text("max_epochs: 10\naccelerator: gpu\n")
    (conf / "trainer" / "cpu.yaml").write_text("max_epochs: 20\naccelerator: cpu\n")
    (conf / "model" / "gpt.yaml").write_text("n_layer: 12\nhidden_size: 768\ndropout: 0.1\n")
    (tmp_path / "train.py").write_text(
        "import hydra\n\n"
        '@hydra.main(config_path="conf", config_name="config", version_base=None)\n'
        "def main(cfg):\n    pass\n"
    )
    argv = [
        "python",
        "train.py",
        "trainer=cpu",
        "trainer.max_epochs=10",
        "++data.batch_size=64",
        "+trainer.fast_dev_run=true",
        "optim.lr=1e-3",
    ]
    out = shrunk(argv, tmp_path)
    assert out.form == "overrides"
    assert out.argv[:7] == (
        "python",
        "train.py",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "++data.batch_size=32",
        "+trainer.fast_dev_run=true",
        "optim.lr=1e-3",
    )
    assert set(out.argv[7:]) == {
        "data.num_workers=2",
        "model.n_layer=2",
        "model.hidden_size=192",
        "seed=0",
    }
    changes = changed(out)
    assert changes["trainer.max_epochs"] == (10, 1, "hydra-override")
    assert changes["model.n_layer"] == (12, 2, "hydra-config")


def test_hydra_config_found_from_command_line_flags(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train.yaml").write_text("trainer:\n  max_steps: 1000\n")
    argv = ["python", "run.py", "-cp", "configs", "--config-name=train", "trainer.max_steps=500"]
    out = shrunk(argv, tmp_path)
    assert out.argv == (*argv[:5], "trainer.max_steps=2")


def test_hf_training_arguments_flags_both_forms(tmp_path):
    argv = shlex.split(
        "python run_clm.py --model_name_or_path gpt2 --do_train --do_eval"
        " --per_device_train_batch_size 64 --per_device_eval_batch_size=64"
        " --num_train_epochs 3 --max_steps=10000 --eval_steps 500"
        " --gradient_accumulation_steps 4 --dataloader_num_workers=8"
        " --max_train_samples 100000 --max_eval_samples=5000 --learning_rate 5e-5"
        " --fp16 True --output_dir /tmp/clm --overwrite_output_dir"
    )
    out = shrunk(argv, tmp_path)
    assert out.form == "flags"
    assert shlex.join(out.argv) == (
        "python run_clm.py --model_name_or_path gpt2 --do_train --do_eval"
        " --per_device_train_batch_size 32 --per_device_eval_batch_size=32"
        " --num_train_epochs 1 --max_steps=2 --eval_steps 2"
        " --gradient_accumulation_steps 1 --dataloader_num_workers=2"
        " --max_train_samples 4096 --max_eval_samples=4096 --learning_rate 5e-5"
        " --fp16 True --output_dir /tmp/clm --overwrite_output_dir"
    )
    assert {c.style for c in out.result.changes} == {"hf-flag"}
    (edit,) = [c for c in out.result.changes if c.path == "per_device_train_batch_size"]
    assert edit.argument == "--per_device_train_batch_size 64 → --per_device_train_batch_size 32"


def test_lightning_cli_fit_flags_both_forms(tmp_path):
    argv = shlex.split(
        "python main.py fit --trainer.max_epochs=100 --trainer.max_steps 50000"
        " --trainer.limit_train_batches 0.25 --trainer.num_sanity_val_steps=2"
        " --trainer.accelerator gpu --trainer.precision bf16-mixed"
        " --data.batch_size 256 --data.num_workers=16 --model.n_layer 12"
        " --model.hidden_dim=1024 --optimizer.lr=1e-3 --trainer.deterministic=True"
    )
    out = shrunk(argv, tmp_path, device="cpu")
    assert shlex.join(out.argv) == (
        "python main.py fit --trainer.max_epochs=1 --trainer.max_steps 2"
        " --trainer.limit_train_batches 0.25 --trainer.num_sanity_val_steps=2"
        " --trainer.accelerator cpu --trainer.precision bf16-mixed"
        " --data.batch_size 32 --data.num_workers=2 --model.n_layer 2"
        " --model.hidden_dim=256 --optimizer.lr=1e-3 --trainer.deterministic=True"
    )
    assert {c.style for c in out.result.changes} == {"lightning-flag"}


def test_lightning_cli_with_a_config_file_shrinks_file_and_flags(tmp_path):
    (tmp_path / "prod.yaml").write_text(
        "trainer:\n  max_epochs: 100\n  accelerator: gpu\nmodel:\n  n_layer: 24\n"
        "data:\n  batch_size: 512\n"
    )
    argv = ["python", "main.py", "fit", "--config", "prod.yaml", "--trainer.max_epochs=50"]
    out = shrunk(argv, tmp_path)
    assert out.form == "file" and out.written is not None
    assert out.argv == (*argv[:4], str(out.written), "--trainer.max_epochs=1")
    written = out.written.read_text()
    assert "max_epochs: 1\n" in written and "n_layer: 2\n" in written
    assert "batch_size: 32\n" in written


# --- untouched means untouched ------------------------------------------------------------------

# a production command whose untouched flags include a Python False and an exponent float
PRODUCTION = (
    "python",
    "train.py",
    "config/train_shakespeare_char.py",
    "--compile=False",
    "--learning_rate=1e-3",
    "--max_iters=5000",
)


def test_untouched_false_and_exponent_flags_kept_exactly(tmp_path):
    nanogpt(tmp_path)
    argv = list(PRODUCTION)
    out = shrunk(argv, tmp_path)
    assert out.argv[3] == "--compile=False" and out.argv[4] == "--learning_rate=1e-3"
    assert out.argv[5] == "--max_iters=2"


def test_cli_keeps_untouched_flags_and_reports_styles(tmp_path, monkeypatch, capsys):
    nanogpt(tmp_path)
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "report.json"
    command = "python train.py config/train_shakespeare_char.py --compile=False --max_iters=5000"
    code = main(["shrink", "--auto", "--json", str(report), "--", *shlex.split(command)])
    assert code == 0
    printed = shlex.split(capsys.readouterr().out)
    assert printed[:5] == [*shlex.split(command)[:4], "--max_iters=2"]
    doc = json.loads(report.read_text())
    assert doc["form"] == "python"
    by_path = {c["path"]: c for c in doc["changes"]}
    assert by_path["max_iters"]["style"] == "python-override"
    assert by_path["max_iters"]["argument"] == "--max_iters=5000 → --max_iters=2"
    assert by_path["n_layer"]["style"] == "python-config"


def test_shrunk_nanogpt_command_runs_and_sees_the_shrunk_values(tmp_path):
    """The trainer's own configurator (literal_eval + type check) accepts the shrunk command."""
    nanogpt(tmp_path)
    argv = list(PRODUCTION)
    out = shrunk(argv, tmp_path, device="cpu")
    proc = subprocess.run(
        [PYTHON, *out.argv[1:]], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["compile"] is False and seen["learning_rate"] == 1e-3
    assert seen["max_iters"] == 2 and seen["n_layer"] == 2 and seen["n_embd"] == 96
    assert seen["block_size"] == 64 and seen["eval_iters"] == 2 and seen["device"] == "cpu"
    assert seen["dataset"] == "shakespeare_char" and seen["n_head"] == 2
    assert seen["n_embd"] % seen["n_head"] == 0  # attention splits the width into heads
    # the same command as the old shrinker wrote it crashes this trainer
    old = [PYTHON, "train.py", "--compile=false"]
    crash = subprocess.run(old, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert crash.returncode != 0 and "compile" in crash.stderr


def _untouched(name: str) -> bool:
    """No part of ``name`` is a key auto, seed fixing or device forcing would change."""
    return all(
        norm(part) not in _BY_NAME
        and norm(part) not in SEED_NAMES
        and norm(part) not in ("device", "accelerator", "devicetype")
        for part in name.split(".")
    )


NAMES = st.from_regex(r"\Ax[a-z_]{0,8}(\.[a-z_]{1,6})?\Z").filter(_untouched)
VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["False", "True", "1e-3", "'gpt2'", '"x y"', "[512,256]", "-1", "0.10", ""]),
)
# a token of its own: not itself a setting (``steps=5``, ``--bs=5``) a rule could match
ALONE = VALUES.filter(lambda v: "=" not in v and not v.startswith("--"))
ARGS = st.one_of(
    st.builds(lambda n, v: f"--{n}={v}", NAMES, VALUES),
    st.builds(lambda n, v: [f"--{n}", v], NAMES, ALONE),
    st.builds(lambda n, v: f"{n}={v}", NAMES, VALUES.filter(lambda v: "{" not in v)),
    st.builds(lambda n: f"--{n}", NAMES),
    ALONE,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ARGS, max_size=8), st.booleans())
def test_property_untouched_arguments_are_kept_verbatim(args, python):
    tail = [t for a in args for t in (a if isinstance(a, list) else [a])]
    assume(not any(t in shrinkargs.SKIP_FLAGS or t.startswith("--config") for t in tail))
    argv = ["python", "train.py", *tail, "--max_iters=5000"]
    slots = shrinkargs.slots(argv, 2, python=python)
    out = rewrite(argv, slots, auto=True, device="cpu")
    assert list(out.argv[:-1]) == argv[:-1]
    assert out.argv[-1] == "--max_iters=2"
    assert [c.path for c in out.result.changes] == ["max_iters"]


def test_configurator_exec_inside_a_with_block_is_recognised():
    from bot.shrink import pyconfig

    source = (
        "n_layer = 12\nmax_iters = 5000\n"
        "with open('configurator.py') as f:\n    exec(f.read())\n"
        "late = 1\n"
    )
    config = pyconfig.read(source)
    assert config.execs
    assert set(config.names) == {"n_layer", "max_iters"}  # `late` comes after the exec
