"""The differential profile of two arms' paths to the first batch: which function the time
went to. Pure; the samples come from ``bot.stats.stacks``.

Per frame (a function in its file) and per profiling sample, the inclusive milliseconds
(``Sampled.inclusive``). Profiling samples run in ABBA order, so the i-th base and head samples
make a pair, and per frame:

- **the change**: the median paired difference head − base, with a seeded percentile-bootstrap
  95% CI of that median over the pairs (as the phase segments have), and its share of the
  median change of the whole TTFB; base and head are the arms' medians;
- **significance**: the CI lies wholly beyond ± the frame's threshold: the floor (``floor_pct``
  of the base TTFB, at least ``floor_ms``) and half of the frame's own base time
  (``RELATIVE``). With five pairs that CI spans the smallest to the largest difference, so
  every pair must show the change. A test on a minimum effect rather than on zero: a start-up
  has hundreds of frames, and the largest (``import torch``) move by more than the floor from
  one sample to the next; one sample slowed by a neighbour's burst moves all of its frames
  at once (a module of ``torch`` whose import takes 200 ms in one sample takes 100 ms in the
  next). A function that appears, disappears, or changes by half of its own time is where a
  change lives; a frame whose time moves by less is carrying it (its callees show it), or
  is noise.

The rows name where the change lives: a significant frame is left out when a deeper
significant frame carries at least half of its change in the same direction (most of that
frame's time is spent under it), unless the deeper one is a library frame and this one is the
repository's own: so the row names *your* function, and beside it the library frame its change
is spent in (its child outside the repository that carries the most of the change). Rows are
ranked by the size of the change.

Garbage collections are not charged to the function each one interrupted (see
``bot.stats.stacks``): they are the ``GC`` frame, a row when its time changed significantly
(after the functions' rows, whatever its size: it says how much, not where), and reported
beside the rows (``Differential.gc``) whatever its change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .stacks import GC, FlameNode, Frame, Sampled, flame_tree

FLOOR_PCT = 1.0
FLOOR_MS = 20.0  # 5 samples at 250 Hz
RELATIVE = 0.5
RESAMPLES = 2000
CARRIES = 0.5  # a deeper frame carrying this share of a frame's change explains it
LIBRARY_SHARE = 0.25  # a library child carrying this share of a row's change is named beside it
MIN_PAIRS = 3  # fewer pairs: no frame is significant


@dataclass(frozen=True)
class FrameChange:
    """One frame's change between the arms, in milliseconds per sample (inclusive)."""

    frame: Frame
    base_ms: float
    head_ms: float
    delta_ms: float
    ci_low_ms: float
    ci_high_ms: float
    threshold_ms: float = 0.0  # how far beyond zero the CI must lie
    significant: bool = False
    share_pct: float | None = None  # of the whole TTFB's change
    library: Frame | None = None  # the library frame below it that carries its change


@dataclass(frozen=True)
class Differential:
    """The differential profile: the whole TTFB's change, the significant rows, the tree."""

    pairs: int
    base_ttfb_ms: float
    head_ttfb_ms: float
    delta_ms: float
    floor_ms: float
    tested: int  # frames whose change reached the floor
    rows: tuple[FrameChange, ...]
    flame: tuple[FlameNode, ...]
    gc: FrameChange | None = None  # the garbage collections' change, significant or not
    gc_placed_pct: float | None = None  # of their time, the share found on sampled stacks


def _bootstrap_medians(d: np.ndarray, seed: int, resamples: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap 95% CI of the median of each row of ``d`` (frames × pairs)."""
    n = d.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    medians = np.median(d[:, idx], axis=2)
    return np.percentile(medians, 2.5, axis=1), np.percentile(medians, 97.5, axis=1)


def changes(
    base: Sequence[Sampled],
    head: Sequence[Sampled],
    *,
    floor_ms: float,
    relative: float = RELATIVE,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> list[FrameChange]:
    """Every frame's change over the pairs, judged as the module docstring says."""
    n = min(len(base), len(head))
    incl_b = [s.inclusive() for s in base[:n]]
    incl_h = [s.inclusive() for s in head[:n]]
    frames = sorted({f: None for m in incl_h + incl_b for f in m})  # head's line where both
    if not frames or n == 0:
        return []
    b = np.array([[m.get(f, 0.0) for m in incl_b] for f in frames])
    h = np.array([[m.get(f, 0.0) for m in incl_h] for f in frames])
    low, high = _bootstrap_medians(h - b, seed, resamples)
    delta = np.median(h - b, axis=1)
    out = []
    for i, frame in enumerate(frames):
        base_ms = float(np.median(b[i]))
        threshold = max(floor_ms, relative * base_ms)
        out.append(
            FrameChange(
                frame=frame,
                base_ms=base_ms,
                head_ms=float(np.median(h[i])),
                delta_ms=float(delta[i]),
                ci_low_ms=float(low[i]),
                ci_high_ms=float(high[i]),
                threshold_ms=threshold,
                significant=bool(n >= MIN_PAIRS and (low[i] > threshold or high[i] < -threshold)),
            )
        )
    return out


def containment(
    samples: Sequence[Sampled], frames: Sequence[Frame]
) -> dict[Frame, dict[Frame, float]]:
    """For each of ``frames`` (inner), the share of its time spent with each other one of
    ``frames`` (outer) above it on the stack."""
    wanted = set(frames)
    total: dict[Frame, float] = {}
    under: dict[Frame, dict[Frame, float]] = {f: {} for f in frames}
    for s in samples:
        for stack, ms in s.ms.items():
            seen: list[Frame] = []
            for frame in stack:
                if frame not in wanted:
                    continue
                if frame not in seen:
                    total[frame] = total.get(frame, 0.0) + ms
                    cell = under[frame]
                    for outer in seen:
                        cell[outer] = cell.get(outer, 0.0) + ms
                    seen.append(frame)
    return {
        inner: {outer: v / total[inner] for outer, v in cell.items()}
        for inner, cell in under.items()
        if total.get(inner)
    }


def _explained(
    c: FrameChange, by: FrameChange, inside: Mapping[Frame, Mapping[Frame, float]]
) -> bool:
    """Whether ``by``, deeper than ``c``, carries enough of ``c``'s change to stand for it."""
    if by.frame == c.frame or (c.frame.repo and not by.frame.repo):
        return False
    if by.delta_ms * c.delta_ms <= 0 or abs(by.delta_ms) < CARRIES * abs(c.delta_ms):
        return False
    return inside.get(by.frame, {}).get(c.frame, 0.0) >= 0.5


def _library_child(
    c: FrameChange, base: Sequence[Sampled], head: Sequence[Sampled]
) -> Frame | None:
    """The frame outside the repository, called by ``c``'s frame, whose stacks carry the most
    of ``c``'s change in its direction (at least ``LIBRARY_SHARE`` of it)."""
    per: dict[Frame, float] = {}
    for sign, samples in ((-1.0, base), (1.0, head)):
        for s in samples:
            for stack, ms in s.ms.items():
                if c.frame not in stack:
                    continue
                at = len(stack) - 1 - stack[::-1].index(c.frame)
                if at + 1 < len(stack) and not stack[at + 1].repo:
                    child = stack[at + 1]
                    per[child] = per.get(child, 0.0) + sign * ms / len(samples)
    if not per:
        return None
    best = max(per, key=lambda f: (per[f] * math.copysign(1.0, c.delta_ms), f))
    carried = per[best] * math.copysign(1.0, c.delta_ms)
    return best if carried >= LIBRARY_SHARE * abs(c.delta_ms) else None


def rows_of(
    found: Sequence[FrameChange],
    base: Sequence[Sampled],
    head: Sequence[Sampled],
    *,
    total_delta_ms: float,
    floor_ms: float,
) -> tuple[FrameChange, ...]:
    """The significant frames that name where the change lives, largest change first."""
    significant = [c for c in found if c.significant]
    inside = containment([*base, *head], [c.frame for c in significant])
    kept = [c for c in significant if not any(_explained(c, g, inside) for g in significant)]
    repo_rows = [c for c in kept if c.frame.repo]
    kept = [
        c
        for c in kept
        if c.frame.repo
        or not any(
            r.delta_ms * c.delta_ms > 0 and inside.get(c.frame, {}).get(r.frame, 0.0) >= 0.5
            for r in repo_rows
        )
    ]
    share_ok = abs(total_delta_ms) >= floor_ms
    rows = [
        replace(
            c,
            share_pct=c.delta_ms / total_delta_ms * 100 if share_ok else None,
            library=_library_child(c, base, head) if c.frame.repo else None,
        )
        for c in kept
    ]
    # functions first: a row names where the change lives, and the collector is not a place
    # (a change that allocates much moves both its function and the collections it causes)
    return tuple(sorted(rows, key=lambda c: (c.frame == GC, -abs(c.delta_ms), c.frame)))


def differential(
    base: Sequence[Sampled],
    head: Sequence[Sampled],
    *,
    floor_pct: float = FLOOR_PCT,
    floor_ms: float = FLOOR_MS,
    relative: float = RELATIVE,
    seed: int = 0,
    flame: bool = True,
) -> Differential:
    """The differential profile of paired profiling samples (see the module docstring)."""
    n = min(len(base), len(head))
    base, head = base[:n], head[:n]
    base_ttfb = float(np.median([s.ttfb_ms for s in base])) if n else 0.0
    head_ttfb = float(np.median([s.ttfb_ms for s in head])) if n else 0.0
    floor = max(floor_ms, floor_pct / 100 * base_ttfb)
    found = changes(base, head, floor_ms=floor, relative=relative, seed=seed)
    pairs = [h.ttfb_ms - b.ttfb_ms for b, h in zip(base, head, strict=True)]
    delta = float(np.median(pairs)) if pairs else 0.0
    paused = sum(sum(s.gc.values()) for s in (*base, *head))
    unplaced = sum(s.gc_unplaced_ms for s in (*base, *head))
    return Differential(
        pairs=n,
        base_ttfb_ms=base_ttfb,
        head_ttfb_ms=head_ttfb,
        delta_ms=delta,
        floor_ms=floor,
        tested=sum(1 for c in found if abs(c.delta_ms) >= floor),
        rows=rows_of(found, base, head, total_delta_ms=delta, floor_ms=floor),
        flame=flame_tree(base, head, min_ms=0.0025 * max(base_ttfb, head_ttfb)) if flame else (),
        gc=next((c for c in found if c.frame == GC), None),
        gc_placed_pct=(paused - unplaced) / paused * 100 if paused > 0 else None,
    )


def by_frame(found: Sequence[FrameChange]) -> Mapping[Frame, FrameChange]:
    return {c.frame: c for c in found}
