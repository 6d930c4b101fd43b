"""Image dataset for the CNN: class patterns plus noise, normalized per channel.

Batches are ``(images float32 (B, C, H, W), labels int64 (B,))``.
"""

from __future__ import annotations

import torch

from examples.trainer import preprocess, synth
from examples.trainer.datasets.base import TensorTableDataset
from examples.trainer.schema import CNNData, CNNModel, Config


class ImageDataset(TensorTableDataset):
    """Normalized images and their class labels."""


def build_dataset(cfg: Config) -> ImageDataset:
    """Generate the images and normalize them with per-channel stats over the whole set."""
    data, model = cfg.data, cfg.model
    assert isinstance(data, CNNData) and isinstance(model, CNNModel)
    imgs = synth.images(
        rows=data.rows,
        num_classes=model.num_classes,
        channels=data.in_channels,
        size=data.image_size,
        noise=data.noise,
        seed=cfg.seed,
    )
    stats = preprocess.compute_norm_stats(imgs.pixels, feature_axis=1)
    pixels = preprocess.normalize(imgs.pixels, stats, feature_axis=1)
    return ImageDataset(torch.from_numpy(pixels), torch.from_numpy(imgs.labels))
