"""Dates as the bureau reads them: tests compare with the server's rules, which count days in FIELDCHECK_TIMEZONE.

``datetime.date.today()`` is the machine's date (UTC here); between 16:00 and 24:00 UTC it is the day before
the bureau's, and a test that plans "today" would be refused as planning in the past.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from server.settings import Settings

BUREAU_TZ = ZoneInfo(Settings().hazards.timezone)


def bureau_today() -> dt.date:
    """Today's date in the bureau's time zone (the tests' settings keep the default)."""
    return dt.datetime.now(BUREAU_TZ).date()
