"""Maps a model family name to the modules that implement it, imported on demand.

A run imports only its own family's dataset and model modules, so a ranker run never
loads the LM or CNN code (tools that map which source files a run imports rely on this).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

# family -> (dataset module, model module)
_MODULES: dict[str, tuple[str, str]] = {
    "ranker": ("examples.trainer.datasets.ranker", "examples.trainer.models.ranker"),
    "lm": ("examples.trainer.datasets.lm", "examples.trainer.models.lm"),
    "cnn": ("examples.trainer.datasets.cnn", "examples.trainer.models.cnn"),
}

FAMILIES: tuple[str, ...] = tuple(_MODULES)


@dataclass(frozen=True)
class Family:
    """The imported modules of one family.

    ``dataset`` provides ``build_dataset(cfg) -> torch.utils.data.Dataset``;
    ``model`` provides ``build_model(cfg) -> torch.nn.Module`` whose ``forward`` takes the
    batch inputs and whose ``loss(output, target)`` returns the scalar training loss.
    """

    name: str
    dataset: ModuleType
    model: ModuleType


def load_family(name: str) -> Family:
    """Import and return the dataset and model modules of family ``name``."""
    if name not in _MODULES:
        raise KeyError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})")
    dataset_module, model_module = _MODULES[name]
    return Family(
        name=name,
        dataset=importlib.import_module(dataset_module),
        model=importlib.import_module(model_module),
    )
