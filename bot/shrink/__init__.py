"""The auto-shrinker: production code and config at a fraction of the compute.

Pure: ``rules`` (rule kinds, dotted paths), ``auto`` (the names it recognises, the shrinker
proper), ``spec`` (a scenario's ``shrink:`` block), ``argv`` (command lines as configs).
``apply`` is the edge: it reads and writes config files and runs the project's own validation.
"""
