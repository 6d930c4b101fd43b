"""Which handler an event goes to: a registry of rules, as bedevere's router does it.

Each flow module registers its handler for the events it serves, with a check that says
whether this particular event (its action, its inputs, its branch) calls for it and why. An
event no rule accepts is ignored with the first rule's reason, and the command exits 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from .context import Context, Outputs
from .events import Event

Handler = Callable[[Event, Context], Outputs]
Check = Callable[[Event], tuple[bool, str]]
"""(does this event call for the handler, why — or why not)."""


@dataclass(frozen=True)
class Rule:
    event: str
    mode: str
    check: Check
    handler: Handler


@dataclass(frozen=True)
class Route:
    mode: str | None  # None: ignored
    why: str
    handler: Handler | None = None


class Router:
    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def register(self, event: str, *, mode: str, check: Check) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            self.rules.append(Rule(event, mode, check, handler))
            return handler

        return add

    def route(self, event: Event) -> Route:
        """The first rule for this event that accepts it, else why it is ignored."""
        reasons = []
        for rule in self.rules:
            if rule.event != event.name:
                continue
            ok, why = rule.check(event)
            if ok:
                return Route(rule.mode, why, rule.handler)
            reasons.append(why)
        return Route(
            None, reasons[0] if reasons else f"ignored: event {event.name!r} is not handled"
        )

    def events_for(self, mode: str) -> list[str]:
        return list(dict.fromkeys(r.event for r in self.rules if r.mode == mode))

    def dispatch(self, event: Event, ctx: Context, *, mode: str | None = None) -> Outputs:
        """Run the handler the event calls for. With ``mode`` (``ttfb gh select`` and the
        like), an event of another kind is a usage error; an ignored one is not."""
        route = self.route(event)
        if mode is not None and route.mode not in (mode, None):
            raise UsageError(
                f"{mode}: this {event.name} event calls for {route.mode} ({route.why})"
            )
        if mode is not None and route.mode is None and event.name not in self.events_for(mode):
            expected = " or ".join(self.events_for(mode))
            raise UsageError(f"{mode}: expects a {expected} event, got {event.name!r}")
        if route.handler is None:
            return Outputs({}, route.why)
        return route.handler(event, ctx)


router = Router()
