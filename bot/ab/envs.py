"""Per-arm virtual environments, built from each arm's own dependency files and cached.

A pull request that bumps a dependency is measured against the new version only if the head
arm runs in an environment built from the head's files. ``environment(...)`` hashes the named
files as the arm's checkout has them (with the interpreter's version), and builds — once —
``<cache>/envs/<hash>``: base and head share one environment when their files are identical,
and an unchanged base is never rebuilt. ``uv`` builds it when it is on ``PATH`` (or next to
the running interpreter), else ``venv`` + ``pip``; ``TTFB_LAB_ENV_TOOL=uv|pip`` forces one.
uv is given pip's package sources from the environment (``PIP_INDEX_URL``,
``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``) unless its own are set.

Measured code is untrusted, and a cached environment outlives the run that built it (on a
persistent self-hosted runner, or a developer's machine): a head arm that wrote a ``.pth``
file into it would run inside every later compare that reuses it. So once built, an
environment is **sealed**: made read-only, and the digest of its whole content recorded
beside it (``<key>.sha256``). Reuse recomputes the digest and rebuilds on any difference (a
directory planted under a known key has none recorded and is rebuilt too), and the package
list is queried from the environment itself, never read from a file in it. On GitHub
Actions the cache lives under ``$RUNNER_TEMP`` (gone with the job) unless ``TTFB_LAB_CACHE``
opts into a persistent one.

``layer(...)`` makes a throw-away venv on top of an environment, for a setup command
(``pip install -e .``) to install into: a shared, cached environment is never written by one
arm's setup. Its ``.pth`` adds the lower environment's site directories (their own ``.pth``
files included), so the layer's own installs come first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_text_atomic
from ..credentials import scrubbed
from ..errors import ConfigError, UsageError
from ..scenarios import Environment

ENV_VERSION = 2  # 2: uv compiles bytecode, as pip does
ENV_TOOL = "TTFB_LAB_ENV_TOOL"
ENV_CACHE = "TTFB_LAB_CACHE"
BUILD_TIMEOUT_S = 3600.0
MARKER = "ttfb-env.json"  # written last: an environment without it is incomplete
TAIL_CHARS = 600

_QUERY = (
    "import sys, json, importlib.metadata as m\n"
    "print(json.dumps({'version': sys.version.split()[0], 'packages': {"
    "d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}}))"
)


@dataclass(frozen=True)
class EnvInfo:
    """One built (or reused) environment."""

    key: str
    path: Path
    files: Mapping[str, str]  # dependency file -> sha256 prefix, or "missing"
    packages: Mapping[str, str]  # distribution name -> version
    tool: str
    built_s: float | None  # None: taken from the cache
    note: str = ""  # why it was rebuilt, when it was found changed

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "files": dict(self.files),
            "packages": dict(self.packages),
            "tool": self.tool,
            "built_s": self.built_s,
        }


def cache_root() -> Path:
    """``$TTFB_LAB_CACHE``, else ``$RUNNER_TEMP/ttfb-lab`` on GitHub Actions (the job's own
    scratch space), else ``~/.cache/ttfb-lab``."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit)
    if os.environ.get("GITHUB_ACTIONS") == "true" and os.environ.get("RUNNER_TEMP"):
        return Path(os.environ["RUNNER_TEMP"]) / "ttfb-lab"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ttfb-lab"


def uv_path() -> str | None:
    """``uv`` on PATH or beside the running interpreter, unless ``TTFB_LAB_ENV_TOOL=pip``."""
    tool = os.environ.get(ENV_TOOL, "")
    if tool not in ("", "uv", "pip"):
        raise UsageError(f"{ENV_TOOL}: expected 'uv' or 'pip', got {tool!r}")
    if tool == "pip":
        return None
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if tool == "uv" and not found:
        raise UsageError(f"{ENV_TOOL}=uv: uv is not on PATH")
    return found


def detect(root: Path) -> Environment:
    """The usual dependency files of a checkout, for ``--arm-envs`` without a scenario's own."""
    requirements = tuple(
        p.name for p in sorted(root.glob("requirements*.txt")) if "dev" not in p.name
    )
    project = "pyproject.toml" if (root / "pyproject.toml").is_file() else None
    lock = "uv.lock" if (root / "uv.lock").is_file() else None
    if not (requirements or project or lock):
        raise UsageError(
            f"--arm-envs: no requirements*.txt, pyproject.toml or uv.lock in {root}; "
            "name the files with --env-file"
        )
    return Environment(requirements=requirements, project=project, lock=lock)


def file_hashes(root: Path, spec: Environment) -> dict[str, str]:
    out = {}
    for name in spec.files:
        path = root / name
        out[name] = (
            hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"
        )
    return out


def python_version(python: str) -> str:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as exc:
        raise ConfigError(f"environment: cannot run {python}: {exc.strerror}") from None
    if done.returncode != 0:
        raise ConfigError(f"environment: {python} does not run: {_tail(done.stderr)}")
    return done.stdout.strip()


def environment(root: Path, spec: Environment, *, python: str) -> EnvInfo:
    """The environment for the checkout at ``root``: from the cache, or built now."""
    files = file_hashes(root, spec)
    if all(v == "missing" for v in files.values()):
        raise ConfigError(f"environment: none of {', '.join(files)} exists in {root}")
    version = python_version(python)
    identity = {"v": ENV_VERSION, "python": version, "files": files}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    envs = cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    path = envs / key
    recorded = envs / f"{key}.sha256"
    with open(envs / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per key; the others wait and reuse it
        if (path / MARKER).is_file() and recorded.is_file():
            if digest(path) == recorded.read_text().strip():
                return _load(path, key, files)
            changed = f"environment {key[:10]} changed since it was built: rebuilt"
        else:
            changed = ""
        remove(path)  # a build that died half-way, a tampered or a planted one
        recorded.unlink(missing_ok=True)
        started = time.monotonic()
        try:
            tool = _build(root, spec, python=python, path=path)
            packages = _packages(path)
        except BaseException:
            remove(path)
            raise
        info = EnvInfo(key, path, files, packages, tool, time.monotonic() - started, changed)
        write_text_atomic(path / MARKER, json.dumps(info.to_json(), indent=2) + "\n")
        write_text_atomic(recorded, seal(path) + "\n")
        return info


def _load(path: Path, key: str, files: Mapping[str, str]) -> EnvInfo:
    data = json.loads((path / MARKER).read_text())
    return EnvInfo(key, path, files, _packages(path), data["tool"], None)


def digest(path: Path) -> str:
    """SHA-256 over every file's path, mode and bytes, and every link's target, in order."""
    h = hashlib.sha256()
    for dirpath, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            st = os.lstat(full)
            h.update(f"{rel}\0{st.st_mode:o}\0".encode())
            if os.path.islink(full):
                h.update(os.readlink(full).encode())
                continue
            with open(full, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()


def seal(path: Path) -> str:
    """Make the environment read-only (nothing it runs may write into it); its digest."""
    for dirpath, dirs, names in os.walk(path):
        for name in (*names, *dirs):
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, os.lstat(full).st_mode & ~0o222)
    os.chmod(path, os.lstat(path).st_mode & ~0o222)
    return digest(path)


def remove(path: Path) -> None:
    """Delete an environment, sealed or not."""
    if not path.exists():
        return
    for dirpath, dirs, _ in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in dirs:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o755)
    shutil.rmtree(path, ignore_errors=True)


# pip's package sources, as environment variables, and what uv calls them: an environment
# built with uv then comes from the same places (an internal index, a wheel directory) as one
# built with pip.
PIP_TO_UV = {
    "PIP_INDEX_URL": "UV_DEFAULT_INDEX",
    "PIP_EXTRA_INDEX_URL": "UV_INDEX",
    "PIP_FIND_LINKS": "UV_FIND_LINKS",
    "PIP_NO_INDEX": "UV_NO_INDEX",
}


def _run(argv: Sequence[str], *, cwd: Path, what: str, timeout: float = BUILD_TIMEOUT_S) -> None:
    env = scrubbed(os.environ)
    env.pop("VIRTUAL_ENV", None)
    for pip_name, uv_name in PIP_TO_UV.items():
        if pip_name in env and uv_name not in env:
            env[uv_name] = env[pip_name]
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(f"environment: {what}: no exit within {timeout:g} s") from None
    except OSError as exc:
        raise ConfigError(f"environment: {what}: cannot run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        raise ConfigError(f"environment: {what} failed: {_tail(done.stderr or done.stdout)}")


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines)[-TAIL_CHARS:] or "(no output)"


def _build(root: Path, spec: Environment, *, python: str, path: Path) -> str:
    """Create the venv at ``path`` and install the dependencies; the tool used."""
    uv = uv_path()
    present = [f for f in spec.files if (root / f).is_file()]
    what = f"installing {', '.join(present)}"
    if spec.lock and (root / spec.lock).is_file() and not uv:
        raise ConfigError(f"environment.lock: {spec.lock} needs uv on PATH")
    if uv:
        _run([uv, "venv", "--quiet", "--python", python, str(path)], cwd=root, what="uv venv")
        target = ["--python", str(path / "bin" / "python")]
        if spec.lock and (root / spec.lock).is_file():
            exported = path / "ttfb-lock-requirements.txt"
            export = [uv, "export", "--quiet", "--frozen", "--no-emit-project", "--no-hashes"]
            _run(
                [*export, "--format", "requirements-txt", "-o", str(exported)],
                cwd=root,
                what=f"exporting {spec.lock}",
            )
            sources = [str(exported)]
        else:
            sources = [f for f in (*spec.requirements, spec.project) if f and f in present]
        args = [a for src in sources for a in ("-r", src)]
        if args:
            # --compile-bytecode: pip writes .pyc files at install time and production
            # environments have them; without them every import compiles its source, and
            # under PYTHONDONTWRITEBYTECODE=1 it does so in every sample.
            install = [uv, "pip", "install", "--quiet", "--compile-bytecode"]
            _run([*install, *target, *args], cwd=root, what=what)
        return "uv"
    _run([python, "-m", "venv", str(path)], cwd=root, what="python -m venv")
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pip.append("--disable-pip-version-check")
    args = [a for f in spec.requirements if f in present for a in ("-r", f)]
    if spec.project and spec.project in present:
        args.extend(_project_dependencies(root / spec.project))
    if args:
        _run([*pip, *args], cwd=root, what=what)
    return "pip"


def _project_dependencies(pyproject: Path) -> list[str]:
    """``[project] dependencies`` of a pyproject.toml (what pip cannot read by itself)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise ConfigError(
            "environment.project: reading pyproject.toml needs Python ≥ 3.11 or uv"
        ) from None
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"environment.project: {pyproject.name}: {exc}") from None
    deps = data.get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(
            f"environment.project: {pyproject.name}: project.dependencies is not a list"
        )
    return deps


def _packages(path: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(path / "bin" / "python"), "-c", _QUERY], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise ConfigError(f"environment: cannot list packages: {_tail(done.stderr)}")
    packages: dict[str, str] = json.loads(done.stdout)["packages"]
    return dict(sorted(packages.items(), key=lambda kv: kv[0].lower()))


def layer(lower_python: str, dest: Path) -> str:
    """A fresh venv at ``dest`` over ``lower_python``'s site directories; its interpreter."""
    query = (
        "import sys, json; print(json.dumps("
        "[p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))]))"
    )
    done = subprocess.run([lower_python, "-c", query], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ConfigError(f"setup: {lower_python} does not run: {_tail(done.stderr)}")
    sites: list[str] = json.loads(done.stdout)
    uv = uv_path()
    if uv:
        _run(
            [uv, "venv", "--quiet", "--python", lower_python, str(dest)],
            cwd=dest.parent,
            what="uv venv",
        )
    else:
        _run([lower_python, "-m", "venv", "--without-pip", str(dest)], cwd=dest.parent, what="venv")
    (own,) = dest.glob("lib/python*/site-packages")
    lines = "".join(f"site.addsitedir({p!r}); " for p in sites)
    (own / "_ttfb_layer.pth").write_text(f"import site; {lines}\n")
    return str(dest / "bin" / "python")


def package_changes(
    base: Mapping[str, str], head: Mapping[str, str]
) -> list[tuple[str, str | None, str | None]]:
    """(name, base version or None, head version or None) for every package that differs."""
    names = sorted(set(base) | set(head), key=str.lower)
    return [(n, base.get(n), head.get(n)) for n in names if base.get(n) != head.get(n)]


def path_env(*bins: Path) -> dict[str, str]:
    """The variables that make ``bins`` (first wins) the environment a command sees."""
    path = os.pathsep.join([*(str(b) for b in bins), os.environ.get("PATH", "")])
    return {"PATH": path, "VIRTUAL_ENV": str(bins[0].parent)}
