"""Example training scripts on third-party frameworks (PyTorch Lightning, HF transformers).

They are what TTFB Lab meets in the wild: most of their time to first batch is spent in the
framework (its imports, its ``Trainer``), not in the model. Install them with
``pip install -e ".[frameworks]"``; ``make test`` does.
"""
