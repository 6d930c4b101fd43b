"""Hugging Face ``transformers`` example: ``python -m examples.frameworks.hf_train [options]``.

A tiny GPT-2 (``--n_layer``, ``--n_embd``, ``--n_head``; random weights, built from a
``GPT2Config``) trained by ``transformers.Trainer`` on synthetic token ids: sequences from a
fixed random Markov chain over ``--vocab_size`` tokens, so the next token is predictable and
the loss goes down. Nothing is downloaded (no tokenizer, no weights; the hub is set offline)
and nothing is written but ``--output_dir`` (default ``runs/hf-trainer``, which git ignores).

Every ``TrainingArguments`` field is a flag (``--max_steps``, ``--per_device_train_batch_size``,
``--eval_strategy steps``, ``--eval_steps``, ``--dataloader_num_workers``, ...), parsed by
``HfArgumentParser``. By default the run evaluates first (``--eval_on_start``), as many jobs
do to log a baseline, so the first forward of the run is an evaluation forward.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Before transformers is imported: it reads these at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch
from torch.utils.data import Dataset
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
)

from examples.frameworks.marks import mark

mark("import_transformers")

# TrainingArguments defaults for this script; each is still a command-line flag.
DEFAULTS = {
    "output_dir": "runs/hf-trainer",
    "max_steps": 20,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 16,
    "eval_strategy": "steps",
    "eval_steps": 10,
    "eval_on_start": True,
    "logging_steps": 5,
    "learning_rate": 3e-3,
    "save_strategy": "no",
    "report_to": "none",
    "use_cpu": True,
    "disable_tqdm": True,
    "seed": 0,
}


@dataclass
class ModelArguments:
    """The model's and the synthetic data's shape."""

    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 2
    vocab_size: int = 256
    seq_len: int = 32
    train_rows: int = 1024
    eval_rows: int = 64


class MarkovTokens(Dataset):
    """``rows`` sequences of ``seq_len`` token ids from a fixed random Markov chain in which
    each token has 4 likely successors; item ``i`` is always the same sequence."""

    def __init__(self, rows: int, seq_len: int, vocab_size: int, seed: int) -> None:
        chain = torch.Generator().manual_seed(1234)
        self.successors = torch.randint(0, vocab_size, (vocab_size, 4), generator=chain)
        g = torch.Generator().manual_seed(seed)
        ids = torch.empty(rows, seq_len, dtype=torch.long)
        ids[:, 0] = torch.randint(0, vocab_size, (rows,), generator=g)
        for t in range(1, seq_len):
            pick = torch.randint(0, 4, (rows,), generator=g)
            ids[:, t] = self.successors[ids[:, t - 1], pick]
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def parse_args(argv: Sequence[str] | None) -> tuple[ModelArguments, TrainingArguments]:
    """``ModelArguments`` and ``TrainingArguments`` from the command line (``HfArgumentParser``)."""
    parser = HfArgumentParser((ModelArguments, TrainingArguments))
    parser.prog = "python -m examples.frameworks.hf_train"
    parser.set_defaults(**DEFAULTS)
    model_args, training_args = parser.parse_args_into_dataclasses(
        args=list(sys.argv[1:] if argv is None else argv)
    )
    return model_args, training_args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the data, the model and the ``Trainer``; train (evaluating first); print the
    losses."""
    model_args, training_args = parse_args(argv)
    began = time.perf_counter()
    m = model_args
    train = MarkovTokens(m.train_rows, m.seq_len, m.vocab_size, seed=training_args.seed)
    evaluation = MarkovTokens(m.eval_rows, m.seq_len, m.vocab_size, seed=training_args.seed + 1)
    mark("data_ready")
    torch.manual_seed(training_args.seed)
    config = GPT2Config(
        vocab_size=m.vocab_size,
        n_positions=m.seq_len,
        n_embd=m.n_embd,
        n_layer=m.n_layer,
        n_head=m.n_head,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    mark("model_built")
    trainer = Trainer(model=model, args=training_args, train_dataset=train, eval_dataset=evaluation)
    mark("trainer_built")
    result = trainer.train()
    evals = [log["eval_loss"] for log in trainer.state.log_history if "eval_loss" in log]
    print(
        f"done: {result.global_step} steps, train_loss {result.training_loss:.4f}, "
        f"{len(evals)} evaluations (eval_loss {' -> '.join(f'{x:.4f}' for x in evals)}), "
        f"{time.perf_counter() - began:.1f}s after imports",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
