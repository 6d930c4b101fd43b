"""The probe: a ``sitecustomize`` directory the runner prepends to ``PYTHONPATH``.

The modules in ``site/`` use only the standard library, so the probe works in any Python
3.8+ interpreter a scenario runs under, not only the one running the bot. The environment
contract between runner and probe is defined once, in ``site/_ttfb_probe.py``, and loaded
from there (the module does nothing at import).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SITE_DIR = Path(__file__).resolve().with_name("site")


def _load_engine():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bot_probe_engine", SITE_DIR / "_ttfb_probe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_engine = _load_engine()

ENV_OUT: str = _engine.ENV_OUT
ENV_T0: str = _engine.ENV_T0
ENV_STOP: str = _engine.ENV_STOP
ENV_DETECT: str = _engine.ENV_DETECT
ENV_ROOT: str = _engine.ENV_ROOT
ENV_DETERMINISTIC: str = _engine.ENV_DETERMINISTIC
REPORT_VERSION: int = _engine.VERSION
DETECT_MODES: tuple[str, ...] = _engine.DETECT_MODES
