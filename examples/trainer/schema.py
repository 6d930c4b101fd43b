"""The trainer's config schema: frozen dataclasses, one per config section.

Field types drive the strict validation in ``config`` (ints, floats, bools, strings,
literals, non-empty lists as tuples); ``metadata={"min": n}`` sets a lower bound, strict
with ``"exclusive": True``. The ``model`` and ``data`` sections have one class per family,
chosen by ``model.family``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

POSITIVE: dict[str, Any] = {"min": 1}
NON_NEGATIVE: dict[str, Any] = {"min": 0}
POSITIVE_REAL: dict[str, Any] = {"min": 0, "exclusive": True}


@dataclass(frozen=True)
class RankerModel:
    """DLRM-style click-through ranker: embedding bags, bottom/top MLPs, dot interaction."""

    family: Literal["ranker"]
    embedding_dim: int = field(metadata=POSITIVE)
    num_embeddings: int | tuple[int, ...] = field(metadata=POSITIVE)  # rows per table
    hidden: tuple[int, ...] = field(metadata=POSITIVE)  # bottom MLP widths
    top_hidden: tuple[int, ...] = field(metadata=POSITIVE)  # top MLP widths
    sparse_embeddings: bool = False  # sparse gradients for the tables (sgd/adagrad only)

    def table_sizes(self, num_sparse: int) -> tuple[int, ...]:
        """Rows of each embedding table (an int ``num_embeddings`` applies to every table)."""
        if isinstance(self.num_embeddings, int):
            return (self.num_embeddings,) * num_sparse
        return self.num_embeddings


@dataclass(frozen=True)
class LMModel:
    """Decoder-only transformer language model."""

    family: Literal["lm"]
    vocab_size: int = field(metadata={"min": 2})
    seq_len: int = field(metadata=POSITIVE)
    d_model: int = field(metadata=POSITIVE)
    n_layer: int = field(metadata=POSITIVE)
    n_head: int = field(metadata=POSITIVE)
    mlp_ratio: int = field(default=4, metadata=POSITIVE)
    dropout: float = field(default=0.0, metadata=NON_NEGATIVE)
    tie_weights: bool = True


@dataclass(frozen=True)
class CNNModel:
    """Convolutional image classifier: conv/bn/relu stages, global pool, linear head."""

    family: Literal["cnn"]
    channels: tuple[int, ...] = field(metadata=POSITIVE)  # one stage per entry
    num_classes: int = field(metadata={"min": 2})
    blocks_per_stage: int = field(default=1, metadata=POSITIVE)


@dataclass(frozen=True)
class RankerData:
    """Synthetic click logs: dense features, skewed categorical ids, click labels."""

    rows: int = field(metadata=POSITIVE)
    num_dense: int = field(metadata=POSITIVE)
    num_sparse: int = field(metadata=POSITIVE)
    cardinality: int = field(metadata=POSITIVE)  # raw id space of each categorical feature
    multi_hot: int = field(default=1, metadata=POSITIVE)  # ids per bag
    # Zipf exponent of the id frequencies (must be > 1)
    skew: float = field(default=1.2, metadata={"min": 1.0, "exclusive": True})
    oov_buckets: int = field(default=1, metadata=POSITIVE)  # hashed rows for rare ids


@dataclass(frozen=True)
class LMData:
    """Synthetic token sequences drawn from a sparse Markov chain over the vocabulary."""

    rows: int = field(metadata=POSITIVE)  # sequences of model.seq_len + 1 tokens
    branching: int = field(default=4, metadata=POSITIVE)  # likely successors per token


@dataclass(frozen=True)
class CNNData:
    """Synthetic images: a class-dependent pattern plus noise."""

    rows: int = field(metadata=POSITIVE)
    image_size: int = field(metadata=POSITIVE)
    in_channels: int = field(default=3, metadata=POSITIVE)
    noise: float = field(default=1.0, metadata=NON_NEGATIVE)


@dataclass(frozen=True)
class LoaderConfig:
    """``torch.utils.data.DataLoader`` settings."""

    batch_size: int = field(metadata=POSITIVE)
    num_workers: int = field(default=0, metadata=NON_NEGATIVE)
    start_method: Literal["fork", "spawn"] = "fork"  # worker start method when num_workers > 0
    shuffle: bool = True
    prefetch_factor: int = field(default=2, metadata=POSITIVE)


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer choice and hyper-parameters."""

    name: Literal["adamw", "sgd", "adagrad"]
    lr: float = field(metadata=POSITIVE_REAL)
    weight_decay: float = field(default=0.0, metadata=NON_NEGATIVE)
    momentum: float = field(default=0.0, metadata=NON_NEGATIVE)  # sgd only


@dataclass(frozen=True)
class TrainerConfig:
    """Loop length, logging, device and output locations."""

    steps: int = field(metadata=POSITIVE)
    checkpoint_dir: str
    log_every: int = field(default=100, metadata=POSITIVE)
    device: Literal["cpu", "cuda"] = "cpu"
    metrics_file: str | None = None  # JSON lines; default <checkpoint_dir>/metrics.jsonl
    grad_clip: float = field(default=0.0, metadata=NON_NEGATIVE)  # 0 disables clipping


ModelConfig = RankerModel | LMModel | CNNModel
DataConfig = RankerData | LMData | CNNData


@dataclass(frozen=True)
class Config:
    """The whole validated config of one training run."""

    seed: int = field(metadata=NON_NEGATIVE)
    model: ModelConfig  # type: ignore[valid-type]
    data: DataConfig  # type: ignore[valid-type]
    loader: LoaderConfig
    optim: OptimConfig
    trainer: TrainerConfig


MODEL_CLASSES: dict[str, type] = {"ranker": RankerModel, "lm": LMModel, "cnn": CNNModel}
DATA_CLASSES: dict[str, type] = {"ranker": RankerData, "lm": LMData, "cnn": CNNData}
