"""TTFB Lab's ``sitecustomize``: starts the probe, then runs the one it shadows.

The runner prepends this directory to ``PYTHONPATH`` for the measured process only. Any
``sitecustomize`` the environment already had (later on ``sys.path``) still runs, after ours.
"""

import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_STARTED_NS = time.perf_counter_ns()

try:
    import _ttfb_probe

    _ttfb_probe.install()
except Exception as _exc:  # the probe must never break the measured job
    _ttfb_probe = None
    sys.stderr.write(f"ttfb-lab probe: not installed: {_exc!r}\n")


def _shadowed_spec():  # type: ignore[no-untyped-def]
    import importlib.machinery

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    return importlib.machinery.PathFinder.find_spec("sitecustomize", rest)


_spec = _shadowed_spec()
if _ttfb_probe is not None:
    _ttfb_probe.account(time.perf_counter_ns() - _STARTED_NS)
if _spec is not None and _spec.loader is not None:
    import importlib.util

    _module = importlib.util.module_from_spec(_spec)
    sys.modules["sitecustomize"] = _module
    _spec.loader.exec_module(_module)
