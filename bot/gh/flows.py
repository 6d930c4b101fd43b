"""Every event-driven flow, registered with ``bot.gh.router.router`` on import."""

from . import command_flow, release_flow, report_flow, select_flow
from .router import router

__all__ = ["command_flow", "release_flow", "report_flow", "router", "select_flow"]
