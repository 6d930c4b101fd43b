"""The shrinker proper: explicit rules, then the names ``auto`` recognises, then device forcing.

``auto_rules`` recognises the usual names for steps, epochs, eval batches and interval,
gradient accumulation, layers, widths, embedding and vocabulary sizes, sequence length, batch
size, dataset size and worker count (in the naming styles of popular trainers: nanoGPT, HF
``TrainingArguments``, Lightning, Hydra configs) and proposes conservative rules for them; a key
it does not recognise is never touched. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .rules import Edit, ShrinkResult, apply, apply_rule, describe, is_number, norm, split, walk

SEED_NAMES = ("seed", "randomseed", "manualseed", "rngseed")


# --- auto mode --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoKind:
    name: str
    names: tuple[str, ...]
    rule: Mapping[str, Any] | None  # None: recognised, deliberately kept
    why: str = ""


AUTO_KINDS: tuple[AutoKind, ...] = (
    AutoKind(
        "steps",
        (
            "steps",
            "maxsteps",
            "numsteps",
            "totalsteps",
            "trainsteps",
            "maxiters",
            "maxiter",
            "iterations",
            "numiterations",
            "trainiters",
            "niter",
            "numtrainsteps",
            "maxtrainsteps",
        ),
        {"max": 2},
    ),
    AutoKind(
        "eval batches",
        (
            "evaliters",
            "evaliterations",
            "numevaliters",
            "evalbatches",
            "numevalbatches",
            "limitvalbatches",
            "limittestbatches",
            "numsanityvalsteps",
            "validationsteps",
        ),
        {"max": 2},
    ),
    AutoKind(
        "eval interval",
        (
            "evalinterval",
            "evalsteps",
            "evalevery",
            "evaleverysteps",
            "evalfreq",
            "evalfrequency",
            "valinterval",
            "validationinterval",
        ),
        {"max": 2},
        "as the step count, so the short run still evaluates",
    ),
    AutoKind(
        "gradient accumulation",
        (
            "gradientaccumulationsteps",
            "gradaccumsteps",
            "gradaccum",
            "accumulategradbatches",
            "accumulationsteps",
            "gradientaccumulation",
            "accumsteps",
        ),
        {"max": 1},
    ),
    AutoKind(
        "epochs",
        ("epochs", "numepochs", "maxepochs", "numtrainepochs", "nepochs", "trainepochs"),
        {"max": 1},
    ),
    AutoKind(
        "layers",
        (
            "nlayer",
            "nlayers",
            "numlayers",
            "numhiddenlayers",
            "layers",
            "depth",
            "numblocks",
            "blocksperstage",
            "numencoderlayers",
            "numdecoderlayers",
            "nblocks",
        ),
        {"max": 2},
    ),
    AutoKind(
        "width",
        (
            "hidden",
            "hiddensize",
            "hiddendim",
            "hiddensizes",
            "dmodel",
            "nembd",
            "embeddim",
            "embeddingdim",
            "embdim",
            "emsize",
            "nhid",
            "ninp",
            "width",
            "dff",
            "ffndim",
            "intermediatesize",
            "channels",
            "dim",
            "mlpdim",
            "tophidden",
        ),
        {"scale": 0.25, "min": 8, "max": 256, "multiple": 8},
    ),
    AutoKind(
        "heads",
        ("nhead", "nheads", "numheads", "numattentionheads", "heads", "nattnheads"),
        {"max": 2},
        "and every width a multiple of them",
    ),
    AutoKind(
        "table size",
        (
            "numembeddings",
            "vocabsize",
            "nvocab",
            "vocab",
            "tablesize",
            "tablesizes",
            "cardinality",
            "numbuckets",
            "hashsize",
        ),
        {"max": 1000},
    ),
    AutoKind(
        "sequence length",
        (
            "seqlen",
            "seqlength",
            "maxseqlen",
            "maxseqlength",
            "blocksize",
            "contextlength",
            "maxpositionembeddings",
            "npositions",
            "maxlength",
            "ctxlen",
            "npos",
            "bptt",
        ),
        {"max": 64},
    ),
    AutoKind(
        "batch size",
        (
            "batchsize",
            "perdevicetrainbatchsize",
            "trainbatchsize",
            "microbatchsize",
            "globalbatchsize",
            "perdeviceevalbatchsize",
            "evalbatchsize",
            "valbatchsize",
            "testbatchsize",
            "bs",
        ),
        {"max": 32},
    ),
    AutoKind(
        "dataset size",
        (
            "rows",
            "numrows",
            "numsamples",
            "maxsamples",
            "maxtrainsamples",
            "maxevalsamples",
            "maxvalsamples",
            "maxtestsamples",
            "maxpredictsamples",
            "datasetsize",
            "nsamples",
            "numexamples",
            "trainsize",
            "limit",
            "subset",
            "limittrainbatches",
        ),
        {"max": 4096},
    ),
    # Not "input_size": in MLPs and recurrent models it is the feature count the data
    # fixes (784 for flattened MNIST), and capping it breaks the first forward pass.
    AutoKind("image size", ("imagesize", "imgsize", "resolution"), {"max": 32}),
    AutoKind(
        "workers",
        ("numworkers", "workers", "dataloadernumworkers", "nworkers"),
        {"max": 2},
        "capped, not zeroed: worker start-up is part of TTFB",
    ),
)
_BY_NAME = {n: kind for kind in AUTO_KINDS for n in kind.names}
# What a help text says a value is, for names not known by their spelling ("size of word
# embeddings", "number of layers", "sequence length"): the first pattern that matches wins.
_HELP = (
    ("heads", r"\b(attention )?heads\b"),
    ("layers", r"\b(number|num|#) of (\w+ )?layers\b|\bdepth\b"),
    (
        "width",
        r"\b(embedding|hidden|model) (size|dim|dimension|width)|size of (the )?(word )?"
        r"embeddings?|hidden units|\bwidth\b",
    ),
    ("sequence length", r"sequence length|context (length|size)|\bbptt\b"),
    ("batch size", r"\bbatch size\b"),
    ("epochs", r"\b(number|num) of (training )?epochs\b|\bepochs to\b"),
    ("steps", r"\b(number|num) of (training )?(steps|iterations)\b"),
    ("dataset size", r"\b(number|num) of (training )?(samples|examples)\b"),
)
_BY_KIND = {kind.name: kind for kind in AUTO_KINDS}


def kind_of(key: str, help_text: str = "") -> AutoKind | None:
    """The kind ``auto`` takes a value for: by its name, else by what its help text says."""
    kind = _BY_NAME.get(norm(key))
    if kind is not None or not help_text:
        return kind
    text = help_text.lower()
    return next((_BY_KIND[name] for name, pattern in _HELP if re.search(pattern, text)), None)


def auto_rules(
    config: Any, *, skip: Sequence[str] = (), hints: Mapping[str, str] | None = None
) -> dict[str, tuple[AutoKind, Any]]:
    """Concrete dotted paths of ``config`` that ``--auto`` recognises, with their rule
    (``hints``: top-level names' help texts, for names not known by their spelling)."""
    hints = hints or {}
    found: dict[str, tuple[AutoKind, Any]] = {}

    def visit(node: Any, prefix: str) -> None:
        items = node.items() if isinstance(node, Mapping) else []
        for key, value in items:
            path = f"{prefix}.{key}" if prefix else str(key)
            kind = kind_of(str(key), hints.get(path, ""))
            numeric = is_number(value) or (
                isinstance(value, list) and value and all(is_number(v) for v in value)
            )
            if kind is not None and numeric and path not in skip and kind.rule is not None:
                found[path] = (kind, kind.rule)
            elif isinstance(value, (Mapping, list)):
                if isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, Mapping):
                            visit(item, f"{path}.{i}")
                else:
                    visit(value, path)

    visit(config, "")
    return found


def shrink(
    config: Any,
    *,
    rules: Mapping[str, Any] | None = None,
    auto: bool = False,
    device: str | None = None,
    source: str = "config",
    hints: Mapping[str, str] | None = None,
) -> ShrinkResult:
    """Explicit rules first, then ``auto`` on what they did not name, then device forcing.
    What ``auto`` recognised and left as it was is listed (``kept``), with why."""
    result = apply(config, rules or {}, source=source)
    changes = list(result.changes)
    kept: list[str] = []
    out = result.config
    if auto:
        named = set(rules or {})
        for path, (kind, rule) in auto_rules(out, skip=tuple(named), hints=hints).items():
            container, key, where = next(walk(out, split(path), ""))
            before = container[key]
            after = apply_rule(before, rule, where)
            if after != before:
                container[key] = after
                note = f"auto {kind.name}: {describe(rule)}"
                changes.append(
                    Edit(where, before, after, note + (f" ({kind.why})" if kind.why else ""))
                )
            else:
                kept.append(f"{where}={before}: {kind.name}, already within {describe(rule)}")
        changes.extend(divisible_widths(out, hints or {}))
        changes.extend(fix_seeds(out))
    if device:
        for container, key, where in _device_spots(out):
            before = container[key]
            if isinstance(before, str) and before.lower().startswith(("cuda", "gpu")):
                container[key] = device
                changes.append(Edit(where, before, device, f"device forced to {device}"))
    return ShrinkResult(out, tuple(changes), tuple(kept))


def divisible_widths(config: Any, hints: Mapping[str, str]) -> list[Edit]:
    """Widths beside a head count, rounded up to a multiple of it (attention splits the
    width into heads: ``n_embd % n_head == 0``); each mapping of the config on its own."""
    changes: list[Edit] = []

    def visit(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            return
        kinds = {
            k: kind_of(str(k), hints.get(f"{prefix}{k}", ""))
            for k in node
            if is_number(node[k]) and not isinstance(node[k], float)
        }
        heads = [node[k] for k, kind in kinds.items() if kind is not None and kind.name == "heads"]
        for key, kind in kinds.items():
            value = node[key]
            if kind is not None and kind.name == "width" and heads and heads[0] > 0:
                rounded = -(-value // heads[0]) * heads[0]
                if rounded != value:
                    node[key] = rounded
                    why = f"auto width: a multiple of the {heads[0]} heads"
                    changes.append(Edit(f"{prefix}{key}", value, rounded, why))
        for key, item in node.items():
            visit(item, f"{prefix}{key}.")

    visit(config, "")
    return changes


def _device_spots(node: Any, prefix: str = "") -> Iterator[tuple[Any, Any, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if norm(str(key)) in ("device", "accelerator", "devicetype"):
                yield node, key, path
            elif isinstance(value, Mapping):
                yield from _device_spots(value, path)


def fix_seeds(config: Any, value: int = 0) -> list[Edit]:
    """Give unset (null) seed keys a fixed value, so shrunk runs are repeatable."""
    changes: list[Edit] = []

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                if norm(str(key)) in SEED_NAMES and item is None:
                    node[key] = value
                    changes.append(Edit(path, None, value, "seed fixed"))
                else:
                    visit(item, path)

    visit(config, "")
    return changes
