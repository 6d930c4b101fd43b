"""Bisect a TTFB regression to the commit that made it. Pure: ``compare`` is injected.

Positions: 0 is the known-good commit, 1…N the first-parent commits after it, N the bad one.
Each step asks ``compare(good, candidate, attempt)`` — in production a whole statistical A/B
with the PR engine's schedule and verdict rules, against the known-good endpoint — whether the
candidate regressed. The search assumes a regression stays once made.

- **Inconclusive** steps are asked again with ``attempt`` + 1 (the caller gives more pairs),
  up to ``retries`` times; after that the step is judged by its effect: at least half the
  end-to-end regression counts as regressed.
- **Broken** candidates (fail to build, install or run) are skipped: the next untested commit
  nearest the middle is tried instead. More than ``max_skips`` is an error; if skipped commits
  leave the culprit ambiguous, the range is reported.
- **Several regressions**: the culprit's own step (its parent vs it) is measured; if the ends
  differ by more than it explains (more than the threshold left over, and its effect outside
  the end-to-end 95% CI), the rest of the range is searched once more, and the
  largest culprit is reported first with what remains unexplained.

A step the PR rules call inconclusive is still decided when its confidence interval lies
wholly below (good) or above (regressed) half the end-to-end regression. On clean data this
costs at most ⌈log2 N⌉ search comparisons plus two (the culprit's own step and the check of the
rest of the range).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..model import Verdict

MOVED = (Verdict.REGRESSION,)
GOOD = (Verdict.NO_CHANGE, Verdict.IMPROVEMENT)


@dataclass(frozen=True)
class StepResult:
    """One comparison's answer."""

    verdict: Verdict
    delta_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p: float | None = None
    pairs: int = 0
    error: str | None = None


Compare = Callable[[str, str, int], StepResult]


@dataclass(frozen=True)
class Step:
    number: int
    good: str
    candidate: str
    position: int
    attempt: int
    result: StepResult
    judged: str  # regressed | good | skipped


@dataclass(frozen=True)
class Culprit:
    commit: str
    position: int
    effect_pct: float | None  # its own step: parent → culprit
    evidence: StepResult | None


@dataclass(frozen=True)
class BisectResult:
    culprits: tuple[Culprit, ...]
    steps: tuple[Step, ...]
    comparisons: int
    skipped: tuple[str, ...]
    total_pct: float | None
    unexplained_pct: float | None
    ambiguous: tuple[str, ...] = ()  # the culprit is one of these (skipped commits in the way)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def culprit(self) -> Culprit | None:
        return self.culprits[0] if self.culprits else None


class BisectError(Exception):
    """Too many commits failed to build or run: the search cannot go on."""


class _Search:
    def __init__(
        self,
        commits: Sequence[str],
        compare: Compare,
        *,
        retries: int,
        max_skips: int,
        total_pct: float | None,
    ) -> None:
        self.commits = list(commits)  # position 0 is the known-good commit
        self.compare = compare
        self.retries = retries
        self.max_skips = max_skips
        self.total_pct = total_pct
        self.steps: list[Step] = []
        self.cache: dict[tuple[int, int], tuple[StepResult, str]] = {}
        self.skipped: set[int] = set()

    def ask(self, a: int, b: int) -> tuple[StepResult, str]:
        """Compare positions a and b (retrying inconclusive answers); (result, judgement)."""
        if (a, b) not in self.cache:
            result, judged = StepResult(Verdict.INCONCLUSIVE), "good"
            for attempt in range(self.retries + 1):
                result = self.compare(self.commits[a], self.commits[b], attempt)
                maybe = self._judge(result, final=attempt == self.retries)
                self.steps.append(
                    Step(
                        len(self.steps) + 1,
                        self.commits[a],
                        self.commits[b],
                        b,
                        attempt,
                        result,
                        maybe or "inconclusive",
                    )
                )
                if maybe is not None:
                    judged = maybe
                    break
            self.cache[(a, b)] = (result, judged)
        return self.cache[(a, b)]

    def known(self, a: int, b: int, result: StepResult) -> None:
        self.cache[(a, b)] = (result, self._judge(result, final=True) or "good")

    def _judge(self, r: StepResult, *, final: bool) -> str | None:
        if r.verdict is Verdict.BROKEN:
            return "skipped"
        if r.verdict in MOVED:
            return "regressed"
        if r.verdict in GOOD:
            return "good"
        # Inconclusive for the PR rules (say, a CI wider than ±threshold) can still be clear
        # for the question a bisect asks: does this commit carry the regression we hunt?
        half = self.total_pct / 2 if self.total_pct else None
        if half is not None and r.ci_high_pct is not None and r.ci_high_pct < half:
            return "good"
        if half is not None and r.ci_low_pct is not None and r.ci_low_pct > half:
            return "regressed"
        if not final:
            return None
        if r.delta_pct is not None and half is not None:
            return "regressed" if r.delta_pct >= half else "good"
        return "good"

    def regressed(self, b: int) -> bool | None:
        """Whether position b regressed against the good end; None if it cannot be run."""
        _, judged = self.ask(0, b)
        if judged == "skipped":
            self.skipped.add(b)
            if len(self.skipped) > self.max_skips:
                names = ", ".join(self.commits[i][:10] for i in sorted(self.skipped))
                raise BisectError(
                    f"{len(self.skipped)} commits failed to build or run "
                    f"({names}); more than the {self.max_skips} allowed"
                )
            return None
        return judged == "regressed"

    def search(self, lo: int, hi: int) -> tuple[int, tuple[int, ...]]:
        """The first regressed position in (lo, hi], hi known regressed; and any ambiguity."""
        while hi - lo > 1:
            untested = [p for p in range(lo + 1, hi) if p not in self.skipped]
            if not untested:
                return hi, tuple(range(lo + 1, hi + 1))
            mid = (lo + hi) // 2
            pick = min(untested, key=lambda p: (abs(p - mid), p))
            verdict = self.regressed(pick)
            if verdict is None:
                continue
            if verdict:
                hi = pick
            else:
                lo = pick
        return hi, ()


def bisect(
    commits: Sequence[str],
    compare: Compare,
    *,
    bad_result: StepResult | None = None,
    retries: int = 2,
    max_skips: int = 5,
    threshold_pct: float = 2.0,
    max_culprits: int = 2,
) -> BisectResult:
    """Find the culprit among ``commits`` (``commits[0]`` good, ``commits[-1]`` bad).

    ``bad_result`` is the known good→bad comparison (from the release suite); without it the
    bad end is compared first.
    """
    if len(commits) < 2:
        raise ValueError("need the good commit and at least one more")
    n = len(commits) - 1
    s = _Search(commits, compare, retries=retries, max_skips=max_skips, total_pct=None)
    if bad_result is not None:
        s.known(0, n, bad_result)
    end, _ = s.ask(0, n)
    s.total_pct = end.delta_pct
    regressed = end.verdict in MOVED or (
        end.verdict is Verdict.INCONCLUSIVE and end.delta_pct and end.delta_pct >= threshold_pct
    )
    if not regressed:
        return BisectResult(
            (),
            tuple(s.steps),
            len(s.steps),
            (),
            end.delta_pct,
            None,
            notes=(f"no regression between the ends ({end.verdict})",),
        )
    hunt = _hunt(s, end, threshold_pct=threshold_pct, max_culprits=max_culprits)
    culprits = sorted(hunt.culprits, key=lambda c: -(c.effect_pct or 0.0))
    explained = sum(c.effect_pct or 0.0 for c in culprits)
    unexplained = (end.delta_pct or 0.0) - explained if end.delta_pct is not None else None
    return BisectResult(
        tuple(culprits),
        tuple(s.steps),
        len(s.steps),
        tuple(commits[p] for p in sorted(s.skipped)),
        end.delta_pct,
        unexplained,
        hunt.ambiguous,
        _gap_notes(end, explained, unexplained, hunt.rest_clean, threshold_pct),
    )


@dataclass(frozen=True)
class _Hunt:
    culprits: tuple[Culprit, ...]
    rest_clean: StepResult | None  # the culprit → bad check, when it found nothing
    ambiguous: tuple[str, ...]


def _culprit(s: _Search, pos: int, lo: int = 0) -> Culprit:
    """The culprit at ``pos``: its evidence against the good end and its own step's effect."""
    evidence = s.cache[(lo, pos)][0] if (lo, pos) in s.cache else None
    effect = evidence.delta_pct if evidence is not None else None
    if pos - 1 > lo:  # the culprit's own step: parent → culprit
        effect = s.ask(pos - 1, pos)[0].delta_pct
    return Culprit(s.commits[pos], pos, effect, evidence)


def _hunt(s: _Search, end: StepResult, *, threshold_pct: float, max_culprits: int) -> _Hunt:
    """The first culprit; then, if it does not explain the ends and the rest of the range
    regresses further, a second one searched against the first as the new good point."""
    n = len(s.commits) - 1
    pos, amb = s.search(0, n)
    first = _culprit(s, pos)
    ambiguous = tuple(s.commits[p] for p in amb)
    if max_culprits < 2 or pos == n or _explains(end, first.effect_pct or 0.0, threshold_pct):
        return _Hunt((first,), None, ambiguous)
    after, judged = s.ask(pos, n)  # does the rest of the range regress further?
    if judged != "regressed":
        return _Hunt((first,), after, ambiguous)
    s2 = _Search(
        s.commits[pos:],
        s.compare,
        retries=s.retries,
        max_skips=s.max_skips,
        total_pct=after.delta_pct,
    )
    s2.known(0, n - pos, after)
    p2, amb2 = s2.search(0, n - pos)
    first_number = len(s.steps) + 1
    s.steps.extend(
        replace(st, number=first_number + i, position=st.position + pos)
        for i, st in enumerate(s2.steps)
    )
    s.skipped |= {p + pos for p in s2.skipped}
    second = pos + p2
    step2 = s.ask(second - 1, second)[0] if second - 1 > pos else after
    evidence2 = s2.cache[(0, p2)][0] if (0, p2) in s2.cache else None
    culprit2 = Culprit(s.commits[second], second, step2.delta_pct, evidence2)
    return _Hunt((first, culprit2), None, ambiguous or tuple(s.commits[p + pos] for p in amb2))


def _gap_notes(
    end: StepResult,
    explained: float,
    unexplained: float | None,
    rest_clean: StepResult | None,
    threshold_pct: float,
) -> tuple[str, ...]:
    """What to say when the culprits' own steps leave part of the end-to-end change unexplained."""
    total = abs(end.delta_pct or 0.0)
    if (
        unexplained is None
        or unexplained < max(threshold_pct, 0.25 * total)
        or _explains(end, explained, threshold_pct)
    ):
        return ()
    if rest_clean is not None:
        return (
            f"the ends differ by {end.delta_pct:+.1f}% and the culprit's own step by "
            f"{explained:+.1f}%, but culprit → bad shows no further regression "
            f"({rest_clean.verdict}, {rest_clean.delta_pct or 0.0:+.1f}%): the gap is noise",
        )
    return (
        f"the ends differ by {end.delta_pct:+.1f}%; the culprit(s) explain "
        f"{explained:+.1f}%, {unexplained:+.1f}% is unexplained",
    )


def _explains(end: StepResult, explained_pct: float, threshold_pct: float) -> bool:
    """Whether the culprits' own steps account for the end-to-end regression: what is left is
    under the threshold, or their sum lies inside the end-to-end 95% CI (the rest is noise)."""
    if (end.delta_pct or 0.0) - explained_pct < threshold_pct:
        return True
    lo, hi = end.ci_low_pct, end.ci_high_pct
    return lo is not None and hi is not None and lo <= explained_pct <= hi


def budget(n: int) -> int:
    """Comparisons a clean bisect of ``n`` commits may use: ⌈log2 n⌉ + 2."""
    return math.ceil(math.log2(n)) + 2 if n > 1 else 2


def drawing(commits: Sequence[str], result: BisectResult, *, width: int = 10) -> str:
    """A text picture of the search: one line per commit, good end at the top."""
    tested = {}
    for st in result.steps:
        if st.good == commits[0]:
            tested[st.position] = st
    culprit_positions = {c.position for c in result.culprits}
    skipped = set(result.skipped)
    lines = []
    for i, commit in enumerate(commits):
        mark, note = "·", ""
        if i == 0:
            mark, note = "✓", "good (baseline)"
        elif i in culprit_positions:
            mark = "◆"
            c = next(c for c in result.culprits if c.position == i)
            note = "culprit" + (
                f", own step {c.effect_pct:+.1f}%" if c.effect_pct is not None else ""
            )
        elif commit in skipped:
            mark, note = "⊘", "skipped: failed to build or run"
        elif i in tested:
            st = tested[i]
            mark = "✗" if st.judged == "regressed" else "✓"
            d = st.result.delta_pct
            note = f"{st.judged} ({d:+.1f}%)" if d is not None else st.judged
        if i == len(commits) - 1 and i not in culprit_positions:
            note = (note + "; " if note else "") + "bad (head)"
        lines.append(f"{mark} {commit[:width]}  {note}".rstrip())
    return "\n".join(lines)
