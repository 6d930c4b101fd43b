"""A small production-shaped trainer for three model families: ranker, lm and cnn.

Run it with ``python -m examples.trainer.train --config PATH [dotted.key=value ...]``.
Importing this package is cheap on purpose: torch and the family modules are imported
lazily, only by the run that needs them.
"""
