"""Example ML code bundled with TTFB Lab (a trainer whose time to first batch is measured)."""
