"""Command lines as configs, for the shrinker. Pure.

``program`` finds the script a command runs (through ``python`` options, ``-m``, and launchers
such as ``torchrun``) and where its own arguments start. ``slots`` finds, among those
arguments, each value the command sets, in the style it is written in:

- ``python-override``: ``--name=value`` read as a Python literal (nanoGPT's configurator; only
  when the caller has recognised that pattern, see ``bot.shrink.pyconfig``);
- ``hydra-override``: ``key=value``, ``+key=value``, ``++key=value`` (dotted keys, YAML values);
- ``lightning-flag``: ``--a.b value`` / ``--a.b=value`` (LightningCLI/jsonargparse, YAML values);
- ``hf-flag``: a ``TrainingArguments``/example-script flag, ``--name value`` or ``--name=value``;
- ``flag``: any other ``--name value`` / ``--name=value`` (flags without a value, such as
  ``--fp16``, are left alone).

A slot records where its value sits, so one value can be rewritten and every other byte of the
command kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from . import hydra
from .literal import parse

OVERRIDE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*(?:\.[\w*-]+)*)=(?P<value>.*)$", re.S)
HYDRA = re.compile(
    r"^(?P<head>\+{0,2}(?P<key>[A-Za-z_][\w/-]*(?:\.[\w*/-]+)*)=)(?P<value>.*)$", re.S
)
FLAG = re.compile(r"^--(?P<name>[A-Za-z_][\w-]*(?:\.[\w-]+)*)(?:(?P<eq>=)(?P<value>.*))?$", re.S)
NEGATIVE = re.compile(r"^-(?:\d|\.\d|inf\b)")
PYTHON = re.compile(r"^(?:.*/)?(?:python|pypy)[\d.]*(?:\.exe)?$")
CONFIG_FLAGS = ("--config", "--config-file", "--cfg", "-c")
SKIP_FLAGS = (*CONFIG_FLAGS, *hydra.VALUE_FLAGS)  # their value is a path or name, not a setting
LAUNCHERS = ("torchrun", "accelerate", "deepspeed", "composer", "lightning")
LAUNCHER_MODULES = (
    "torch.distributed.run",
    "torch.distributed.launch",
    "accelerate.commands.launch",
    "deepspeed.launcher.runner",
)
HF_FLAGS = frozenset(  # TrainingArguments and the HF example scripts' data/model arguments
    """output_dir overwrite_output_dir do_train do_eval do_predict eval_strategy
    evaluation_strategy per_device_train_batch_size per_device_eval_batch_size
    gradient_accumulation_steps eval_accumulation_steps learning_rate weight_decay adam_beta1
    adam_beta2 adam_epsilon max_grad_norm num_train_epochs max_steps lr_scheduler_type
    warmup_ratio warmup_steps logging_dir logging_strategy logging_steps save_strategy
    save_steps save_total_limit seed data_seed bf16 fp16 tf32 eval_steps dataloader_num_workers
    dataloader_pin_memory dataloader_persistent_workers dataloader_prefetch_factor run_name
    report_to load_best_model_at_end metric_for_best_model gradient_checkpointing torch_compile
    optim use_cpu auto_find_batch_size max_train_samples max_eval_samples max_predict_samples
    model_name_or_path config_name tokenizer_name dataset_name dataset_config_name train_file
    validation_file block_size max_seq_length preprocessing_num_workers cache_dir""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Program:
    script: str | None  # the script's path as the command names it (``a/b.py`` for ``-m a.b``)
    start: int  # index of the program's first own argument


@dataclass(frozen=True)
class Slot:
    """One value a command line sets: where it is and how it is written."""

    key: str  # the dotted config path it sets
    index: int  # argv index of the token holding the value
    head: str  # that token's text before the value ("--max_iters=", "++a.b="; "" if all value)
    text: str  # the value as written
    style: str  # python-override | hydra-override | lightning-flag | hf-flag | flag
    syntax: str  # how the program reads it: python | yaml | plain (bot.shrink.literal)

    @property
    def value(self) -> Any:
        return parse(self.text, self.syntax)

    def argument(self, argv: Sequence[str]) -> str:
        """The argument as the command has it ("--max_steps 1000", "--lr=1e-3")."""
        return argv[self.index] if self.head else f"{argv[self.index - 1]} {argv[self.index]}"


def program(argv: Sequence[str], exists: Callable[[str], bool] = lambda _: False) -> Program:
    """The script ``argv`` runs and where its own arguments start (``exists``: is that a file,
    relative to the checkout; used for ``-m module``)."""
    if not argv:
        return Program(None, 0)
    if PYTHON.match(argv[0]):
        return _python(argv, 0, exists)
    if argv[0].endswith(".py"):
        return Program(argv[0], 1)
    if argv[0].rpartition("/")[2] in LAUNCHERS:  # torchrun [options] train.py ...
        return _script_after(argv, 1, exists)
    for at in range(1, len(argv)):  # a wrapper: srun …, uv run … python train.py
        if PYTHON.match(argv[at]):
            return _python(argv, at, exists)
    return Program(None, 1)


def _python(argv: Sequence[str], at: int, exists: Callable[[str], bool]) -> Program:
    i = at + 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        option = argv[i]
        if option == "-m" and i + 1 < len(argv):
            module = argv[i + 1]
            if (path := _module_file(module, exists)) is not None:
                return Program(path, i + 2)
            return (
                _script_after(argv, i + 2, exists)
                if module in LAUNCHER_MODULES
                else Program(None, i + 2)
            )
        if option == "-c":
            return Program(None, i + 2)
        i += 2 if option in ("-W", "-X") else 1
    return Program(argv[i], i + 1) if i < len(argv) else Program(None, len(argv))


def _module_file(module: str, exists: Callable[[str], bool]) -> str | None:
    for path in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__main__.py"):
        if exists(path):
            return path
    return None


def _script_after(argv: Sequence[str], i: int, exists: Callable[[str], bool]) -> Program:
    """The script a launcher runs: its first ``.py`` argument, or the module after ``-m`` /
    ``--module`` (``torchrun --nproc_per_node 2 -m pkg.train``) when it is a file here."""
    for j in range(i, len(argv)):
        if argv[j] in ("-m", "--module") and j + 1 < len(argv):
            path = _module_file(argv[j + 1], exists)
            if path is not None:
                return Program(path, j + 2)
        if argv[j].endswith(".py") and not argv[j].startswith("-") and "=" not in argv[j]:
            return Program(argv[j], j + 1)
    return Program(None, i)


def slots(argv: Sequence[str], start: int, *, python: bool = False) -> list[Slot]:
    """Every value ``argv[start:]`` sets (see the module docstring); ``python``: read
    ``--name=value`` as a Python literal (the configurator pattern was recognised)."""
    found: list[Slot] = []
    i = start
    while i < len(argv):
        token = argv[i]
        flag = FLAG.match(token)
        if token in SKIP_FLAGS:
            i += 2
            continue
        if flag and token.partition("=")[0] not in SKIP_FLAGS:
            name = flag["name"]
            if flag["eq"]:
                head = token[: len(token) - len(flag["value"])]
                found.append(_flag(name, i, head, flag["value"], python=python))
            elif token not in hydra.BARE_FLAGS and i + 1 < len(argv) and _is_value(argv[i + 1]):
                found.append(_flag(name, i + 1, "", argv[i + 1], python=False))
                i += 1
        elif not token.startswith("-") and (override := HYDRA.match(token)):
            found.append(
                Slot(
                    override["key"],
                    i,
                    override["head"],
                    override["value"],
                    "hydra-override",
                    "yaml",
                )
            )
        i += 1
    return found


def _is_value(token: str) -> bool:
    """Can ``token`` be the value of the flag before it? Not an option, and not a ``key=value``
    override of its own (``--cfg-options a.b=1 c=2`` reads both as settings alike)."""
    if token.startswith("-"):
        return bool(NEGATIVE.match(token))
    return not HYDRA.match(token)


def _flag(name: str, index: int, head: str, text: str, *, python: bool) -> Slot:
    if python and name.isidentifier():
        return Slot(name, index, head, text, "python-override", "python")
    key = name.replace("-", "_")
    if "." in name:
        return Slot(key, index, head, text, "lightning-flag", "yaml")
    return Slot(key, index, head, text, "hf-flag" if key in HF_FLAGS else "flag", "plain")


# --- the --config file form --------------------------------------------------------------------


def scalar(text: str) -> Any:
    """A command-line value as YAML reads it (``2`` → 2, ``[8,16]`` → [8, 16], ``a`` → 'a')."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def config_path_index(argv: Sequence[str]) -> int | None:
    """Index of the token holding the config file path (``--config PATH`` or ``--config=PATH``)."""
    for i, token in enumerate(argv):
        if token in CONFIG_FLAGS and i + 1 < len(argv):
            return i + 1
        if any(token.startswith(f"{flag}=") for flag in CONFIG_FLAGS if flag.startswith("--")):
            return i
    return None


def config_path(argv: Sequence[str]) -> str | None:
    i = config_path_index(argv)
    if i is None:
        return None
    token = argv[i]
    return token.split("=", 1)[1] if token.startswith("--") else token


def with_config_path(argv: Sequence[str], path: str) -> list[str]:
    i = config_path_index(argv)
    out = list(argv)
    if i is None:
        raise ValueError("command has no --config argument")
    out[i] = f"{out[i].split('=', 1)[0]}={path}" if out[i].startswith("--") else path
    return out


def overrides(argv: Sequence[str]) -> dict[str, Any]:
    """``dotted.key=value`` tokens of ``argv`` as a flat mapping (last one wins)."""
    found: dict[str, Any] = {}
    for token in argv:
        match = OVERRIDE.match(token)
        if match and not token.startswith("-"):
            found[match["key"]] = scalar(match["value"])
    return found


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def without_overrides(argv: Sequence[str]) -> list[str]:
    return [t for t in argv if t.startswith("-") or not OVERRIDE.match(t)]
