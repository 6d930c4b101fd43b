"""Click-log dataset for the ranker: synthetic rows, normalized dense, encoded categoricals.

Batches are ``(dense float32 (B, D), sparse int64 (B, S, bag), label float32 (B,))``;
the sparse ids are embedding-table rows (vocabulary rank or hashed OOV bucket).
"""

from __future__ import annotations

import numpy as np
import torch

from examples.trainer import preprocess, synth
from examples.trainer.datasets.base import TensorTableDataset
from examples.trainer.schema import Config, RankerData, RankerModel


class ClickLogDataset(TensorTableDataset):
    """Preprocessed click logs: ``(dense, sparse, label)`` rows."""


def build_dataset(cfg: Config) -> ClickLogDataset:
    """Generate the click logs, fit the preprocessing on the whole table, apply it."""
    data, model = cfg.data, cfg.model
    assert isinstance(data, RankerData) and isinstance(model, RankerModel)
    logs = synth.click_logs(
        rows=data.rows,
        num_dense=data.num_dense,
        num_sparse=data.num_sparse,
        cardinality=data.cardinality,
        multi_hot=data.multi_hot,
        skew=data.skew,
        seed=cfg.seed,
    )
    dense = preprocess.normalize(logs.dense, preprocess.compute_norm_stats(logs.dense))
    sparse = np.empty_like(logs.sparse)
    for f, table_size in enumerate(model.table_sizes(data.num_sparse)):
        vocab = preprocess.build_vocab(logs.sparse[:, f], table_size, data.oov_buckets)
        sparse[:, f] = preprocess.encode(logs.sparse[:, f], vocab)
    return ClickLogDataset(
        torch.from_numpy(dense), torch.from_numpy(sparse), torch.from_numpy(logs.labels)
    )
