"""Every event-driven flow, registered with ``bot.gh.router.router`` on import."""

from . import command, release, report, select
from .router import router

__all__ = ["command", "release", "report", "router", "select"]
