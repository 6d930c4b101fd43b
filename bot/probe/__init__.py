"""The probe: a ``sitecustomize`` directory the runner prepends to ``PYTHONPATH``.

The modules in ``site/`` use only the standard library, so the probe works in any Python
3.8+ interpreter a scenario runs under, not only the one running the bot. The environment
contract between runner and probe is defined once, in ``site/_ttfb_probe.py``, and loaded
from there (the module does nothing at import).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
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
ENV_SELF_TIME: str = _engine.ENV_SELF_TIME
ENV_OUTER_RANKS: str = _engine.ENV_OUTER_RANKS
ENV_PROFILE: str = _engine.ENV_PROFILE
ENV_PROFILE_SAMPLER: str = _engine.ENV_PROFILE_SAMPLER
ENV_PROFILE_STOP: str = _engine.ENV_PROFILE_STOP
RANK_VARS: tuple[str, ...] = _engine.RANK_VARS
REPORT_VERSION: int = _engine.VERSION
DETECT_MODES: tuple[str, ...] = tuple(_engine._TRIGGERS)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ttfb-lab"


@cache
def _site_copy() -> Path:
    """A copy of the site directory keyed by its content, where bytecode may be written."""
    digest = hashlib.sha256()
    files = sorted(SITE_DIR.glob("*.py"))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    target = _cache_root() / f"probe-{digest.hexdigest()[:16]}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".probe-", dir=_cache_root().resolve()))
        for path in files:
            shutil.copy2(path, staging / path.name)
        try:
            os.replace(staging, target)
        except OSError:  # another process won the race
            shutil.rmtree(staging, ignore_errors=True)
    return target


@cache
def _compiled_for(python: str, site: Path) -> bool:
    proc = subprocess.run(
        [python, "-m", "compileall", "-q", str(site)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    return proc.returncode == 0


def site_dir(python: str | None = None) -> Path:
    """The probe's site directory, byte-compiled for ``python`` (default: this interpreter).

    Measured processes usually run with ``PYTHONDONTWRITEBYTECODE=1`` or a read-only install,
    so without this the probe would be compiled from source in every sample, a few
    milliseconds added to each TTFB. The compiled copy lives in ``~/.cache/ttfb-lab``; if it
    cannot be made, the package's own directory is used.
    """
    try:
        _cache_root().mkdir(parents=True, exist_ok=True)
        site = _site_copy()
        _compiled_for(sys.executable, site)
        if python and os.path.basename(python).startswith("python") and python != sys.executable:
            _compiled_for(python, site)
        return site
    except (OSError, subprocess.SubprocessError):
        return SITE_DIR
