"""Shared feature preprocessing: normalization statistics and categorical encoding.

Both passes look at the whole table, so their cost grows with the number of rows, as in a
real pipeline that fits its preprocessing on the training data before the first batch.

* ``compute_norm_stats`` / ``normalize``: per-column (per-channel) mean and std.
* ``build_vocab`` / ``encode``: keep the most frequent values of a categorical feature, up
  to the embedding table size; rarer values are hashed into a few out-of-vocabulary rows.
  Row layout of an encoded table: ``[0, oov_buckets)`` OOV buckets, then the vocabulary in
  order of decreasing frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_STD_FLOOR = 1e-6
_MIX = np.uint64(0xD6E8FEB86659FD93)


@dataclass(frozen=True)
class NormStats:
    """Per-feature ``mean`` and ``std`` (float64, population std, floored away from 0)."""

    mean: np.ndarray
    std: np.ndarray


def compute_norm_stats(
    table: np.ndarray, feature_axis: int = 1, chunk_rows: int = 8192
) -> NormStats:
    """Mean and std of each feature of ``table``, reducing over every other axis.

    Axis 0 holds the rows. For a (rows, columns) table the stats are per column; for
    (N, C, H, W) images, per channel. Two passes over row chunks, accumulated in float64.
    """
    axis = feature_axis % table.ndim
    if axis == 0:
        raise ValueError("feature_axis must not be the row axis 0")
    reduce_axes = tuple(a for a in range(table.ndim) if a != axis)
    shape = [1] * table.ndim
    shape[axis] = -1
    count = max(table.size // max(table.shape[axis], 1), 1)
    total = np.zeros(table.shape[axis], dtype=np.float64)
    for start in range(0, table.shape[0], chunk_rows):
        total += table[start : start + chunk_rows].sum(axis=reduce_axes, dtype=np.float64)
    mean = total / count
    squares = np.zeros_like(total)
    for start in range(0, table.shape[0], chunk_rows):
        centered = table[start : start + chunk_rows] - mean.reshape(shape)
        squares += np.square(centered).sum(axis=reduce_axes)
    return NormStats(mean=mean, std=np.maximum(np.sqrt(squares / count), _STD_FLOOR))


def normalize(table: np.ndarray, stats: NormStats, feature_axis: int = 1) -> np.ndarray:
    """``(table - mean) / std`` per feature, as a new float32 array."""
    shape = [1] * table.ndim
    shape[feature_axis % table.ndim] = -1
    mean = stats.mean.astype(np.float32).reshape(shape)
    inv_std = (1.0 / stats.std).astype(np.float32).reshape(shape)
    out = np.subtract(table, mean, dtype=np.float32)
    out *= inv_std
    return out


@dataclass(frozen=True)
class Vocab:
    """The kept values of one categorical feature, most frequent first, and their counts."""

    values: np.ndarray
    counts: np.ndarray
    oov_buckets: int

    @property
    def table_size(self) -> int:
        """Embedding rows needed: the OOV buckets plus one row per kept value."""
        return self.oov_buckets + len(self.values)


def build_vocab(column: np.ndarray, table_size: int, oov_buckets: int = 1) -> Vocab:
    """Keep the ``table_size - oov_buckets`` most frequent values of ``column`` (any shape).

    Ties in frequency are broken by the smaller value, so the result is deterministic.
    """
    if table_size <= oov_buckets:
        raise ValueError(f"table_size {table_size} leaves no room after {oov_buckets} OOV rows")
    values, counts = np.unique(column.ravel(), return_counts=True)
    order = np.lexsort((values, -counts))[: table_size - oov_buckets]
    return Vocab(values=values[order], counts=counts[order], oov_buckets=oov_buckets)


def hash_bucket(values: np.ndarray, buckets: int) -> np.ndarray:
    """Deterministic hash of integer ``values`` into ``[0, buckets)`` (int64)."""
    h = values.astype(np.uint64) * _MIX
    h ^= h >> np.uint64(31)
    return (h % np.uint64(buckets)).astype(np.int64)


def encode(column: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Map raw values to embedding rows: in-vocabulary values to ``oov_buckets + rank``,
    the rest to their hash bucket in ``[0, oov_buckets)``. Keeps the shape; int64."""
    sorter = np.argsort(vocab.values, kind="stable")
    sorted_values = vocab.values[sorter]
    flat = column.ravel()
    if len(sorted_values) == 0:
        return hash_bucket(flat, vocab.oov_buckets).reshape(column.shape)
    pos = np.searchsorted(sorted_values, flat)
    pos = np.minimum(pos, len(sorted_values) - 1)
    hit = sorted_values[pos] == flat
    rows = np.where(hit, vocab.oov_buckets + sorter[pos], hash_bucket(flat, vocab.oov_buckets))
    return rows.astype(np.int64).reshape(column.shape)
