"""A scripted start-up with stacks for profiling samples (``--fake``): base loads its config,
imports torch, builds the optimizer; head also waits for a metrics collector in
``report_click_stats`` (``telemetry.py``), inside a socket read."""

from __future__ import annotations

from pathlib import Path

import yaml

SEGMENTS = {
    "interpreter_ready": 0.03,
    "config_loaded": 0.1,
    "import_torch": 1.2,
    "data_ready": 0.05,
    "optimizer_created": 1.0,
    "first_forward": 0.01,
}
SITE = "/py/lib/python3.11/site-packages"
MAIN = "<module> ({root}/train.py:1);main ({root}/train.py:20)"
TORCH = f"_find_and_load (<frozen importlib._bootstrap>:1165);<module> ({SITE}/torch/__init__.py:1)"
OPTIM = f"Optimizer.__init__ ({SITE}/torch/optim/optimizer.py:300)"
BASE = {
    f"{MAIN};load_config ({{root}}/config.py:5)": 0.045,
    f"{MAIN};{TORCH}": 0.50,
    f"{MAIN};build_optimizer ({{root}}/loop.py:40);{OPTIM}": 0.42,
    f"{MAIN};build_dataset ({{root}}/data.py:12)": 0.035,
}
DELAY = 0.25
SOCKET = "SocketIO.readinto (/py/lib/python3.11/socket.py:690)"
WAIT = (
    f"{MAIN};emit ({{root}}/telemetry.py:20);report_click_stats ({{root}}/telemetry.py:40);{SOCKET}"
)


def head_stacks() -> dict[str, float]:
    total = sum(SEGMENTS.values())
    scale = total / (total + DELAY)
    stacks = {k: v * scale for k, v in BASE.items()}
    stacks[WAIT] = DELAY / (total + DELAY)
    return stacks


def spec(
    tmp: Path, *, delay: bool = True, seed: int = 7, scenario_profile: bool | None = None
) -> Path:
    """The spec file; ``delay``: head waits ``DELAY`` s in ``report_click_stats``."""
    head = dict(SEGMENTS)
    if delay:
        head["data_ready"] += DELAY
    arms = {
        "base": {"segments": SEGMENTS, "sd_pct": 3, "profile": {"sd_pct": 4, "stacks": BASE}},
        "head": {
            "segments": head,
            "sd_pct": 3,
            "profile": {"sd_pct": 4, "stacks": head_stacks() if delay else BASE},
        },
    }
    doc = {"version": 1, "seed": seed, "load_sd_pct": 3, "arms": arms}
    path = tmp / f"fake-{seed}-{delay}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    return path


def write_fixture(path: Path, tmp: Path) -> None:
    """Write ``tests/fixtures/results/profile.json``: a scripted compare of ``spec`` with its
    profile, as an artifact carries it (machine facts, times and paths made fixed)::

        .venv/bin/python -c "from pathlib import Path; import tempfile; \\
        from tests.profile.scripted import write_fixture; \\
        write_fixture(Path('tests/fixtures/results/profile.json'), Path(tempfile.mkdtemp()))"
    """
    import json

    from bot.cli import main

    (tmp / "train.py").write_text("")
    arms = ["--base-cmd", "python train.py", "--head-cmd", "python train.py --new"]
    out = ["--out-dir", str(tmp / "out"), "--runner", "test-runner", "--no-history"]
    argv = ["compare", "--fake", str(spec(tmp)), "--root", str(tmp), *arms, *out]
    assert main([*argv, "--seed", "3", "--name", "ranker-cpu"]) == 0
    doc = json.loads((tmp / "out" / "results.json").read_text())
    for key in ("machine", "samples_log"):
        doc.pop(key, None)
    doc.update(created="2025-01-01T00:00:00Z", elapsed_s=12.5)
    for s in doc["scenarios"]:
        s["profile"]["elapsed_s"] = 6.0
    path.write_text(json.dumps(doc, indent=2) + "\n")
