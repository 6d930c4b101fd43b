"""Facts about this machine: GPUs (without importing torch) and what history records."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ENV_GPUS = "TTFB_LAB_GPUS"  # override the detected GPU count (tests, unusual drivers)
BARE_PYTHONS = ("python", "python3")


def typed_python(argv0: str) -> str | None:
    """The interpreter a bare ``python``/``python3`` at the head of a command the user typed
    runs: the one their ``PATH`` finds, as their shell would (an activated environment's, not
    the one ttfb was installed into); None for any other command, or when ``PATH`` has none."""
    return shutil.which(argv0) if argv0 in BARE_PYTHONS else None


@dataclass(frozen=True)
class GpuInfo:
    count: int
    how: str  # how it was determined, shown when a GPU scenario is skipped


@cache
def gpus() -> GpuInfo:
    """Count NVIDIA GPUs: ``$TTFB_LAB_GPUS``, else ``nvidia-smi -L``, else /proc/driver/nvidia."""
    forced = os.environ.get(ENV_GPUS)
    if forced is not None and forced.strip().isdigit():
        return GpuInfo(int(forced), f"${ENV_GPUS}={forced}")
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "-L"], capture_output=True, text=True, timeout=20, check=False
            )
            count = sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))
            return GpuInfo(count, f"nvidia-smi -L listed {count}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            return GpuInfo(0, f"nvidia-smi failed: {exc}")
    proc = Path("/proc/driver/nvidia/gpus")
    if proc.is_dir():
        count = len(list(proc.iterdir()))
        return GpuInfo(count, f"{proc} lists {count}")
    return GpuInfo(0, "no nvidia-smi and no NVIDIA driver found")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, object]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gpus": gpus().count,
    }
