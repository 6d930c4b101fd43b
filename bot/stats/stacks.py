"""Sampled stacks as frames named for people, and the time each frame took per sample. Pure.

A profiling sample's stacks come as collapsed lines (``fn (path:line);… weight``, root to leaf,
what ``py-spy record --format raw --full-filenames --function`` and the probe's in-process
sampler write). ``fold`` names each frame by its function and file: a file in the repository
by its path relative to the root, a package or standard-library file by its module
(``socket``, ``torch.nn.modules.module``, ``importlib._bootstrap`` for a frozen one), anything
else by its base name. ``Sampled`` turns a sample's weights into milliseconds: each stack's
share of the sample's weight times the sample's TTFB, so the rate a profiler really achieved
(and any pause it caused) does not matter.

Garbage collections are then taken out of the functions they interrupted. A collection runs
when allocations cross a threshold, so a full one (100 ms and more with torch imported) lands
on whichever function allocates then, and a change anywhere before it moves it to another
function: profiled as it is, one function loses 100 ms and another gains it, in every sample
alike, and both look significant. The probe times each collection with the stack it stopped
(``gc.txt``); its time is taken from the sampled stacks at or above that stack and given to
the ``GC`` frame, a root of its own, where a change in how much is collected shows as one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
_STDLIB = re.compile(r"/lib/(?:python|pypy)\d+(?:\.\d+)?t?/(?P<module>.+)$")
_PACKAGES = ("/site-packages/", "/dist-packages/")
_NOT_REPO = ("/site-packages/", "/dist-packages/", "/.venv/", "/venv/", "/.tox/", "/.git/")
NO_FRAME = "(no Python frame)"
PROBE = "_ttfb_probe"  # the probe's module, as frames name it
AFTER_FIRST_BATCH = {"_first_batch", "_at_exit", "_write_report", "_exit_now"}


@dataclass(frozen=True, order=True)
class Frame:
    """A function as people name it: its name, its file (repository-relative path, else
    module) and its first line; ``repo`` when the file is the repository's own."""

    function: str
    file: str
    line: int = field(default=0, compare=False)  # shown, not part of its identity: an edit
    repo: bool = False  # above a function moves its first line, and it stays the same function

    @property
    def where(self) -> str:
        """``file:line`` (``file`` alone where the line is not known)."""
        return f"{self.file}:{self.line}" if self.line else self.file


def module_of(path: str) -> str:
    """``a/b/c.py`` → ``a.b.c``; ``a/b/__init__.py`` → ``a.b``."""
    stem = path[:-3] if path.endswith(".py") else path
    parts = [p for p in stem.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def name_file(path: str, root: str) -> tuple[str, bool]:
    """How people name the file a frame is in, and whether it is the repository's own."""
    if path.startswith("<frozen ") and path.endswith(">"):
        return path[len("<frozen ") : -1], False
    top = root.rstrip("/") + "/" if root else ""
    if top and path.startswith(top) and not any(m in path[len(top) - 1 :] for m in _NOT_REPO):
        return path[len(top) :], True
    for marker in _PACKAGES:
        if marker in path:
            return module_of(path.rsplit(marker, 1)[1]), False
    stdlib = _STDLIB.search(path)
    if stdlib:
        return module_of(stdlib["module"]), False
    if path.endswith(".py") and "/" in path:
        return module_of(path.rsplit("/", 1)[1]), False
    return path, False


def parse_frame(text: str, root: str) -> Frame:
    """One collapsed frame (``fn (path:line)``) as a ``Frame``."""
    m = _FRAME.match(text)
    if m is None:
        return Frame(text, "", 0, False)
    file, repo = name_file(m["file"], root)
    return Frame(m["function"], file, int(m["line"] or 0), repo)


GC = Frame("garbage collection", "gc")  # the pauses of the cyclic garbage collector


def after_first_batch(frame: Frame) -> bool:
    """A frame of the probe's own work once the first batch is seen (its report, the exit)."""
    return frame.file == PROBE and frame.function in AFTER_FIRST_BATCH


def fold(stacks: Mapping[str, float], root: str) -> dict[tuple[Frame, ...], float]:
    """Collapsed stacks as tuples of named frames (root to leaf), weights added up where
    naming makes two stacks one; an empty stack is the ``NO_FRAME`` frame. Stacks of the
    probe's work after the first batch are left out: the profile ends where TTFB does."""
    cache: dict[str, Frame] = {}
    out: dict[tuple[Frame, ...], float] = {}
    for text, weight in stacks.items():
        frames = []
        for part in text.split(";") if text else ():
            frame = cache.get(part)
            if frame is None:
                frame = cache[part] = parse_frame(part, root)
            frames.append(frame)
        if any(after_first_batch(f) for f in frames):
            continue
        key = tuple(frames) or (Frame(NO_FRAME, ""),)
        out[key] = out.get(key, 0.0) + float(weight)
    return out


@dataclass(frozen=True)
class Sampled:
    """One profiling sample: its TTFB and its folded stacks, in milliseconds of that TTFB,
    with its garbage collections (``gc``: milliseconds by the stack they stopped) moved to the
    ``GC`` frame; ``gc_unplaced_ms`` of them matched no sampled stack and stayed where the
    profiler put them."""

    ttfb_ms: float
    stacks: Mapping[tuple[Frame, ...], float]  # weights as the profiler gave them
    gc: Mapping[tuple[Frame, ...], float] = field(default_factory=dict)
    ms: Mapping[tuple[Frame, ...], float] = field(init=False)
    gc_unplaced_ms: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        total = sum(self.stacks.values())
        unit = self.ttfb_ms / total if total > 0 else 0.0
        ms, unplaced = take_gc({k: w * unit for k, w in self.stacks.items()}, self.gc)
        object.__setattr__(self, "ms", ms)
        object.__setattr__(self, "gc_unplaced_ms", unplaced)

    def inclusive(self) -> dict[Frame, float]:
        """Per frame, the milliseconds of the stacks it is on (a recursive frame once)."""
        out: dict[Frame, float] = {}
        for stack, ms in self.ms.items():
            for frame in set(stack):
                out[frame] = out.get(frame, 0.0) + ms
        return out

    def own(self) -> dict[Frame, float]:
        """Per frame, the milliseconds of the stacks it is the leaf of (self time)."""
        out: dict[Frame, float] = {}
        for stack, ms in self.ms.items():
            out[stack[-1]] = out.get(stack[-1], 0.0) + ms
        return out


def sampled(
    ttfb_s: float, stacks: Mapping[str, float], root: str, gc: Mapping[str, float] | None = None
) -> Sampled:
    """A profiling sample from its collapsed stacks and its garbage collections (collapsed
    too, in microseconds)."""
    pauses = {k: us / 1000.0 for k, us in fold(gc or {}, root).items()}
    return Sampled(ttfb_s * 1000.0, fold(stacks, root), pauses)


def _where(stack: tuple[Frame, ...]) -> tuple[tuple[str, int], ...]:
    """A stack by its frames' files and first lines: how two profilers' names of one frame
    agree (py-spy may name a method ``Class.method`` or ``method``, a nested function without
    its ``<locals>``)."""
    return tuple((f.file, f.line) for f in stack)


def take_gc(
    ms: dict[tuple[Frame, ...], float], pauses: Mapping[tuple[Frame, ...], float]
) -> tuple[dict[tuple[Frame, ...], float], float]:
    """``ms`` with each pause taken from the stacks it was sampled on and given to ``GC``, and
    the milliseconds of pauses that found no such stack. A pause was sampled on the stack it
    stopped, or above it where the collection ran finalizers: that stack's own time goes first,
    then the stacks above it in proportion, never below zero."""
    if not pauses:
        return ms, 0.0
    wanted = {_where(stack) for stack in pauses}
    depths = sorted({len(w) for w in wanted})
    exact: dict[tuple[tuple[str, int], ...], list[tuple[Frame, ...]]] = {}
    above: dict[tuple[tuple[str, int], ...], list[tuple[Frame, ...]]] = {}
    for stack in ms:
        where = _where(stack)
        for depth in depths:
            if depth > len(where):
                break
            if where[:depth] in wanted:
                (exact if depth == len(where) else above).setdefault(where[:depth], []).append(
                    stack
                )
    out = dict(ms)
    moved = unplaced = 0.0
    for stack, pause in pauses.items():
        left = pause
        where = _where(stack)
        for group in (exact.get(where, []), above.get(where, [])):
            have = sum(out[s] for s in group)
            if left <= 0 or have <= 0:
                continue
            take = min(left, have)
            for s in group:
                out[s] -= take * out[s] / have
            left -= take
        moved += pause - left
        unplaced += left
    out = {k: v for k, v in out.items() if v > 1e-9}
    if moved > 0:
        out[(GC,)] = out.get((GC,), 0.0) + moved
    return out, unplaced


@dataclass(frozen=True)
class TopFrame:
    """A frame of one arm: mean self and inclusive milliseconds per sample."""

    frame: Frame
    self_ms: float
    inclusive_ms: float


def top_frames(samples: Sequence[Sampled], *, by: str = "self", n: int = 10) -> list[TopFrame]:
    """The ``n`` frames with the most ``self`` (or ``inclusive``) time, mean per sample."""
    if not samples:
        return []
    own = _mean([s.own() for s in samples])
    incl = _mean([s.inclusive() for s in samples])
    rows = [TopFrame(f, own.get(f, 0.0), incl.get(f, 0.0)) for f in incl]
    key = (lambda r: r.self_ms) if by == "self" else (lambda r: r.inclusive_ms)
    return sorted(rows, key=lambda r: (-key(r), r.frame))[:n]


def _mean(maps: Sequence[Mapping[Frame, float]]) -> dict[Frame, float]:
    out: dict[Frame, float] = {}
    for m in maps:
        for k, v in m.items():
            out[k] = out.get(k, 0.0) + v / len(maps)
    return out


@dataclass(frozen=True)
class FlameNode:
    """A node of the merged call tree: its parent's index (-1 at the root), its frame, and
    the mean inclusive milliseconds per sample in each arm."""

    parent: int
    frame: Frame
    base_ms: float
    head_ms: float


def flame_tree(
    base: Sequence[Sampled],
    head: Sequence[Sampled],
    *,
    min_ms: float,
    max_nodes: int = 1000,
) -> tuple[FlameNode, ...]:
    """The call tree of both arms merged by path, parents before children; nodes under
    ``min_ms`` in both arms are left out (raised until at most ``max_nodes`` remain)."""
    paths: dict[tuple[Frame, ...], list[float]] = {}
    for arm, samples in enumerate((base, head)):
        for s in samples:
            for stack, ms in s.ms.items():
                for depth in range(1, len(stack) + 1):
                    cell = paths.get(stack[:depth])
                    if cell is None:
                        cell = paths[stack[:depth]] = [0.0, 0.0]
                    cell[arm] += ms / len(samples)
    floor = min_ms
    kept = [p for p, (b, h) in paths.items() if max(b, h) >= floor]
    while len(kept) > max_nodes:
        floor *= 1.5
        kept = [p for p in kept if max(paths[p]) >= floor]
    kept.sort(key=lambda p: (len(p), -max(paths[p]), p))
    index: dict[tuple[Frame, ...], int] = {}
    nodes: list[FlameNode] = []
    for path in kept:
        parent = index.get(path[:-1], -1)
        if len(path) > 1 and parent < 0:
            continue  # its parent was left out
        index[path] = len(nodes)
        b, h = paths[path]
        nodes.append(FlameNode(parent, path[-1], b, h))
    return tuple(nodes)


def children_of(nodes: Iterable[FlameNode]) -> dict[int, list[int]]:
    """Per node index (-1: the roots), its children's indexes in order."""
    out: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        out.setdefault(node.parent, []).append(i)
    return out
