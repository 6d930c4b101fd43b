"""A cached per-arm environment cannot carry one run's code into another: it is sealed after
it is built, and reuse checks its digest."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.ab import envs
from bot.scenarios import Environment

from ..conftest import PYTHON


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "requirements.txt").write_text("# nothing beyond the interpreter\n")
    return tmp_path / "cache"


SPEC = Environment(requirements=("requirements.txt",))


def build(tmp_path: Path) -> envs.EnvInfo:
    return envs.environment(tmp_path / "repo", SPEC, python=PYTHON)


def site_packages(info: envs.EnvInfo) -> Path:
    (site,) = info.path.glob("lib/python*/site-packages")
    return site


def test_a_built_environment_is_sealed_and_its_digest_kept_outside_it(tmp_path, cache):
    info = build(tmp_path)
    assert info.built_s is not None
    recorded = cache / "envs" / f"{info.key}.sha256"
    assert recorded.read_text().strip() == envs.digest(info.path)
    site = site_packages(info)
    assert not site.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    again = build(tmp_path)
    assert again.built_s is None and again.path == info.path and not again.note


def test_a_pth_planted_by_an_earlier_run_is_found_and_the_environment_rebuilt(tmp_path, cache):
    info = build(tmp_path)
    site = site_packages(info)
    os.chmod(site, 0o755)  # what a run of the same user can do
    (site / "zzz_planted.pth").write_text("import os; os.system('echo pwned')\n")
    again = build(tmp_path)
    assert again.built_s is not None and "changed since it was built: rebuilt" in again.note
    assert not (site_packages(again) / "zzz_planted.pth").exists()


def test_a_directory_planted_under_a_known_key_is_not_taken_for_a_build(tmp_path, cache):
    info = build(tmp_path)
    envs.remove(info.path)
    (cache / "envs" / f"{info.key}.sha256").unlink()
    info.path.mkdir()
    (info.path / envs.MARKER).write_text('{"packages": {"torch": "9.9"}, "tool": "uv"}')
    again = build(tmp_path)
    assert again.built_s is not None  # rebuilt: no digest was ever recorded for it
    assert "torch" not in again.packages  # the list comes from the environment, not a file


def test_on_github_actions_the_cache_is_the_jobs_own(monkeypatch, tmp_path):
    monkeypatch.delenv("TTFB_LAB_CACHE", raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path / "runner-temp"))
    assert envs.cache_root() == tmp_path / "runner-temp" / "ttfb-lab"
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "persistent"))  # an explicit opt-in
    assert envs.cache_root() == tmp_path / "persistent"
