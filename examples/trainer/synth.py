"""Deterministic synthetic data generators (numpy only, seeded) with learnable structure.

* ``click_logs``: dense features on very different scales, categorical ids with a Zipf-like
  skew, and click labels drawn from a hidden logistic model of both (a ranker can learn it).
* ``token_sequences``: sequences from a sparse Markov chain: each token has a few likely
  successors (a language model can learn the transition table).
* ``images``: one fixed pattern per class plus per-channel brightness offsets and noise
  (a CNN can learn to tell the patterns apart).

The cost of every generator is proportional to the number of rows it makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MIX = np.uint64(0x9E3779B97F4A7C15)  # 64-bit golden-ratio multiplier for id hashing


def _rng(seed: int, stream: int) -> np.random.Generator:
    """A generator for one named purpose, independent of the others for the same seed."""
    return np.random.default_rng([seed, stream])


def hash_unit(ids: np.ndarray, salt: int) -> np.ndarray:
    """Map integer ids to pseudo-random floats in [-1, 1), a fixed function of (id, salt)."""
    with np.errstate(over="ignore"):
        h = (ids.astype(np.uint64) + np.uint64(salt)) * _MIX
        h ^= h >> np.uint64(29)
        h *= _MIX
    return (h >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0


def zipf_ranks(
    rng: np.random.Generator, shape: tuple[int, ...], cardinality: int, skew: float
) -> np.ndarray:
    """Ranks in ``[0, cardinality)`` with P(rank r) roughly proportional to (r + 1)^-skew.

    Inverse-CDF sampling of a power law truncated to ``[1, cardinality + 1)``: unlike
    ``Generator.zipf`` it is bounded and costs one ``pow`` per sample.
    """
    u = rng.random(shape)
    a = 1.0 - skew
    top = float(cardinality + 1) ** a
    ranks = np.floor(((top - 1.0) * u + 1.0) ** (1.0 / a)).astype(np.int64) - 1
    return np.minimum(ranks, cardinality - 1)


def scramble(ranks: np.ndarray, salt: int, cardinality: int) -> np.ndarray:
    """A fixed pseudo-random map of ranks to raw ids in ``[0, cardinality)`` (int64)."""
    with np.errstate(over="ignore"):
        h = (ranks.astype(np.uint64) ^ np.uint64(salt)) * _MIX
        h ^= h >> np.uint64(32)
    return (h % np.uint64(cardinality)).astype(np.int64)


@dataclass(frozen=True)
class ClickLogs:
    """A click-log table: ``dense`` (rows, D) float32, ``sparse`` (rows, S, bag) int64 raw
    ids, ``labels`` (rows,) float32 in {0, 1}, and the hidden model's click probabilities
    ``click_prob`` (rows,) float32 (for measuring how well a model could do)."""

    dense: np.ndarray
    sparse: np.ndarray
    labels: np.ndarray
    click_prob: np.ndarray


def click_logs(
    rows: int,
    num_dense: int,
    num_sparse: int,
    cardinality: int,
    multi_hot: int,
    skew: float,
    seed: int,
) -> ClickLogs:
    """Generate ``rows`` click-log rows whose click probability depends on every feature."""
    rng = _rng(seed, 1)
    latent = rng.standard_normal((rows, num_dense), dtype=np.float32)
    scales = np.exp(rng.uniform(-2.0, 6.0, num_dense)).astype(np.float32)
    offsets = rng.uniform(-3.0, 3.0, num_dense).astype(np.float32) * scales
    dense = latent * scales + offsets  # wildly different scales: normalization matters

    ranks = zipf_ranks(rng, (rows, num_sparse, multi_hot), cardinality, skew)
    salts = rng.integers(1, 1 << 31, size=num_sparse)
    # scramble rank -> raw id per feature so the frequent ids are not simply 0, 1, 2, ...
    sparse = np.empty_like(ranks)
    for f in range(num_sparse):
        sparse[:, f] = scramble(ranks[:, f], int(salts[f]), cardinality)

    weights = rng.normal(0.0, 1.0, num_dense) / np.sqrt(num_dense)
    logit = latent.astype(np.float64) @ weights - 1.0
    per_feature = 4.0 / np.sqrt(num_sparse)
    for f in range(num_sparse):
        logit += per_feature * hash_unit(sparse[:, f, :], int(salts[f])).mean(axis=1)
    click_prob = 1.0 / (1.0 + np.exp(-logit))
    labels = (rng.random(rows) < click_prob).astype(np.float32)
    return ClickLogs(dense, sparse, labels, click_prob.astype(np.float32))


def markov_successors(vocab_size: int, branching: int, seed: int) -> np.ndarray:
    """The chain's transition table: ``(vocab_size, branching)`` successor ids per token."""
    rng = _rng(seed, 2)
    return rng.integers(0, vocab_size, size=(vocab_size, branching), dtype=np.int64)


def token_sequences(
    rows: int, length: int, vocab_size: int, branching: int, seed: int
) -> np.ndarray:
    """Generate ``rows`` token sequences of ``length`` tokens, int64 ``(rows, length)``.

    Each next token is one of the current token's ``branching`` successors, the first
    ones being much more likely (probabilities proportional to 1/(k+1)^2).
    """
    successors = markov_successors(vocab_size, branching, seed)
    rng = _rng(seed, 3)
    probs = 1.0 / np.arange(1, branching + 1) ** 2
    probs /= probs.sum()
    tokens = np.empty((rows, length), dtype=np.int64)
    tokens[:, 0] = rng.integers(0, vocab_size, size=rows)
    choices = rng.choice(branching, size=(rows, length - 1), p=probs)
    for t in range(1, length):
        tokens[:, t] = successors[tokens[:, t - 1], choices[:, t - 1]]
    return tokens


@dataclass(frozen=True)
class Images:
    """Images ``(rows, C, H, W)`` float32 and their int64 class labels ``(rows,)``."""

    pixels: np.ndarray
    labels: np.ndarray


def class_patterns(num_classes: int, channels: int, size: int, seed: int) -> np.ndarray:
    """One smooth pattern per class ``(num_classes, C, H, W)``: a sum of random gratings."""
    rng = _rng(seed, 4)
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    patterns = np.zeros((num_classes, channels, size, size), dtype=np.float32)
    for k in range(num_classes):
        for c in range(channels):
            for _ in range(3):
                angle = rng.uniform(0.0, np.pi)
                freq = rng.uniform(1.0, 4.0) * 2.0 * np.pi / size
                phase = rng.uniform(0.0, 2.0 * np.pi)
                wave = np.cos(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
                patterns[k, c] += wave.astype(np.float32)
    return patterns / np.float32(np.sqrt(3.0))


def images(
    rows: int, num_classes: int, channels: int, size: int, noise: float, seed: int
) -> Images:
    """Generate ``rows`` labelled images: the class pattern, a brightness offset, noise."""
    patterns = class_patterns(num_classes, channels, size, seed)
    rng = _rng(seed, 5)
    labels = rng.integers(0, num_classes, size=rows, dtype=np.int64)
    pixels = rng.standard_normal((rows, channels, size, size), dtype=np.float32)
    pixels *= np.float32(noise)
    pixels += patterns[labels]
    pixels += rng.uniform(-2.0, 2.0, (rows, channels, 1, 1)).astype(np.float32)
    pixels += np.linspace(0.5, 3.0, channels, dtype=np.float32)[None, :, None, None]
    return Images(pixels=pixels, labels=labels)
