"""The bureau's calendar: the local date of a moment and the local midnight of a date, in a named zone. Pure.

Deadlines, statistical months, document dates and the "today" a recheck is overdue against are all
days in the bureau's time zone (``FIELDCHECK_TIMEZONE``, ``settings.hazards.timezone``). Every module
reads them here, given the zone (or a :class:`server.context.Context`, which carries it); nothing
here reads a setting or the wall clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The zone named ``name`` (``Asia/Shanghai``); ``ZoneInfoNotFoundError`` if there is none."""
    return ZoneInfo(name)


def _zone(of: ZoneInfo | str) -> ZoneInfo:
    return of if isinstance(of, ZoneInfo) else zone(of)


def local_date(moment: dt.datetime, of: ZoneInfo | str) -> dt.date:
    """The calendar date of ``moment`` (timezone-aware) in the zone ``of``."""
    return moment.astimezone(_zone(of)).date()


def midnight(day: dt.date, of: ZoneInfo | str) -> dt.datetime:
    """The first instant of ``day`` in the zone ``of``, timezone-aware."""
    return dt.datetime.combine(day, dt.time(), _zone(of))


def at(day: dt.date, time: dt.time, of: ZoneInfo | str) -> dt.datetime:
    """``time`` o'clock on ``day`` in the zone ``of``, timezone-aware."""
    return dt.datetime.combine(day, time, _zone(of))
