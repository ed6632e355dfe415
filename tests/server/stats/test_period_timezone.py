"""Statistics cut months in the zone they are given (FIELDCHECK_TIMEZONE of the app), in Python and in the SQL of
the indicators (as each engine receives it, after server.stats.dialect renders the month): two zones in one process."""

from __future__ import annotations

import datetime as dt

import pytest

from server.stats import definitions, dialect, periods


@pytest.mark.parametrize(
    ("zone", "starts", "today", "shift"),
    [
        ("Asia/Urumqi", "2025-03-01T00:00:00+06:00", "2025-02-28", "'+6 hours'"),
        ("Asia/Shanghai", "2025-03-01T00:00:00+08:00", "2025-03-01", "'+8 hours'"),
    ],
)
def test_the_given_zone_cuts_the_periods(zone: str, starts: str, today: str, shift: str) -> None:
    month = periods.parse_period("2025-03")
    assert month.start_at(zone).isoformat() == starts
    assert str(periods.local_today(zone, dt.datetime(2025, 2, 28, 17, 30, tzinfo=dt.UTC))) == today
    sql = definitions.INSPECTION.month_sql()
    assert f"AT TIME ZONE '{zone}'" in dialect.render_postgres(sql, zone)
    assert shift in dialect.render_sqlite(sql, zone)


def test_both_zones_render_side_by_side_without_either_leaking_into_the_other() -> None:
    sql = definitions.INSPECTION.month_sql()
    assert "Asia/Shanghai" not in dialect.render_postgres(sql, "Asia/Urumqi")
    assert "Asia/Urumqi" not in dialect.render_postgres(sql, "Asia/Shanghai")


def test_sqlite_refuses_a_zone_with_daylight_saving() -> None:
    with pytest.raises(RuntimeError, match="without daylight saving"):
        dialect.SQLiteConnection(object(), "Europe/Berlin")
