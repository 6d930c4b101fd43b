"""PyTorch Lightning example: ``python -m examples.frameworks.lightning_train [options]``.

A ``LightningModule`` (an MLP classifier) and a ``LightningDataModule`` over synthetic,
deterministic data made in-process (one Gaussian cluster per class, so the task is
learnable), trained by ``lightning.Trainer`` on the CPU. As in most Lightning jobs, the
sanity check (``--num-sanity-val-steps``, default 2) runs validation batches before the
first training step, so the first forward of the run is an evaluation forward.

Nothing is written into the repository: no logger, no checkpoints, and Lightning's
``default_root_dir`` is ``--root-dir`` (default ``runs/lightning``, which git ignores).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from examples.frameworks.marks import mark

mark("import_lightning")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The run's shape: steps, batch size, workers, model size, data size, sanity steps."""
    p = argparse.ArgumentParser(prog="python -m examples.frameworks.lightning_train")
    p.add_argument("--max-steps", type=int, default=20, help="optimizer steps (default 20)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--layers", type=int, default=2, help="hidden layers of the MLP")
    p.add_argument("--width", type=int, default=128, help="hidden width of the MLP")
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--train-rows", type=int, default=4096)
    p.add_argument("--val-rows", type=int, default=512)
    p.add_argument(
        "--num-sanity-val-steps",
        type=int,
        default=2,
        help="validation batches Lightning runs before training (default 2; 0 skips)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root-dir", default="runs/lightning", help="Lightning's default_root_dir")
    return p.parse_args(argv)


def make_clusters(
    rows: int, features: int, classes: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``rows`` points: class ``y`` is N(centre_y, 0.5²) around a fixed random centre."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=torch.Generator().manual_seed(1234))
    y = torch.randint(0, classes, (rows,), generator=g)
    x = centres[y] + 0.5 * torch.randn(rows, features, generator=g)
    return x, y


class ClusterData(L.LightningDataModule):
    """Train and validation splits of :func:`make_clusters`, built in ``setup``."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.train: TensorDataset | None = None
        self.val: TensorDataset | None = None

    def setup(self, stage: str) -> None:
        a = self.args
        self.train = TensorDataset(*make_clusters(a.train_rows, a.features, a.classes, a.seed))
        self.val = TensorDataset(*make_clusters(a.val_rows, a.features, a.classes, a.seed + 1))
        mark("data_ready")

    def _loader(self, dataset: TensorDataset | None, shuffle: bool) -> DataLoader:
        assert dataset is not None, "setup() has not run"
        workers = self.args.num_workers
        return DataLoader(
            dataset,
            batch_size=self.args.batch_size,
            shuffle=shuffle,
            num_workers=workers,
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val, shuffle=False)


class Classifier(L.LightningModule):
    """An MLP (``layers`` × Linear+ReLU of ``width``) trained with cross-entropy and AdamW."""

    def __init__(self, features: int, classes: int, layers: int, width: int, lr: float = 3e-3):
        super().__init__()
        self.save_hyperparameters()
        blocks: list[nn.Module] = []
        size = features
        for _ in range(layers):
            blocks += [nn.Linear(size, width), nn.ReLU()]
            size = width
        self.net = nn.Sequential(*blocks, nn.Linear(size, classes))
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the data module, the model and the ``Trainer``; fit; print the result."""
    args = parse_args(argv)
    began = time.perf_counter()
    L.seed_everything(args.seed, workers=True, verbose=False)
    data = ClusterData(args)
    model = Classifier(args.features, args.classes, args.layers, args.width)
    mark("model_built")
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=args.max_steps,
        num_sanity_val_steps=args.num_sanity_val_steps,
        limit_val_batches=8,
        log_every_n_steps=max(1, min(10, args.max_steps)),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=args.root_dir,
        deterministic=True,
    )
    mark("trainer_built")
    trainer.fit(model, datamodule=data)
    loss = trainer.callback_metrics.get("train_loss")
    print(
        f"done: {trainer.global_step} steps, train_loss "
        f"{float(loss) if loss is not None else float('nan'):.4f}, "
        f"{time.perf_counter() - began:.1f}s after imports",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
