"""The A/B engine: arms, the one target builder, the ABBA schedule, ``compare`` (the one entry
point every caller uses), the results document, sessions, measure, calibration and the demo."""
