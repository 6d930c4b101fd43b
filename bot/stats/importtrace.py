"""``-X importtime`` traces as trees, and the modules' own times in them. Pure.

CPython (``-X importtime`` or ``PYTHONPROFILEIMPORTTIME=1``) writes one stderr line per module
it loads, once the module has finished loading::

    import time: self [us] | cumulative | imported package
    import time:       120 |        120 |     torch._utils
    import time:      1206 |      21034 |   torch

After the last ``|`` come one space and two more per nesting level; a module's children are
the deeper lines right above it. Importing ``a.b`` loads ``a`` *inside* ``a.b`` (a parent
package shows as a child of its submodule).

What a trace cannot say: it records import nesting, not calls, so a module imported lazily
inside a function the script calls shows at the top level (as imported by the script); imports
running concurrently in threads share one nesting counter and nest wrongly; and a trace line
that the job's own stderr broke mid-line is lost, its children going to its importer. Its times
include the garbage collections that ran during each import, which ``without_gc`` takes out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

HEADER = "import time: self [us] | cumulative | imported package"
_LINE = re.compile(r"import time: +(\d+) \| +(\d+) \|( +)([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


@dataclass(frozen=True)
class ImportNode:
    """One module's line: times in microseconds, ``parent``/``children`` index the tree."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int  # printed nesting level; > 0 on a root: its importer's line never came
    parent: int | None
    children: tuple[int, ...]


@dataclass(frozen=True)
class ImportTree:
    """One trace's forest: ``nodes`` in print order, ``index`` of each module's only node."""

    nodes: tuple[ImportNode, ...]
    roots: tuple[int, ...]
    index: Mapping[str, int]

    def get(self, name: str) -> ImportNode | None:
        i = self.index.get(name)
        return None if i is None else self.nodes[i]

    def parent_name(self, name: str) -> str | None:
        p = self.nodes[self.index[name]].parent
        return None if p is None else self.nodes[p].name

    def chain(self, name: str) -> tuple[str, ...]:
        """The importers from the top of the forest down to ``name`` (``name`` last)."""
        out = []
        i: int | None = self.index[name]
        while i is not None:
            out.append(self.nodes[i].name)
            i = self.nodes[i].parent
        return tuple(reversed(out))

    def top_level(self, name: str) -> bool:
        """Whether the chain to ``name`` starts at depth 0 (the script or start-up loaded it),
        not at an orphan whose importer's line is missing."""
        return self.nodes[self.index[self.chain(name)[0]]].depth == 0

    def subtree(self, name: str) -> Iterator[ImportNode]:
        """``name`` and every module loaded while it loaded, depth first."""
        todo = [self.index[name]]
        while todo:
            node = self.nodes[todo.pop()]
            yield node
            todo.extend(node.children)


def parse(text: str) -> ImportTree:
    """The import forest of a stderr text holding an importtime trace.

    Lines not starting with ``import time:`` (the job's own output) are ignored, and so are
    garbled ones: a bad number, an even indentation, cumulative below self, a name that is not
    a dotted identifier. Each header line starts a new interpreter (a child process inherits
    ``PYTHONPROFILEIMPORTTIME``); the nesting restarts there, and a module seen before keeps
    its first occurrence, a repeat's newly loaded children going to the repeat's importer.
    """
    rows: list[tuple[str, int, int, int]] = []
    children: list[list[int]] = []
    index: dict[str, int] = {}
    roots: list[int] = []
    waiting: list[tuple[int, int]] = []  # finished modules awaiting their importer, and level
    for raw in text.splitlines():
        line = raw.rstrip()
        if line == HEADER:
            roots += [i for i, _ in waiting]
            waiting.clear()
            continue
        m = _LINE.fullmatch(line)
        if not m or len(m[3]) % 2 == 0 or int(m[2]) < int(m[1]):
            continue
        depth = (len(m[3]) - 1) // 2
        taken: list[int] = []
        while waiting and waiting[-1][1] > depth:
            taken.insert(0, waiting.pop()[0])
        if m[4] in index:  # a repeat: its importer adopts what it loaded
            waiting += [(i, depth) for i in taken]
            continue
        index[m[4]] = len(rows)
        rows.append((m[4], int(m[1]), int(m[2]), depth))
        children.append(taken)
        waiting.append((index[m[4]], depth))
    roots += [i for i, _ in waiting]
    parent: list[int | None] = [None] * len(rows)
    for i, cs in enumerate(children):
        for c in cs:
            parent[c] = i
    nodes = (ImportNode(*row, parent[i], tuple(children[i])) for i, row in enumerate(rows))
    return ImportTree(tuple(nodes), tuple(roots), index)


def without_gc(tree: ImportTree, pauses: Mapping[str, float]) -> ImportTree:
    """``tree`` with each module's garbage collections (seconds, from the probe: the
    collections that ran while that module was being imported) taken out of its self time and
    out of its importers' cumulative times. A collection lands on whichever import allocates
    when it runs, so an unrelated change moves 100 ms from one module to another; the times
    left are the modules' own. A pause is never taken below zero, and one of a module this
    trace does not list is ignored."""
    if not pauses:
        return tree
    self_us = [n.self_us for n in tree.nodes]
    cumulative_us = [n.cumulative_us for n in tree.nodes]
    for name, seconds in pauses.items():
        i = tree.index.get(name)
        if i is None:
            continue
        take = min(round(seconds * 1e6), self_us[i])
        self_us[i] -= take
        at: int | None = i
        while at is not None:
            cumulative_us[at] = max(self_us[at], cumulative_us[at] - take)
            at = tree.nodes[at].parent
    nodes = tuple(
        replace(n, self_us=self_us[i], cumulative_us=cumulative_us[i])
        for i, n in enumerate(tree.nodes)
    )
    return replace(tree, nodes=nodes)


def own_times(text: str, pauses: Mapping[str, float]) -> ImportTree:
    """The import forest of an importtime trace, its garbage collections taken out."""
    return without_gc(parse(text), pauses)
