"""The options that say how profiling samples are taken (``compare`` and ``measure``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..model import PROFILER_TOOLS, ProfilerTool, ProfileSettings
from . import common
from .args import option


def profiler_tool(value: str) -> ProfilerTool:
    for tool in PROFILER_TOOLS:
        if tool == value:
            return tool
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(PROFILER_TOOLS)}")


@dataclass(frozen=True, kw_only=True)
class ProfileFlags:
    profile_runs: int = option(
        "--profile-runs",
        type=common.positive_int,
        default=5,
        metavar="N",
        help="profiling samples per arm, ABBA order (default 5; never the timed ones)",
    )
    profile_rate: int = option(
        "--profile-rate",
        type=common.positive_int,
        default=250,
        metavar="HZ",
        help="samples per second (default 250: py-spy at 1 kHz slows a torch start-up ~5x "
        "on two cores)",
    )
    profile_native: bool = option(
        "--profile-native",
        default=False,
        action="store_true",
        help="include native (C/C++) frames (py-spy --native)",
    )
    profile_subprocesses: bool = option(
        "--profile-subprocesses",
        default=False,
        action="store_true",
        help="include the job's other processes (DataLoader workers); default: the process "
        "that reports the first batch",
    )
    profiler: ProfilerTool = option(
        "--profiler",
        type=profiler_tool,
        default="auto",
        metavar="{auto,py-spy,sampler}",
        help="auto (default): py-spy where it attaches, else the probe's in-process sampler "
        "($TTFB_LAB_PROFILER overrides)",
    )


def settings(o: ProfileFlags) -> ProfileSettings:
    return ProfileSettings(
        runs=o.profile_runs,
        rate_hz=o.profile_rate,
        native=o.profile_native,
        subprocesses=o.profile_subprocesses,
        tool=o.profiler,
    )
