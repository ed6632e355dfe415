"""The spot checks' clock: now, and the bureau's calendar day (FIELDCHECK_TIMEZONE) of a moment."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from server.settings import get_settings


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def zone() -> ZoneInfo:
    return ZoneInfo(get_settings().hazards.timezone)


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(zone()).date()
