"""The files a command reads its values from, found and read: the edge of ``bot.shrink.cmdline``.

- Python configurator style (nanoGPT): the script's module-level defaults and the ``.py``
  config files among its arguments, when ``bot.shrink.pyconfig.python_mode`` recognises the
  pattern (or ``shrink.config`` names a ``.py`` file, which forces it);
- argparse: the script's ``add_argument`` defaults, with each option's spelling and help
  text (``bot.shrink.argparse_defaults``);
- a config tree built in code (minGPT's ``get_config()`` and ``merge_from_args``), its
  literal defaults by dotted path (``bot.shrink.attrconfig``);
- Hydra: the primary config named by ``--config-path``/``--config-name`` (``-cp``/``-cn``) or by
  the script's ``@hydra.main(...)``, composed with its defaults list (``bot.shrink.hydra``).

Paths the command names are relative to the directory it runs in (``cwd``); ``shrink.config``
is relative to the checkout root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from . import argparse_defaults, attrconfig, hydra, pyconfig
from . import argv as shrinkargs
from .argv import Program, Slot
from .cmdline import Source


@dataclass(frozen=True)
class Found:
    program: Program
    slots: tuple[Slot, ...]
    sources: tuple[Source, ...]


def find(
    argv: Sequence[str], *, cwd: Path, root: Path | None = None, python_config: str | None = None
) -> Found:
    """The values ``argv`` sets and the files it reads defaults from (module docstring):
    ``cwd`` is where the command runs, ``root`` the checkout (default: ``cwd``)."""
    root = cwd if root is None else root
    program = shrinkargs.program(argv, lambda rel: (cwd / rel).is_file())
    script = _read_python(cwd, program.script) if program.script else None
    configs: list[tuple[str, pyconfig.PyConfig]] = []
    missing: list[str] = []
    for path in _python_arguments(argv, program.start):
        read = _read_python(cwd, path)
        if read is None:
            missing.append(path)
        else:
            configs.append((path, read))
    plain = shrinkargs.slots(argv, program.start)
    overridden = [s.head[2:-1] for s in plain if s.head.startswith("--")]
    is_python, may_append = pyconfig.python_mode(script, [c for _, c in configs], overridden)
    if python_config is not None:
        forced = _read_python(root, python_config)
        if forced is None:
            raise ConfigError(f"{python_config}: shrink.config: Python config file not found")
        if python_config != program.script:
            configs.append((python_config, forced))
        is_python = may_append = True
    if is_python and missing:
        raise ConfigError(
            f"{missing[0]}: Python config file not found (an argument of the command)"
        )
    slots = shrinkargs.slots(argv, program.start, python=True) if is_python else plain
    sources: list[Source] = []
    if is_python and may_append:
        if script is not None and script.names and program.script:
            sources.append(_source(program.script, "script-defaults", script))
        sources.extend(_source(path, "python-config", read) for path, read in configs)
    found = _hydra_source(argv, program, script, cwd, slots)
    if found is not None:
        sources.append(found)
    elif not is_python and program.script:
        options = _argparse_source(cwd, program.script) or _attr_source(cwd, root, program.script)
        if options is not None:
            sources.append(options)
    return Found(program, tuple(slots), tuple(sources))


def _attr_source(cwd: Path, root: Path, script: str) -> Source | None:
    """A config tree the script builds in code and merges ``--a.b=value`` onto."""
    try:
        text = (cwd / script).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not attrconfig.qualifies(text):
        return None
    bases = _module_bases((cwd / script).parent, cwd, root)

    def load(module: str) -> str | None:
        rel = Path(*module.split("."))
        for base in bases:
            for file in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
                try:
                    return file.read_text()
                except (OSError, UnicodeDecodeError):
                    continue
        return None

    tree = attrconfig.read(text, load)
    if not tree.values:
        return None
    return Source(script, "attribute-config", tree.values, tree.texts, append="dotted")


def _argparse_source(cwd: Path, script: str) -> Source | None:
    """The script's ``add_argument`` defaults, as values the command could set."""
    try:
        text = (cwd / script).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if "add_argument" not in text:
        return None
    read = argparse_defaults.read(text)
    if not read.options:
        return None
    opts = read.options
    return Source(
        script,
        "argparse-defaults",
        read.values,
        {dest: o.text for dest, o in opts.items()},
        append="argparse",
        flags={dest: o.flag for dest, o in opts.items()},
        hints={dest: o.help for dest, o in opts.items() if o.help},
    )


def _module_bases(here: Path, cwd: Path, root: Path) -> list[Path]:
    """Where the script's ``from pkg.mod import X`` may come from: its folder, where it runs,
    the folders above up to the repository's top (``.git``, at most 6 up), ``PYTHONPATH``."""
    bases = [here, cwd, root]
    for parent in list(here.parents)[:6]:
        bases.append(parent)
        if (parent / ".git").exists():
            break
    bases.extend(Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    return list(dict.fromkeys(bases))


def _python_arguments(argv: Sequence[str], start: int) -> list[str]:
    """Positional ``.py`` arguments: the config files a configurator execs."""
    return [t for t in argv[start:] if t.endswith(".py") and not t.startswith("-") and "=" not in t]


def _read_python(root: Path, path: str) -> pyconfig.PyConfig | None:
    file = Path(path) if Path(path).is_absolute() else root / path
    try:
        return pyconfig.read(file.read_text())
    except (OSError, UnicodeDecodeError):
        return None


def _source(label: str, style: str, read: pyconfig.PyConfig) -> Source:
    values = {name: a.value for name, a in read.names.items()}
    texts = {name: a.text for name, a in read.names.items()}
    return Source(label, style, values, texts, append="python")


def _hydra_source(
    argv: Sequence[str],
    program: Program,
    script: pyconfig.PyConfig | None,
    root: Path,
    slots: Sequence[Slot],
) -> Source | None:
    where = hydra.location(argv, program.start, script.hydra if script else None)
    if where is None:
        return None
    here = (root / program.script).parent if program.script else root
    dirs: list[Path] = []
    if where.path is not None:
        given = Path(where.path)
        dirs.extend([given] if given.is_absolute() else [here / given, root / given])
    dirs.extend(Path(d) if Path(d).is_absolute() else root / d for d in where.dirs)

    def load(relative: str) -> str | None:
        for folder in dirs:
            try:
                return (folder / relative).read_text()
            except (OSError, UnicodeDecodeError):
                continue
        return None

    if load(where.name) is None:
        if where.explicit:
            places = ", ".join(str(d) for d in dirs) or "no --config-path given"
            raise ConfigError(f"{where.name}: Hydra config not found ({places})")
        return None  # @hydra.main names a config this checkout does not have where we look
    choices = {s.key: s.value for s in slots if s.style == "hydra-override"}
    values = hydra.compose(where.name, load, choices)
    folder = next((d for d in dirs if (d / where.name).is_file()), root)
    try:
        label = str((folder / where.name).relative_to(root))
    except ValueError:
        label = str(folder / where.name)
    return Source(label, "hydra-config", values, append="hydra")
