"""TTFB Lab's ``sitecustomize``: starts the probe, then runs the one it shadows.

The runner prepends this directory to ``PYTHONPATH`` for the measured process only. Any
``sitecustomize`` the environment already had (later on ``sys.path``) still runs, after ours.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import _ttfb_probe

    _ttfb_probe.install()
except Exception as _exc:  # the probe must never break the measured job
    sys.stderr.write(f"ttfb-lab probe: not installed: {_exc!r}\n")


def _chain() -> None:
    import importlib.machinery
    import importlib.util

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_chain()
