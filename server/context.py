"""What a service needs of its surroundings: the settings it runs under and the clock it reads.

One frozen :class:`Context` per app (``create_app`` builds it from its settings and keeps it in
``app.state.context``), per scheduler and per command (built from ``Settings.from_env()``); it is
handed down as an argument, so two apps in one process each keep their own time zone and limits.
A test gives a fixed clock (``Context(settings, FixedClock(at))``) instead of patching time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from server import localtime
from server.settings import Settings


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment, timezone-aware."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock that always reads ``at`` (tests, and replaying a moment)."""

    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at


@dataclass(frozen=True)
class Context:
    """The settings and the clock a service call runs with."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> dt.datetime:
        return self.clock.now()

    @property
    def zone(self) -> ZoneInfo:
        """The bureau's time zone (``FIELDCHECK_TIMEZONE``)."""
        return localtime.zone(self.settings.hazards.timezone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The bureau's calendar date of ``moment``."""
        return localtime.local_date(moment, self.zone)

    def today(self) -> dt.date:
        """The bureau's calendar date now."""
        return self.local_date(self.now())
