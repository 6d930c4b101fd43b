"""Which import it was: what head imports that base does not, and the change of each
package's import time, from ``-X importtime`` trees (``bot.stats.importtrace``). Pure.

``new_modules``, ``first_repo_file``: which import; ``package_deltas``: times; ``attribute``: both.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from .importtrace import ImportNode, ImportTree

_STARTUP = frozenset({"site", "sitecustomize", "usercustomize"})  # loaded before the script


@dataclass(frozen=True)
class NewModule:
    """A module one arm loads and the other never does, at the root of such a subtree."""

    name: str
    cumulative_s: float  # median over the samples of the loading arm that load it
    modules: int  # median count of its subtree's modules the other arm never loads (itself too)
    samples: int  # samples of the loading arm that load it …
    out_of: int  # … out of this many
    chain: tuple[str, ...]  # importers from the top level down to it (itself last)
    top_level: bool  # chain[0] was loaded at depth 0 (not an orphan of a cut trace)
    first_file: str | None = None  # nearest repository file in the chain (``attribute``)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "chain": list(self.chain)}


def new_modules(
    base: Sequence[ImportTree], head: Sequence[ImportTree], *, min_share: float = 0.5
) -> tuple[tuple[NewModule, ...], tuple[NewModule, ...]]:
    """``(added, removed)``: modules loaded in more than ``min_share`` of one arm's samples
    (a majority by default) and in none of the other's, reported only at the roots of such
    subtrees, by median cumulative time, largest first. Deterministic: set differences.

    A module is a root when, in at least half the samples loading it, its importer is not
    itself new. Its chain comes from the first sample that loads it. An empty arm gives
    nothing (there is nothing to compare with)."""
    if not base or not head:
        return (), ()
    return _appeared(base, head, min_share), _appeared(head, base, min_share)


def _appeared(
    ref: Sequence[ImportTree], arm: Sequence[ImportTree], min_share: float
) -> tuple[NewModule, ...]:
    known: set[str] = set().union(*(t.index for t in ref))
    counts = Counter(name for t in arm for name in t.index if name not in known)
    new = {name for name, c in counts.items() if c > min_share * len(arm)}
    found = []
    for name in new:
        present = [t for t in arm if name in t.index]
        rooted = sum(t.parent_name(name) not in new for t in present)
        if 2 * rooted < len(present):
            continue
        cumulative = _median_s(t.nodes[t.index[name]].cumulative_us for t in present)
        brought = statistics.median_low(
            [sum(n.name not in known for n in t.subtree(name)) for t in present]
        )
        chain, top = present[0].chain(name), present[0].top_level(name)
        found.append(NewModule(name, cumulative, brought, len(present), len(arm), chain, top))
    return tuple(sorted(found, key=lambda m: (-m.cumulative_s, m.name)))


def module_names_for_files(files: Iterable[str]) -> dict[str, str]:
    """Dotted module name → repository file, for every name a file may be imported as.

    ``examples/trainer/telemetry.py`` gives ``examples.trainer.telemetry``,
    ``trainer.telemetry`` and ``telemetry`` (any suffix, as ``sys.path`` may hold any of its
    folders); ``pkg/__init__.py`` gives ``pkg``; ``src/pkg/mod.py`` also ``pkg.mod`` (the
    ``src/`` layout); ``.so``/``.pyd`` extension modules count. Suffixes stop at a folder that
    is not an identifier. Where files share a name, the one needing the fewest leading folders
    dropped wins (the longest match); a tie leaves the name out rather than guess.
    """
    best: dict[str, tuple[int, str | None]] = {}
    for file in files:
        for name, dropped in _candidates(file):
            have = best.get(name)
            if have is None or dropped < have[0]:
                best[name] = (dropped, file)
            elif dropped == have[0] and have[1] != file:
                best[name] = (dropped, None)
    return {name: file for name, (_, file) in best.items() if file is not None}


def _candidates(file: str) -> list[tuple[str, int]]:
    parts = [p for p in file.replace("\\", "/").split("/") if p not in ("", ".")]
    stem, _, ext = (parts.pop() if parts else "").partition(".")
    if not (ext == "py" or f".{ext}".endswith((".so", ".pyd"))):
        return []
    parts += [stem] if stem != "__init__" else []
    start = len(parts)
    while start > 0 and parts[start - 1].isidentifier():
        start -= 1
    src = 1 if parts and parts[0] == "src" else 0
    return [(".".join(parts[i:]), max(i - src, 0)) for i in range(start, len(parts))]


def first_repo_file(
    chain: Sequence[str],
    module_files: Mapping[str, str],
    script: str | None,
    *,
    top_level: bool = True,
) -> str | None:
    """The nearest importer of ``chain[-1]`` that is a repository file, walking up the chain
    (the module itself is not its own importer). With none, the top of the chain was loaded
    at depth 0, i.e. by the script (``__main__``): ``script`` — unless the top is an orphan
    of a cut trace (``top_level`` false) or a start-up module (``site``), then ``None``."""
    for name in reversed(chain[:-1]):
        if name in module_files:
            return module_files[name]
    if not chain or not top_level or chain[0] in _STARTUP:
        return None
    return script


@dataclass(frozen=True)
class PackageDelta:
    """One top-level package's import time in both arms, in seconds.

    ``delta_s`` is inclusive: it also moves for a package whose import of *another* package
    got slower; ``self_delta_s`` (the package's own modules' self time) says where it went."""

    package: str
    base_s: float  # median cumulative over the base samples (0 where one does not load it)
    head_s: float
    delta_s: float  # median of the paired differences head - base
    self_delta_s: float
    pairs: int
    consistent: bool = False  # every pair moved the way the median did (2 pairs at least)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def package_times(tree: ImportTree) -> dict[str, tuple[int, int]]:
    """Per top-level package (first dotted component): (cumulative, self) microseconds, the
    former over its outermost modules (``torch`` → ``numpy`` → ``torch._C`` counts once)."""
    cumulative: dict[str, int] = {}
    own: dict[str, int] = {}
    todo: list[tuple[int, frozenset[str]]] = [(r, frozenset()) for r in tree.roots]
    while todo:
        i, outer = todo.pop()
        node = tree.nodes[i]
        package = node.name.partition(".")[0]
        own[package] = own.get(package, 0) + node.self_us
        if package not in outer:
            cumulative[package] = cumulative.get(package, 0) + node.cumulative_us
            outer = outer | {package}
        todo.extend((c, outer) for c in node.children)
    return {p: (cumulative[p], own[p]) for p in own}


def package_deltas(base: Sequence[ImportTree], head: Sequence[ImportTree]) -> list[PackageDelta]:
    """Per top-level package, the change of import time: the i-th base sample paired with the
    i-th head sample (the first ``min(len)`` of each), median base, median head and median
    of the paired differences, in seconds, and whether every pair moved the median's way (3+3
    samples move by tens of ms from noise); by |delta| descending, then |self delta|."""
    pairs = [(package_times(x), package_times(y)) for x, y in zip(base, head, strict=False)]
    out = []
    for p in {p for pair in pairs for times in pair for p in times}:
        b = [x.get(p, (0, 0)) for x, _ in pairs]
        h = [y.get(p, (0, 0)) for _, y in pairs]
        side = statistics.median(diffs := [y[0] - x[0] for x, y in zip(b, h, strict=True)])
        out.append(
            PackageDelta(
                package=p,
                base_s=_median_s(c for c, _ in b),
                head_s=_median_s(c for c, _ in h),
                delta_s=_median_s(y[0] - x[0] for x, y in zip(b, h, strict=True)),
                self_delta_s=_median_s(y[1] - x[1] for x, y in zip(b, h, strict=True)),
                pairs=len(pairs),
                consistent=len(diffs) >= 2 and side != 0 and all(d * side > 0 for d in diffs),
            )
        )
    return sorted(out, key=lambda d: (-abs(d.delta_s), -abs(d.self_delta_s), d.package))


def _median_s(microseconds: Iterable[int]) -> float:
    return float(statistics.median(microseconds)) / 1e6


@dataclass(frozen=True)
class TopImport:
    """One of the slowest imports: medians over the samples that load it."""

    name: str
    cumulative_s: float
    self_s: float
    samples: int
    within: str | None  # the nearest listed module it was loaded under, if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def top_imports(trees: Sequence[ImportTree], n: int = 15) -> list[TopImport]:
    """The ``n`` modules of largest median cumulative time (over the samples loading them).

    Nested ones are kept (``torch`` and the ``torch._C`` inside it are both news); ``within``
    names the nearest listed ancestor, so a reader can indent them: their times overlap."""
    loaded: dict[str, list[ImportNode]] = {}
    for t in trees:
        for node in t.nodes:
            loaded.setdefault(node.name, []).append(node)
    cumulative = {name: _median_s(x.cumulative_us for x in xs) for name, xs in loaded.items()}
    chosen = sorted(loaded, key=lambda name: (-cumulative[name], name))[:n]
    out = []
    for name in chosen:
        first = next(t for t in trees if name in t.index)
        within = next((a for a in reversed(first.chain(name)[:-1]) if a in chosen), None)
        self_s = _median_s(x.self_us for x in loaded[name])
        out.append(TopImport(name, cumulative[name], self_s, len(loaded[name]), within))
    return out


def _duration(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 10:
        return f"≈{ms:.1f} ms"
    return f"≈{ms:.0f} ms" if ms < 1000 else f"≈{seconds:.2f} s"


def describe(module: NewModule, *, removed: bool = False) -> str:
    """``head newly imports scipy.stats (≈310 ms cumulative, 412 modules), first from x.py``."""
    count = f"{module.modules} module{'' if module.modules == 1 else 's'}"
    seen = "" if module.samples == module.out_of else f", in {module.samples}/{module.out_of}"
    what = f"{module.name} ({_duration(module.cumulative_s)} cumulative, {count}{seen})"
    if removed:
        where = f", which base imported from {module.first_file}" if module.first_file else ""
        return f"head no longer imports {what}{where}"
    where = f", first from {module.first_file}" if module.first_file else ""
    return f"head newly imports {what}{where}"


@dataclass(frozen=True)
class Attribution:
    """What head imports differently from base, from each arm's attribution samples."""

    added: tuple[NewModule, ...]
    removed: tuple[NewModule, ...]
    packages: tuple[PackageDelta, ...]
    base_samples: int
    head_samples: int

    def sentences(self) -> list[str]:
        return [describe(m) for m in self.added] + [describe(m, removed=True) for m in self.removed]

    def to_json(self, max_packages: int = 20) -> dict[str, Any]:
        return {
            "base_samples": self.base_samples,
            "head_samples": self.head_samples,
            "added": [m.to_json() for m in self.added],
            "removed": [m.to_json() for m in self.removed],
            "packages": [p.to_json() for p in self.packages[:max_packages]],
            "sentences": self.sentences(),
        }


def attribute(
    base: Sequence[ImportTree],
    head: Sequence[ImportTree],
    *,
    module_files: Mapping[str, str] | None = None,
    script: str | None = None,
    min_share: float = 0.5,
) -> Attribution:
    """``new_modules`` with each module's ``first_repo_file``, and ``package_deltas``.

    ``module_files`` (from ``module_names_for_files``) should cover both arms' repository
    files: a removed module's chain comes from base."""
    files = module_files or {}
    added, removed = (
        tuple(
            replace(m, first_file=first_repo_file(m.chain, files, script, top_level=m.top_level))
            for m in ms
        )
        for ms in new_modules(base, head, min_share=min_share)
    )
    return Attribution(added, removed, tuple(package_deltas(base, head)), len(base), len(head))
