"""The notes under a scenario's verdict: import time by package names only what every pair of
the attribution samples showed."""

from __future__ import annotations

from bot.report.notes import attribution_notes, gc_note
from bot.results import ArmMedians, AttributionResult, ImportDelta


class Scenario:  # what attribution_notes reads of a ScenarioResult
    def __init__(self, attribution: AttributionResult) -> None:
        self.attribution = attribution


def test_only_packages_every_pair_moved_are_named():
    packages = (
        ImportDelta(package="torch", delta_s=0.05, pairs=3, consistent=True),
        ImportDelta(package="sympy", delta_s=0.029, pairs=3, consistent=False),
        ImportDelta(package="yaml", delta_s=0.012, pairs=3),  # an older results file: no flag
    )
    notes = attribution_notes(Scenario(AttributionResult(packages=packages)))  # type: ignore[arg-type]
    assert notes == ["import time by package (paired, -X importtime): torch +50 ms, yaml +12 ms"]


def test_the_package_line_says_garbage_collection_was_counted_apart():
    packages = (ImportDelta(package="matplotlib", delta_s=-0.317, pairs=3, consistent=True),)
    a = AttributionResult(packages=packages, gc_base_ms=410.4, gc_head_ms=402.0)
    notes = attribution_notes(Scenario(a))  # type: ignore[arg-type]
    assert notes == [
        "import time by package (paired, -X importtime; garbage collection inside imports "
        "counted apart, 410 ms → 402 ms): matplotlib -317 ms"
    ]


class Arms:  # what gc_note reads of a ScenarioResult
    def __init__(self, base: ArmMedians, head: ArmMedians) -> None:
        self.base, self.head = base, head


def test_garbage_collection_is_noted_where_it_is_a_noticeable_share_of_ttfb():
    torch_job = Arms(
        ArmMedians(median_s=2.08, gc_median_s=0.475), ArmMedians(median_s=1.88, gc_median_s=0.43)
    )
    assert gc_note(torch_job) == (  # type: ignore[arg-type]
        "garbage collection before the first batch: base 475 ms, head 430 ms "
        "(median, 23% of TTFB at most), included in TTFB"
    )
    small = Arms(
        ArmMedians(median_s=2.0, gc_median_s=0.05), ArmMedians(median_s=2.0, gc_median_s=0.06)
    )
    assert gc_note(small) == ""  # type: ignore[arg-type]
    assert gc_note(Arms(ArmMedians(median_s=2.0), ArmMedians(median_s=2.0))) == ""  # type: ignore[arg-type]


def test_a_large_package_that_moved_by_a_few_percent_is_not_named():
    """torch's 1.43 s import moved by 55 ms in all three pairs of a compare whose change
    never touched it; a package is named only when it moved by a tenth of its own import time
    as well (a package one arm does not import moves by all of it)."""
    packages = (
        ImportDelta(package="torch", base_s=1.43, head_s=1.484, delta_s=0.055, consistent=True),
        ImportDelta(
            package="matplotlib", base_s=0.213, head_s=0.0, delta_s=-0.213, consistent=True
        ),
        ImportDelta(package="yaml", base_s=0.02, head_s=0.032, delta_s=0.012, consistent=True),
    )
    notes = attribution_notes(Scenario(AttributionResult(packages=packages)))  # type: ignore[arg-type]
    assert notes == [
        "import time by package (paired, -X importtime): matplotlib -213 ms, yaml +12 ms"
    ]
