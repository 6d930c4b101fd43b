"""The notes under a scenario's verdict: import time by package names only what every pair of
the attribution samples showed."""

from __future__ import annotations

from bot.report.notes import attribution_notes
from bot.results import AttributionResult, ImportDelta


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
