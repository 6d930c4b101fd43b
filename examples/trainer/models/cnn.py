"""Convolutional image classifier.

One stage per entry of ``model.channels``: a 3x3 conv/batch-norm/ReLU (stride 2 from the
second stage on, halving the resolution) followed by ``blocks_per_stage - 1`` more at
stride 1; then global average pooling and a linear head. Trained with cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from examples.trainer.schema import CNNData, CNNModel, Config


def conv_bn_relu(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """3x3 convolution (no bias), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ConvNet(nn.Module):
    """Stacked conv stages, global average pool, linear classifier -> ``(B, classes)``."""

    def __init__(
        self, in_channels: int, channels: Sequence[int], num_classes: int, blocks_per_stage: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            layers.append(conv_bn_relu(c_in, c_out, stride=1 if i == 0 else 2))
            layers.extend(conv_bn_relu(c_out, c_out, stride=1) for _ in range(blocks_per_stage - 1))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits for ``images`` ``(B, C, H, W)``."""
        return self.head(self.features(images).mean(dim=(2, 3)))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy against integer class labels."""
        return F.cross_entropy(logits, labels)


def build_model(cfg: Config) -> ConvNet:
    """The classifier described by ``cfg.model`` for images shaped as in ``cfg.data``."""
    model, data = cfg.model, cfg.data
    assert isinstance(model, CNNModel) and isinstance(data, CNNData)
    return ConvNet(data.in_channels, model.channels, model.num_classes, model.blocks_per_stage)
