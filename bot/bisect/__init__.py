"""Bisect a TTFB regression to its commit: the search is pure (``search``, with ``compare``
injected), the steps are real A/B runs (``steps``), and ``document`` writes the result."""
