"""Optional TTFB Lab phase marks: a no-op unless the run is measured by TTFB Lab.

The measured process has ``ttfb_lab`` importable (the probe puts it on ``PYTHONPATH``);
anywhere else the import fails and ``mark`` does nothing, so the scripts never depend on it.
"""

from __future__ import annotations

try:
    import ttfb_lab as _lab
except ImportError:  # not measured
    _lab = None


def mark(name: str) -> None:
    """Record a named phase (e.g. ``import_lightning``) when measured; otherwise nothing."""
    if _lab is not None:
        _lab.mark(name)
