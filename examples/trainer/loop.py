"""Optimizer, data loader, training loop and checkpointing, shared by every family.

A batch is a tuple of tensors whose last element is the target; the model is called as
``model(*inputs)`` and ``model.loss(output, target)`` gives the scalar loss.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from examples.trainer import telemetry
from examples.trainer.datasets.base import Batch, collate_batch
from examples.trainer.schema import Config, LoaderConfig, OptimConfig

CHECKPOINT_NAME = "checkpoint.pt"


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.name``.

    Weight decay applies only to matrices of dense layers: biases, norm parameters and
    embedding tables (which may get sparse gradients) are in a group without decay.
    """
    embedding_params = {
        id(p)
        for m in model.modules()
        if isinstance(m, (nn.Embedding, nn.EmbeddingBag))
        for p in m.parameters(recurse=False)
    }
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    seen: set[int] = set()
    for p in model.parameters():  # tied weights appear once
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (no_decay if p.ndim < 2 or id(p) in embedding_params else decay).append(p)
    groups: list[dict[str, Any]] = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    if any(getattr(m, "sparse", False) for m in model.modules()):
        # Sparse embedding gradients come from torch itself: opt out of the (slow)
        # invariant checks explicitly, which also silences torch's warning about them.
        torch.sparse.check_sparse_tensor_invariants.disable()
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.name == "adagrad":
        return torch.optim.Adagrad(groups, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.name!r}")


def build_loader(
    dataset: Dataset[Batch], cfg: LoaderConfig, seed: int, pin_memory: bool
) -> DataLoader[Batch]:
    """A DataLoader yielding whole batches; worker processes use ``cfg.start_method``."""
    workers = cfg.num_workers
    return DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=cfg.shuffle,
        drop_last=True,
        num_workers=workers,
        collate_fn=collate_batch,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed),
        multiprocessing_context=cfg.start_method if workers > 0 else None,
        persistent_workers=workers > 0,
        prefetch_factor=cfg.prefetch_factor if workers > 0 else None,
    )


def _batches(loader: DataLoader[Batch]) -> Iterator[Batch]:
    """Batches forever, starting a new epoch whenever the loader is exhausted."""
    while True:
        yield from loader


@dataclass(frozen=True)
class TrainResult:
    """Summary of a finished loop: steps taken and mean loss of the first/last log windows."""

    steps: int
    first_loss: float
    last_loss: float
    seconds: float


def train(
    model: nn.Module,
    loader: DataLoader[Batch],
    optimizer: torch.optim.Optimizer,
    cfg: Config,
    device: torch.device,
) -> TrainResult:
    """Run ``cfg.trainer.steps`` optimizer steps, logging the mean loss every ``log_every``."""
    steps, log_every = cfg.trainer.steps, cfg.trainer.log_every
    non_blocking = device.type == "cuda"
    model.train()
    window = torch.zeros((), device=device)
    window_steps, first_loss, last_loss = 0, float("nan"), float("nan")
    started = tick = time.perf_counter()
    batches = _batches(loader)
    for step in range(1, steps + 1):
        *inputs, target = (t.to(device, non_blocking=non_blocking) for t in next(batches))
        loss = model.loss(model(*inputs), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.trainer.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.trainer.grad_clip)
        optimizer.step()
        window += loss.detach()
        window_steps += 1
        if step % log_every == 0 or step == steps:
            last_loss = float(window.item()) / window_steps
            if first_loss != first_loss:  # still NaN: this is the first window
                first_loss = last_loss
            now = time.perf_counter()
            ms = 1000.0 * (now - tick) / window_steps
            print(f"step {step}/{steps} loss {last_loss:.4f} ({ms:.1f} ms/step)", flush=True)
            telemetry.emit("train_loss", step=step, loss=last_loss, ms_per_step=ms)
            window.zero_()
            window_steps, tick = 0, now
    del batches  # shuts the loader's iterator (and its workers) down
    return TrainResult(steps, first_loss, last_loss, time.perf_counter() - started)


def save_checkpoint(
    directory: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    cfg: Config,
) -> Path:
    """Atomically write model, optimizer state, step and config to ``directory``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    path = target / CHECKPOINT_NAME
    tmp = path.with_suffix(".tmp")
    state = {
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": asdict(cfg),
    }
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path
