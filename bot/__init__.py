"""TTFB Lab: measure, compare and guard the time to first batch of training jobs.

The package never imports torch; the measured scenarios do.
"""

__version__ = "0.1.0"
