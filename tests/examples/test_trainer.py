"""Tests of the example trainer (examples/trainer): end-to-end runs, config validation,
preprocessing, determinism and per-family import isolation.

End-to-end runs use subprocesses with tiny overrides so that the whole file stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # plain ``pytest`` (not ``python -m pytest``) from anywhere
    sys.path.insert(0, str(REPO))

from examples.trainer import preprocess  # noqa: E402
from examples.trainer.config import (  # noqa: E402
    ConfigError,
    apply_overrides,
    load_config,
    validate,
)

CONFIGS = REPO / "examples" / "configs"
FAMILIES = ("ranker", "lm", "cnn")

TINY: dict[str, list[str]] = {
    "ranker": [
        "data.rows=512", "data.cardinality=5000", "data.num_sparse=3",
        "model.num_embeddings=[100,200,300]", "model.embedding_dim=8",
        "model.hidden=[16]", "model.top_hidden=[16,8]", "loader.batch_size=64",
    ],
    "lm": [
        "data.rows=64", "model.vocab_size=64", "model.seq_len=16", "model.d_model=32",
        "model.n_layer=1", "model.n_head=2", "loader.batch_size=8",
    ],
    "cnn": [
        "data.rows=64", "data.image_size=8", "model.channels=[4,8]", "model.num_classes=3",
        "loader.batch_size=16",
    ],
}  # fmt: skip


def tiny_args(family: str, out: Path, steps: int = 3, workers: int = 0) -> list[str]:
    """CLI arguments for a fast run of ``family`` writing into ``out``."""
    return [
        "--config", str(CONFIGS / f"{family}.yaml"), *TINY[family],
        f"trainer.steps={steps}", "trainer.log_every=1", f"loader.num_workers={workers}",
        f"trainer.checkpoint_dir={out}",
    ]  # fmt: skip


def run_python(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the venv's python from the repository root and capture its output."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_train(*args: str) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "examples.trainer.train", *args)


def load_checkpoint(directory: Path) -> dict[str, Any]:
    import torch

    path = directory / "checkpoint.pt"
    assert path.is_file(), f"no checkpoint in {directory}"
    state: dict[str, Any] = torch.load(path, weights_only=True)
    return state


def read_metrics(directory: Path) -> list[dict[str, Any]]:
    lines = (directory / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- end-to-end runs -------------------------------------------------------------------


@pytest.mark.parametrize("family", ["lm", "cnn"])
def test_family_trains_end_to_end(family: str, tmp_path: Path) -> None:
    proc = run_train(*tiny_args(family, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "step 3/3 loss" in proc.stdout
    state = load_checkpoint(tmp_path)
    assert state["step"] == 3
    assert state["config"]["model"]["family"] == family
    assert state["model"] and state["optimizer"]["state"]
    events = [r["event"] for r in read_metrics(tmp_path)]
    assert events == ["run_start", "train_loss", "train_loss", "train_loss", "run_end"]


def test_ranker_run_imports_only_ranker_modules(tmp_path: Path) -> None:
    """A ranker run (started from ``-c``) trains, checkpoints, and never imports lm/cnn."""
    code = (
        "import json, sys\n"
        "from examples.trainer.train import main\n"
        f"rc = main({tiny_args('ranker', tmp_path)!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('examples.'))))\n"
        "sys.exit(rc)\n"
    )
    proc = run_python("-c", code)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.splitlines()[-1])
    assert "examples.trainer.models.ranker" in modules
    assert "examples.trainer.datasets.ranker" in modules
    for other in ("lm", "cnn"):
        assert f"examples.trainer.models.{other}" not in modules
        assert f"examples.trainer.datasets.{other}" not in modules
    assert load_checkpoint(tmp_path)["step"] == 3


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_loader_workers(start_method: str, tmp_path: Path) -> None:
    args = tiny_args("ranker", tmp_path, steps=4, workers=2)
    proc = run_train(*args, f"loader.start_method={start_method}")
    assert proc.returncode == 0, proc.stderr
    state = load_checkpoint(tmp_path)
    assert state["step"] == 4
    assert state["config"]["loader"]["start_method"] == start_method


def test_same_seed_same_run(tmp_path: Path) -> None:
    """In-process: two runs with one seed give identical losses and weights."""
    import torch

    from examples.trainer.train import main

    for name in ("a", "b"):
        assert main(tiny_args("ranker", tmp_path / name, steps=5)) == 0
    losses = [[r["loss"] for r in read_metrics(tmp_path / n) if "loss" in r] for n in "ab"]
    assert losses[0] == losses[1] and len(losses[0]) == 5
    a, b = (load_checkpoint(tmp_path / n)["model"] for n in "ab")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("family", "extra"),
    [
        ("ranker", ["data.rows=4096", "loader.batch_size=128", "optim.lr=0.1"]),
        ("lm", ["data.rows=512", "loader.batch_size=16", "optim.lr=0.01"]),
        ("cnn", ["data.noise=1.0", "data.rows=512", "optim.lr=0.05"]),
    ],
)
def test_loss_goes_down(family: str, extra: list[str], tmp_path: Path) -> None:
    """In-process: 40 seeded steps on the learnable synthetic data lower the training loss,
    the mean of the last five steps' losses against the first five's (one batch's loss is
    noisy; the ratios are ~0.8 for the ranker, ~0.5 for the CNN and ~0.35 for the LM)."""
    from examples.trainer.train import main

    args = tiny_args(family, tmp_path, steps=40)
    assert main([*args, *extra]) == 0  # tiny_args logs every step
    losses = [r["loss"] for r in read_metrics(tmp_path) if r["event"] == "train_loss"]
    assert len(losses) == 40
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.9 * first, losses


# --- config validation -----------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_validate_only_production_configs(family: str) -> None:
    path = f"examples/configs/{family}.yaml"
    proc = run_train("--config", path, "--validate-only")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"config ok: {path}"


def test_validate_only_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from examples.trainer.train import main\n"
        "rc = main(['--config', 'examples/configs/ranker.yaml', '--validate-only'])\n"
        "print('torch' in sys.modules)\n"
        "sys.exit(rc)\n"
    )
    proc = run_python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (["trainer.stepz=5"], "trainer.stepz", "unknown key"),
        (["model.colour=red"], "model.colour", "unknown key"),
        (["trainer.steps=abc"], "trainer.steps", "expected int"),
        (["trainer.steps=2.5"], "trainer.steps", "expected int"),
        (["loader.shuffle=3"], "loader.shuffle", "expected bool"),
        (["trainer.steps"], "trainer.steps", "expected dotted.key=value"),
        (["=5"], "=5", "expected dotted.key=value"),
        (["loader.batch_size=0"], "loader.batch_size", "must be positive"),
        (["loader.start_method=forkserver"], "loader.start_method", "fork, spawn"),
        (["trainer.device=tpu"], "trainer.device", "cpu, cuda"),
        (["model.num_embeddings=[10,20]"], "model.num_embeddings", "data.num_sparse"),
        (["model.hidden=[]"], "model.hidden", "non-empty list"),
        (["model.family=gan"], "model.family", "must be one of"),
        (["seed.value=1"], "seed", "cannot set seed.value"),
    ],
)
def test_bad_override_is_one_line_error(overrides: list[str], field: str, message: str) -> None:
    path = "examples/configs/ranker.yaml"
    proc = run_train("--config", path, "--validate-only", *overrides)
    line = assert_one_line_error(proc, path, message)
    assert line.startswith(f"error: {path}: {field}: "), line


def test_lm_heads_must_divide_width() -> None:
    path = "examples/configs/lm.yaml"
    proc = run_train("--config", path, "--validate-only", "model.n_head=3")
    assert_one_line_error(proc, path, "model.d_model", "model.n_head")


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    proc = run_train("--config", str(missing))
    assert_one_line_error(proc, str(missing), "not found")


def test_unknown_key_in_file(tmp_path: Path) -> None:
    text = (CONFIGS / "cnn.yaml").read_text().replace("trainer:\n", "trainer:\n  epochs: 3\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc = run_train("--config", str(path), "--validate-only")
    assert_one_line_error(proc, str(path), "trainer.epochs: unknown key")


def test_invalid_yaml_and_duplicate_keys(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: 1\nmodel: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: <root>: invalid YAML at line"):
        load_config(broken)
    dup = tmp_path / "dup.yaml"
    dup.write_text((CONFIGS / "lm.yaml").read_text() + "seed: 7\n")
    with pytest.raises(ConfigError, match="duplicate key 'seed'"):
        load_config(dup)


def test_missing_config_argument() -> None:
    assert_one_line_error(run_train(), "--config")


def test_overrides_parse_yaml_values() -> None:
    raw = {"a": {"b": 1}}
    out = apply_overrides(raw, ["a.b=[64,32]", "a.c=1e-3", "d.e=true"], source="x")
    assert out == {"a": {"b": [64, 32], "c": "1e-3"}, "d": {"e": True}}
    assert raw == {"a": {"b": 1}}
    cfg = load_config(CONFIGS / "lm.yaml", ["optim.lr=3e-4", "model.n_layer=2"])
    assert cfg.optim.lr == pytest.approx(3e-4)
    assert cfg.model.n_layer == 2  # type: ignore[union-attr]
    ranker = load_config(CONFIGS / "ranker.yaml", ["model.hidden=[64,32]"])
    assert ranker.model.hidden == (64, 32)  # type: ignore[union-attr]


def test_cuda_request_without_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = asdict(load_config(CONFIGS / "cnn.yaml"))
    cfg["trainer"]["device"] = "cuda"
    with pytest.raises(ConfigError) as err:
        validate(cfg, source="cnn.yaml")
    assert str(err.value) == (
        "cnn.yaml: trainer.device: cuda requested but torch.cuda.is_available() is False"
    )


# --- preprocessing ---------------------------------------------------------------------


def test_norm_stats_match_numpy() -> None:
    rng = np.random.default_rng(0)
    table = rng.standard_normal((20_001, 5)) * [1, 10, 1e3, 1e-2, 0] + [0, 5, -1e4, 3, 7]
    table = table.astype(np.float32)
    stats = preprocess.compute_norm_stats(table, chunk_rows=4096)
    np.testing.assert_allclose(stats.mean, table.astype(np.float64).mean(axis=0), rtol=1e-9)
    expected_std = table.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(stats.std[:4], expected_std[:4], rtol=1e-9)
    assert stats.std[4] > 0  # a constant column must not divide by zero
    normed = preprocess.normalize(table, stats)
    assert normed.dtype == np.float32
    np.testing.assert_allclose(normed[:, :4].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(normed[:, :4].std(axis=0), 1, atol=1e-4)

    images = rng.random((64, 3, 4, 4)).astype(np.float32) * [[[1]], [[2]], [[3]]]
    per_channel = preprocess.compute_norm_stats(images, feature_axis=1, chunk_rows=10)
    np.testing.assert_allclose(per_channel.mean, images.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(per_channel.std, images.std(axis=(0, 2, 3)), rtol=1e-5)


def test_categorical_encoding_and_oov() -> None:
    column = np.array([[7, 7], [7, 3], [3, 9], [9, 5], [11, 12], [7, 42]])
    # frequencies: 7 x4, 3 x2, 9 x2, then 5, 11, 12, 42 once each
    vocab = preprocess.build_vocab(column, table_size=5, oov_buckets=2)
    assert vocab.values.tolist() == [7, 3, 9]  # ties broken by the smaller value
    assert vocab.table_size == 5
    encoded = preprocess.encode(column, vocab)
    assert encoded.shape == column.shape and encoded.dtype == np.int64
    assert encoded[0].tolist() == [2, 2] and encoded[2].tolist() == [3, 4]
    oov = np.isin(column, [5, 11, 12, 42])
    assert (encoded[oov] < 2).all() and (encoded[~oov] >= 2).all()
    np.testing.assert_array_equal(encoded[oov], preprocess.hash_bucket(column[oov], 2))
    assert encoded.max() < vocab.table_size
    unseen = preprocess.encode(np.array([1000, 7]), vocab)
    assert unseen[0] < 2 and unseen[1] == 2
    with pytest.raises(ValueError):
        preprocess.build_vocab(column, table_size=2, oov_buckets=2)
