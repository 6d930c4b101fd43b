"""Map-style dataset over in-memory tensors, fetched a whole batch at a time.

``__getitems__`` lets ``DataLoader`` index a batch with one tensor gather instead of
collating thousands of single rows; ``collate_batch`` is the matching no-op collate_fn.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

Batch = tuple[torch.Tensor, ...]


class TensorTableDataset(Dataset[Batch]):
    """Rows of several aligned tensors (same first dimension); the last one is the target."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("need at least one tensor, all with the same number of rows")
        self.tensors = tensors

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index: int) -> Batch:
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        """One batch: every tensor gathered at ``indices`` (used by DataLoader)."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        return tuple(t.index_select(0, idx) for t in self.tensors)


def collate_batch(batch: Batch) -> Batch:
    """collate_fn for datasets whose ``__getitems__`` already returns a stacked batch."""
    return batch
