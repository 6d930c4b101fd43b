"""Arms made ready the way real repositories need, on a real temporary git repository:
ignored data reaches both worktrees through ``inputs:``, a failing ``setup:`` breaks its arm,
each arm's setup installs into its own layer, and a dependency bump is measured in two
environments built from each revision's own ``requirements.txt`` (local wheels, no network).

Torch-free scripts: each sample takes tens of milliseconds, the first batch is an explicit mark.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from bot.ab import envs
from bot.ab.prepare import matches, place_inputs, setup_argv
from bot.errors import ConfigError, UsageError
from bot.scenarios import Environment, Input
from bot.selection.candidates import Change, ScenarioInfo
from bot.selection.plan import plan

from ..conftest import PYTHON, SEGMENTS, commit, git

pytestmark = pytest.mark.slow

READS_DATA = """
import ttfb_lab
with open("data/train.bin", "rb") as f:   # prepared data: ignored by git
    assert f.read() == b"tokens"
ttfb_lab.first_batch()
"""


def make_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    commit(repo, "initial")
    return repo


def scenario(repo: Path, **fields: object) -> Path:
    doc = {
        "name": "train",
        "command": ["python", "train.py"],
        "first_batch": "mark",
        "timeout_s": 60,
        **fields,
    }
    path = repo / "scenarios" / "train.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def compare_args(repo: Path, scenario_file: Path, *extra: str) -> list[str]:
    """``ttfb compare`` of HEAD~1 and HEAD in ``repo``, 4 pairs, results in ``repo/../out``."""
    out = repo.parent / "out"
    return [
        *("compare", "--root", str(repo), "--base", "HEAD~1", "--head", "HEAD"),
        *("--scenario", str(scenario_file), "--out-dir", str(out)),
        *("--pairs", "4", "--max-pairs", "4", "--no-history", *extra),
    ]


def results(repo: Path) -> dict:
    path = repo.parent / "out" / "results.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture
def compare(run_ttfb):
    """``compare(repo, scenario_file, *extra)``: ``ttfb compare`` of HEAD~1 and HEAD from
    ``repo``, in this process; its exit status, results document ({} if none) and output."""

    def run(repo: Path, scenario_file: Path, *extra: str) -> tuple[int, dict, str]:
        code, output, _ = run_ttfb(*compare_args(repo, scenario_file, *extra), cwd=repo)
        return code, results(repo), output

    return run


def data_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, {"train.py": READS_DATA, ".gitignore": "data/\n"})
    (repo / "README.md").write_text("a second commit, so HEAD~1 exists\n")
    commit(repo, "docs")
    (repo / "data").mkdir()
    (repo / "data" / "train.bin").write_bytes(b"tokens")
    return repo


def test_ignored_data_reaches_both_arms_through_inputs(compare, tmp_path):
    repo = data_repo(tmp_path)
    without = scenario(repo)
    _, doc, output = compare(repo, without)
    (s,) = doc["scenarios"]
    assert s["verdict"] == "broken" and "data/train.bin" in s["error"], output

    with_inputs = scenario(repo, inputs=["data/*.bin"])
    _, doc, output = compare(repo, with_inputs)
    (s,) = doc["scenarios"]
    assert s["verdict"] in ("no_change", "inconclusive"), output
    assert s["prepare"]["base"]["inputs"] == 1 and s["prepare"]["head"]["inputs"] == 1
    assert "1 input path(s) placed in the worktree" in output


def test_input_flag_and_copy(compare, tmp_path):
    repo = data_repo(tmp_path)
    _, doc, output = compare(repo, scenario(repo), "--input", "data/**", "--copy-inputs")
    (s,) = doc["scenarios"]
    assert s["verdict"] in ("no_change", "inconclusive"), output


def test_an_input_that_matches_nothing_is_a_one_line_error_before_sampling(compare, tmp_path):
    repo = data_repo(tmp_path)
    code, doc, output = compare(repo, scenario(repo, inputs=["data/*.idx"]))
    assert code == 2 and doc == {}
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [f"error: train: inputs: 'data/*.idx' matches nothing under {repo}"], output
    assert not (repo.parent / "out").exists()  # nothing half-written


def test_a_failing_setup_breaks_its_arm_with_the_tail(compare, tmp_path):
    prepare = "import sys\nprint('preparing tokenizer')\n"
    repo = make_repo(
        tmp_path,
        {
            "train.py": READS_DATA.replace("data/train.bin", "prepared"),
            "prepare.py": prepare + "open('prepared', 'wb').write(b'tokens')\n",
        },
    )
    (repo / "prepare.py").write_text(prepare + "sys.exit('tokenizer.json is missing')\n")
    commit(repo, "head breaks the data preparation")
    code, doc, output = compare(repo, scenario(repo, setup="python prepare.py"), "--gate")
    (s,) = doc["scenarios"]
    assert s["verdict"] == "broken", output
    assert s["error"].startswith("head: setup `python prepare.py` failed (exit 1):")
    assert "tokenizer.json is missing" in s["error"] and s["pairs"] == 0
    assert s["prepare"]["base"]["setup_s"] > 0  # the base arm's setup ran and was timed
    assert code == 1  # a broken scenario fails the gate


ARM_LAYER = """
import sysconfig, pathlib
which = open("which").read()
pathlib.Path(sysconfig.get_path("purelib"), "armmark.py").write_text(f"ARM = {which!r}")
"""
USES_LAYER = """
import armmark, ttfb_lab
assert armmark.ARM == open("which").read(), (armmark.ARM, open("which").read())
ttfb_lab.first_batch()
"""


def test_each_arms_setup_installs_into_its_own_layer(compare, tmp_path):
    repo = make_repo(tmp_path, {"train.py": USES_LAYER, "setup_arm.py": ARM_LAYER, "which": "base"})
    (repo / "which").write_text("head")
    commit(repo, "head")
    _, doc, output = compare(repo, scenario(repo), "--setup", "python setup_arm.py")
    (s,) = doc["scenarios"]
    assert s["verdict"] in ("no_change", "inconclusive"), output
    assert "not counted in TTFB" in (repo.parent / "out" / "comment.md").read_text()
    with pytest.raises(ImportError):  # the layers never touched the interpreter ttfb runs in
        import armmark  # noqa: F401


def wheel(dest: Path, name: str, version: str, init: str) -> Path:
    """A minimal valid wheel, written by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": init,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    out = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return out


IMPORTS_PKG = """
import slowpkg, ttfb_lab
ttfb_lab.first_batch()
"""


def local_wheels(tmp_path: Path) -> str:
    """Two versions of a small package as local wheels; a requirements.txt template."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel(wheels, "slowpkg", "1.0", "VERSION = '1.0'\n")
    wheel(wheels, "slowpkg", "2.0", "import time\ntime.sleep(0.3)  # imports more\n")
    return f"--no-index\n--find-links {wheels}\nslowpkg==%s\n"


@pytest.mark.timing
def test_a_dependency_bump_is_measured_in_two_environments(compare, tmp_path, monkeypatch):
    tool = "uv"
    requirements = local_wheels(tmp_path)
    repo = make_repo(tmp_path, {"train.py": IMPORTS_PKG, "requirements.txt": requirements % "1.0"})
    (repo / "requirements.txt").write_text(requirements % "2.0")
    commit(repo, "bump slowpkg")
    spec = scenario(repo, environment={"requirements": ["requirements.txt"]})
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TTFB_LAB_ENV_TOOL", tool)
    _, doc, output = compare(repo, spec)
    (s,) = doc["scenarios"]
    assert s["verdict"] == "regression" and s["confirmed"], output
    assert s["dependencies"] == {
        "shared": False,
        "files_changed": ["requirements.txt"],
        "packages": [{"name": "slowpkg", "base": "1.0", "head": "2.0"}],
    }
    built = {arm: s["prepare"][arm]["environment"] for arm in ("base", "head")}
    assert all(b["built_s"] and b["tool"] == tool for b in built.values())
    # installed with bytecode, as pip does: no sample pays to compile the sources
    pyc = list(
        (tmp_path / "cache" / "envs").glob("*/lib/python*/site-packages/slowpkg/__pycache__/*.pyc")
    )
    assert len(pyc) == 2, pyc
    comment = (repo.parent / "out" / "comment.md").read_text()
    assert "**Dependencies differ between the arms** (`requirements.txt` changed" in comment
    assert "| `slowpkg` | 1.0 | 2.0 |" in comment


def test_environments_are_reused_from_the_cache_and_shared_by_identical_files(
    compare, tmp_path, monkeypatch
):
    """Preparing the arms does not depend on how samples are taken, so scripted samples
    (``--fake``) serve here: the real bump is measured above."""
    requirements = local_wheels(tmp_path)
    repo = make_repo(tmp_path, {"train.py": IMPORTS_PKG, "requirements.txt": requirements % "1.0"})
    (repo / "requirements.txt").write_text(requirements % "2.0")
    commit(repo, "bump slowpkg")
    spec = scenario(repo, environment={"requirements": ["requirements.txt"]})
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "fake.yaml"
    fake.write_text(yaml.safe_dump({"version": 1, "arms": {"base": {"segments": SEGMENTS}}}))

    def scripted(*extra: str) -> tuple[dict, str]:
        code, doc, output = compare(repo, spec, "--fake", str(fake), *extra)
        assert code == 0, output
        (s,) = doc["scenarios"]
        return s, output

    s, output = scripted()
    built = [s["prepare"][a]["environment"]["built_s"] for a in ("base", "head")]
    assert all(built) and s["dependencies"]["shared"] is False, output

    # the same revisions again: both environments come from the cache
    s, output = scripted()
    assert [s["prepare"][a]["environment"]["built_s"] for a in ("base", "head")] == [None, None]
    assert "environment" in output and "reused" in output

    # identical files: one environment for both arms, no dependency section
    s, output = scripted("--base", "HEAD")
    assert s["dependencies"]["shared"] is True and s["verdict"] != "regression"
    keys = {s["prepare"][a]["environment"]["key"] for a in ("base", "head")}
    assert len(keys) == 1, s["prepare"]
    assert "Dependencies differ" not in (repo.parent / "out" / "comment.md").read_text()


def test_arm_envs_flag_detects_the_files_and_selection_sees_them(tmp_path):
    """``--arm-envs`` builds each arm from the usual dependency files (not the dev ones), and a
    change to any file it would build from makes every scenario a must-run in selection, so a
    dependency bump is never left unmeasured."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("requirements.txt", "requirements-gpu.txt", "requirements-dev.txt", "uv.lock"):
        (repo / name).write_text("")
    (repo / "pyproject.toml").write_text("[project]\n")
    files = envs.detect(repo).files
    assert files == ("requirements-gpu.txt", "requirements.txt", "pyproject.toml", "uv.lock")
    scenarios = [
        ScenarioInfo("a", globs=("src/**",), est_seconds=1),
        ScenarioInfo("b", own_files=("scenarios/b.yaml",), est_seconds=1),
    ]
    for name in files:
        chosen = plan([Change(name)], scenarios, {}, budget_cpu_s=1000.0, budget_gpu_s=0.0)
        assert [(x.scenario, x.why) for x in chosen.selected] == [
            ("a", "must-run"),
            ("b", "must-run"),
        ], name
        assert chosen.unmapped == (), name
    for path in repo.iterdir():
        path.unlink()
    with pytest.raises(UsageError) as info:
        envs.detect(repo)
    assert str(info.value) == (
        f"--arm-envs: no requirements*.txt, pyproject.toml or uv.lock in {repo}; "
        "name the files with --env-file"
    )


def test_inputs_never_replace_what_the_revision_tracks(tmp_path):
    source, dest = tmp_path / "src", tmp_path / "dest"
    for root in (source, dest):
        (root / "data").mkdir(parents=True)
    (source / "data" / "a.bin").write_text("source")
    (source / "data" / "b.bin").write_text("source")
    (dest / "data" / "a.bin").write_text("tracked")
    assert matches(source, Input("data/*.bin")) == ["data/a.bin", "data/b.bin"]
    assert place_inputs(source, dest, [Input("data/*.bin")]) == 1
    assert (dest / "data" / "a.bin").read_text() == "tracked"
    assert (dest / "data" / "b.bin").is_symlink()


def test_setup_argv_uses_the_arms_interpreter():
    assert setup_argv(["python", "prep.py"], "/env/bin/python") == ["/env/bin/python", "prep.py"]
    pip = setup_argv(["pip", "install", "-e", "."], "/env/bin/python")
    assert pip[-3:] == ["install", "-e", "."] and (
        pip[:3] == ["/env/bin/python", "-m", "pip"] or pip[1] == "pip"
    )
    assert setup_argv(["make", "data"], "/env/bin/python") == ["make", "data"]


def test_without_uv_environments_are_built_with_venv_and_pip(tmp_path, monkeypatch):
    requirements = local_wheels(tmp_path)
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TTFB_LAB_ENV_TOOL", "pip")
    spec = Environment(requirements=("requirements.txt",))
    infos = []
    for version in ("1.0", "2.0", "1.0"):
        checkout = tmp_path / f"checkout-{len(infos)}"
        checkout.mkdir()
        (checkout / "requirements.txt").write_text(requirements % version)
        infos.append(envs.environment(checkout, spec, python=PYTHON))
    first, second, again = infos
    assert first.tool == "pip" and first.packages["slowpkg"] == "1.0" and first.built_s
    assert second.packages["slowpkg"] == "2.0" and second.key != first.key
    assert again.key == first.key and again.built_s is None  # the unchanged base: cached
    done = subprocess.run(
        [second.python, "-c", "import slowpkg"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert envs.package_changes(first.packages, second.packages) == [("slowpkg", "1.0", "2.0")]


def test_an_environment_that_cannot_be_built_breaks_the_arm(tmp_path, monkeypatch):
    monkeypatch.setenv("TTFB_LAB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "requirements.txt").write_text("--no-index\nno-such-package-ttfb==1.0\n")
    with pytest.raises(ConfigError, match=r"environment: installing requirements\.txt failed"):
        envs.environment(tmp_path, Environment(requirements=("requirements.txt",)), python=PYTHON)
    assert not any((tmp_path / "cache" / "envs").glob("*/bin"))  # nothing half-built kept
