"""Statistics and verdict rules. Pure: no I/O, no processes, no database, no GitHub.

- ``paired``: paired t-test and Wilcoxon on log ratios or differences, bootstrap CIs, MDE, Holm;
- ``sequential``: planned looks and Pocock-type alpha spending;
- ``endpoints``: whole TTFB, CPU time and phase segments of one scenario, estimated once;
- ``verdict``: corrections, findings, confirmation and the verdict;
- ``calibration``: A/A noise, ROC points and the threshold a false-positive policy allows;
- ``summary``: medians and spreads of unpaired samples (``measure``, trends).
"""
