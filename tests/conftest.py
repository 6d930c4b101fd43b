"""Shared fixtures: real processes, real git repos, and the example trainer."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@pytest.fixture
def write_script(tmp_path: Path):
    """Write a dedented Python script into tmp_path and return its path."""

    def write(name: str, body: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return write


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.fixture(autouse=True)
def _no_inherited_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never inherit a probe contract from an outer measured process, and their runs go
    to a history database of their own, never the checkout's .ttfb/history.sqlite."""
    for key in list(os.environ):
        if key.startswith("TTFB_LAB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TTFB_LAB_DB", str(tmp_path / "history.sqlite"))
