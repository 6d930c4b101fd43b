"""Token dataset for the language model: Markov-chain sequences, shifted by one.

Batches are ``(tokens int64 (B, T), next_tokens int64 (B, T))`` with ``T = model.seq_len``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from examples.trainer import synth
from examples.trainer.datasets.base import Batch, TensorTableDataset
from examples.trainer.schema import Config, LMData, LMModel


class TokenDataset(TensorTableDataset):
    """Sequences of ``seq_len + 1`` tokens, served as (input, next-token target) pairs."""

    def __getitem__(self, index: int) -> Batch:
        row = self.tensors[0][index]
        return row[:-1], row[1:]

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        rows = self.tensors[0].index_select(0, torch.as_tensor(indices, dtype=torch.long))
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()


def build_dataset(cfg: Config) -> TokenDataset:
    """Generate ``data.rows`` sequences from the seeded Markov chain."""
    data, model = cfg.data, cfg.model
    assert isinstance(data, LMData) and isinstance(model, LMModel)
    tokens = synth.token_sequences(
        rows=data.rows,
        length=model.seq_len + 1,
        vocab_size=model.vocab_size,
        branching=data.branching,
        seed=cfg.seed,
    )
    return TokenDataset(torch.from_numpy(tokens))
