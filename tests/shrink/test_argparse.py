"""Argparse trainers: defaults read from the script, names known by spelling or help text."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot.shrink import argparse_defaults
from bot.shrink.auto import kind_of, shrink
from bot.shrink.spec import ShrinkSpec

from ..conftest import PYTHON
from .test_styles import changed, shrunk

# In the shape of pytorch/examples' word_language_model/main.py: every default in the script.
SCRIPT = """
import argparse, json
parser = argparse.ArgumentParser(description="LSTM language model")
parser.add_argument("--data", type=str, default="./data/wikitext-2", help="location of the data")
parser.add_argument("--emsize", type=int, default=200, help="size of word embeddings")
parser.add_argument("--nhid", type=int, default=200, help="number of hidden units per layer")
parser.add_argument("--nlayers", type=int, default=6, help="number of layers")
parser.add_argument("--lr", type=float, default=20, help="initial learning rate")
parser.add_argument("--epochs", type=int, default=40, help="upper epoch limit")
parser.add_argument("--batch-size", type=int, default=256, metavar="N", help="batch size")
parser.add_argument("--bptt", type=int, default=140, help="sequence length")
parser.add_argument("--nhead", type=int, default=6, help="the number of heads")
parser.add_argument("--tokens", dest="vocab", type=int, default=50000, help="vocabulary")
parser.add_argument("--ctx", type=int, default=2048, help="context size of the model")
parser.add_argument("--ffn", type=int, default=1000, help="hidden size of the feed-forward")
parser.add_argument("--tied", action="store_true", help="tie the word embedding and softmax")
parser.add_argument("--cuda", action="store_true", default=False)
parser.add_argument("--max-samples", type=int, default=100000)
args = parser.parse_args()
print(json.dumps(vars(args)))
"""


def test_defaults_are_read_with_their_spelling_and_help():
    read = argparse_defaults.read(SCRIPT)
    assert read.values["emsize"] == 200 and read.values["batch_size"] == 256
    assert read.options["batch_size"].flag == "--batch-size"
    assert read.options["vocab"].flag == "--tokens"  # dest= wins over the spelling
    assert read.options["lr"].text == "20" and read.options["bptt"].help == "sequence length"
    assert "tied" not in read.options and "cuda" not in read.options  # flags carry no value


@pytest.mark.parametrize(
    "name",
    ["emsize", "nhid", "ninp", "d_model", "hidden_size", "hidden_dim", "n_embd", "embed_dim",
     "dim", "width"],
)  # fmt: skip
def test_width_names(name):
    assert kind_of(name).name == "width"


@pytest.mark.parametrize(
    "family,names",
    [
        ("layers", ["nlayers", "num_layers", "n_layer", "depth"]),
        ("heads", ["nhead", "n_head", "num_heads"]),
        ("sequence length", ["bptt", "seq_len", "block_size", "max_seq_length", "context_length"]),
        ("dataset size", ["max_samples", "limit_train_batches", "num_samples", "subset"]),
    ],
)
def test_name_families(family, names):
    assert {kind_of(n).name for n in names} == {family}


def test_help_text_names_what_the_spelling_does_not():
    assert kind_of("tokens", "vocabulary") is None
    assert kind_of("ctx", "context size of the model").name == "sequence length"
    assert kind_of("ffn", "hidden size of the feed-forward").name == "width"
    assert kind_of("nl", "number of LSTM layers").name == "layers"
    assert kind_of("lr", "initial learning rate") is None


def test_widths_stay_a_multiple_of_the_heads():
    r = shrink({"model": {"d_model": 1500, "nhead": 3}}, rules={"model.nhead": 3}, auto=True)
    assert r.config["model"] == {"d_model": 258, "nhead": 3}  # 256 rounded up to 3's multiple
    assert any("multiple of the 3 heads" in c.rule for c in r.changes)


def test_an_argparse_trainer_is_shrunk_from_its_script_defaults(tmp_path):
    (tmp_path / "main.py").write_text(SCRIPT)
    argv = ["python", "main.py", "--epochs", "1", "--lr=20", "--data", "./data/wikitext-2"]
    out = shrunk(argv, tmp_path)
    assert out.argv[:7] == tuple(argv)  # every argument given is kept byte for byte
    assert set(out.argv[7:]) == {
        "--emsize=48",
        "--nhid=48",
        "--nlayers=2",
        "--batch-size=32",
        "--bptt=64",
        "--nhead=2",
        "--ctx=64",
        "--ffn=248",
        "--max-samples=4096",
        "--tokens=1000",  # dest vocab: the table size, given with the option as spelled
    }
    changes = changed(out)
    assert changes["emsize"] == (200, 48, "argparse-defaults")
    assert "lr" not in changes and "epochs" not in changes and "data" not in changes
    proc = subprocess.run([PYTHON, *out.argv[1:]], cwd=tmp_path, capture_output=True, text=True)
    seen = json.loads(proc.stdout)
    assert seen["emsize"] == 48 and seen["batch_size"] == 32 and seen["lr"] == 20


def test_when_nothing_changes_the_shrinker_says_what_it_kept(tmp_path):
    small = SCRIPT
    for before, after in (("200", "32"), ("6,", "2,"), ("40", "1"), ("256", "16"), ("140", "35")):
        small = small.replace(f"default={before}", f"default={after}")
    (tmp_path / "main.py").write_text(small)
    spec = ShrinkSpec.parse({"auto": True}, source="t")
    from bot.shrink.apply import shrink_command

    out = shrink_command(
        ["python", "main.py"], spec, root=tmp_path, workdir=tmp_path, python=PYTHON, name="t"
    )
    kept = "\n".join(out.result.kept)
    assert "epochs=1: epochs, already within cap 1" in kept
    assert "bptt=35: sequence length, already within cap 64" in kept
