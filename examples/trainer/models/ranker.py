"""DLRM-style click-through-rate ranker.

Dense features go through a bottom MLP to an ``embedding_dim`` vector; each categorical
feature is a sum-pooled ``nn.EmbeddingBag`` lookup. All these vectors interact through
pairwise dot products, which are concatenated with the dense vector and fed to a top MLP
that outputs one click logit. Trained with binary cross-entropy on logits.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from examples.trainer.schema import Config, RankerData, RankerModel


def mlp(sizes: Sequence[int], final_activation: bool) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ReLU in between (and at the end)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DLRM(nn.Module):
    """Embedding bags + bottom MLP + dot-product interaction + top MLP -> click logit."""

    def __init__(
        self,
        num_dense: int,
        table_sizes: Sequence[int],
        embedding_dim: int,
        bottom_hidden: Sequence[int],
        top_hidden: Sequence[int],
        sparse: bool = False,
    ) -> None:
        super().__init__()
        self.bottom = mlp([num_dense, *bottom_hidden, embedding_dim], final_activation=True)
        self.tables = nn.ModuleList(
            nn.EmbeddingBag(rows, embedding_dim, mode="sum", sparse=sparse) for rows in table_sizes
        )
        for table in self.tables:
            bound = 1.0 / float(table.num_embeddings) ** 0.5
            nn.init.uniform_(table.weight, -bound, bound)
        num_vectors = len(table_sizes) + 1
        rows, cols = torch.tril_indices(num_vectors, num_vectors, offset=-1)
        self.register_buffer("pair_rows", rows, persistent=False)
        self.register_buffer("pair_cols", cols, persistent=False)
        self.top = mlp([embedding_dim + len(rows), *top_hidden, 1], final_activation=False)

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        """Click logits ``(B,)`` for dense ``(B, D)`` and table rows ``(B, S, bag)``."""
        x = self.bottom(dense)
        pooled = [table(sparse[:, f]) for f, table in enumerate(self.tables)]
        vectors = torch.stack([x, *pooled], dim=1)  # (B, S + 1, d)
        dots = torch.bmm(vectors, vectors.transpose(1, 2))  # (B, S + 1, S + 1)
        pairs = dots[:, self.pair_rows, self.pair_cols]  # strictly lower triangle
        return self.top(torch.cat([x, pairs], dim=1)).squeeze(1)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy of the click logits against 0/1 labels."""
        return F.binary_cross_entropy_with_logits(logits, labels)


def build_model(cfg: Config) -> DLRM:
    """The ranker described by ``cfg.model`` for the features in ``cfg.data``."""
    model, data = cfg.model, cfg.data
    assert isinstance(model, RankerModel) and isinstance(data, RankerData)
    return DLRM(
        num_dense=data.num_dense,
        table_sizes=model.table_sizes(data.num_sparse),
        embedding_dim=model.embedding_dim,
        bottom_hidden=model.hidden,
        top_hidden=model.top_hidden,
        sparse=model.sparse_embeddings,
    )
