"""The shrinker proper: explicit rules, then the names ``auto`` recognises, then device forcing.

``auto_rules`` recognises the usual names for steps, epochs, eval batches and interval,
gradient accumulation, layers, widths, embedding and vocabulary sizes, sequence length, batch
size, dataset size and worker count (in the naming styles of popular trainers: nanoGPT, HF
``TrainingArguments``, Lightning, Hydra configs) and proposes conservative rules for them; a key
it does not recognise is never touched. Pure.
"""

from __future__ import annotations

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
            "limittrainbatches",
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
            "width",
            "dff",
            "ffndim",
            "intermediatesize",
            "channels",
            "dim",
            "mlpdim",
            "tophidden",
        ),
        {"scale": 0.25, "min": 8, "multiple": 8},
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
        ),
        {"max": 4096},
    ),
    AutoKind("image size", ("imagesize", "imgsize", "resolution", "inputsize"), {"max": 32}),
    AutoKind(
        "workers",
        ("numworkers", "workers", "dataloadernumworkers", "nworkers"),
        {"max": 2},
        "capped, not zeroed: worker start-up is part of TTFB",
    ),
)
_BY_NAME = {n: kind for kind in AUTO_KINDS for n in kind.names}


def auto_rules(config: Any, *, skip: Sequence[str] = ()) -> dict[str, tuple[AutoKind, Any]]:
    """Concrete dotted paths of ``config`` that ``--auto`` recognises, with their rule."""
    found: dict[str, tuple[AutoKind, Any]] = {}

    def visit(node: Any, prefix: str) -> None:
        items = node.items() if isinstance(node, Mapping) else []
        for key, value in items:
            path = f"{prefix}.{key}" if prefix else str(key)
            kind = _BY_NAME.get(norm(str(key)))
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
) -> ShrinkResult:
    """Explicit rules first, then ``auto`` on what they did not name, then device forcing."""
    result = apply(config, rules or {}, source=source)
    changes = list(result.changes)
    out = result.config
    if auto:
        named = set(rules or {})
        for path, (kind, rule) in auto_rules(out, skip=tuple(named)).items():
            container, key, where = next(walk(out, split(path), ""))
            before = container[key]
            after = apply_rule(before, rule, where)
            if after != before:
                container[key] = after
                note = f"auto {kind.name}: {describe(rule)}"
                changes.append(
                    Edit(where, before, after, note + (f" ({kind.why})" if kind.why else ""))
                )
    if auto:
        changes.extend(fix_seeds(out))
    if device:
        for container, key, where in _device_spots(out):
            before = container[key]
            if isinstance(before, str) and before.lower().startswith(("cuda", "gpu")):
                container[key] = device
                changes.append(Edit(where, before, device, f"device forced to {device}"))
    return ShrinkResult(out, tuple(changes))


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
