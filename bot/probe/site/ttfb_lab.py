"""The optional in-code API of TTFB Lab. Importable only while a run is measured.

Use it without making TTFB Lab a dependency of the job::

    try:
        import ttfb_lab
    except ImportError:  # not measured
        ttfb_lab = None
    ...
    if ttfb_lab:
        ttfb_lab.mark("config_validated")
    ...
    if ttfb_lab:
        ttfb_lab.first_batch()   # right before the batch enters the model
    loss = model(batch)

Every call is a no-op when the probe is not active (for example in a DataLoader worker).
"""

import _ttfb_probe


def mark(name: str) -> None:
    """Record a named phase at this moment (first occurrence of each name wins)."""
    _ttfb_probe.mark(name)


def first_batch() -> None:
    """Declare that the first batch enters the model now: the explicit first-batch mark."""
    _ttfb_probe.mark("first_batch")


def active() -> bool:
    """Whether this process is being measured."""
    return _ttfb_probe.active()
