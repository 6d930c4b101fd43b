"""Training entry point: ``python -m examples.trainer.train --config PATH [key=value ...]``.

Loads and validates the config (``--validate-only`` stops there and prints
``config ok: PATH``), seeds every RNG, builds the family's data and model (importing only
that family's modules), the optimizer and the loader, trains for ``trainer.steps`` steps
and saves a checkpoint. Config errors print one ``error: <file>: <field>: <message>`` line
to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from examples.trainer import telemetry
from examples.trainer.config import ConfigError, load_config
from examples.trainer.marks import mark
from examples.trainer.schema import Config

EXIT_CONFIG_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message, in the same shape as config errors."""

    def error(self, message: str) -> NoReturn:
        print(f"error: <command line>: arguments: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG_ERROR)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``--config PATH``, ``--validate-only`` and the ``dotted.key=value`` overrides."""
    parser = _Parser(prog="python -m examples.trainer.train", description=__doc__)
    parser.add_argument("--config", required=True, help="YAML config file")
    parser.add_argument(
        "--validate-only", action="store_true", help="check the config and overrides, then exit"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra-style dotted.key=value overrides")
    return parser.parse_args(argv)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global RNGs."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run(cfg: Config) -> int:
    """Train the configured model to ``trainer.steps`` and save its checkpoint."""
    import torch

    from examples.trainer import loop, registry

    began = time.perf_counter()
    metrics = cfg.trainer.metrics_file or str(Path(cfg.trainer.checkpoint_dir) / "metrics.jsonl")
    telemetry.start(metrics)
    seed_everything(cfg.seed)
    device = torch.device(cfg.trainer.device)
    family = registry.load_family(cfg.model.family)

    dataset = family.dataset.build_dataset(cfg)
    mark("data_ready")
    model = family.model.build_model(cfg).to(device)
    mark("model_built")
    optimizer = loop.build_optimizer(model, cfg.optim)
    loader = loop.build_loader(dataset, cfg.loader, cfg.seed, pin_memory=device.type == "cuda")
    params = sum(p.numel() for p in model.parameters())
    telemetry.emit(
        "run_start",
        family=family.name,
        parameters=params,
        rows=len(dataset),
        steps=cfg.trainer.steps,
        setup_seconds=time.perf_counter() - began,
    )
    print(
        f"{family.name}: {params:,} parameters, {len(dataset):,} rows, "
        f"{cfg.trainer.steps} steps on {device}",
        flush=True,
    )

    result = loop.train(model, loader, optimizer, cfg, device)
    del loader  # stop persistent workers before writing the checkpoint
    path = loop.save_checkpoint(cfg.trainer.checkpoint_dir, model, optimizer, result.steps, cfg)
    telemetry.emit(
        "run_end",
        steps=result.steps,
        first_loss=result.first_loss,
        last_loss=result.last_loss,
        train_seconds=result.seconds,
    )
    telemetry.shutdown()
    print(
        f"done: loss {result.first_loss:.4f} -> {result.last_loss:.4f} in {result.seconds:.1f}s;"
        f" checkpoint {path}",
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry; returns the process exit status."""
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    mark("config_loaded")
    if args.validate_only:
        print(f"config ok: {args.config}")
        return 0
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
