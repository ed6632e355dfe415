"""Statistical periods (月 / 季 / 年) in the bureau's time zone, and their 同比 counterparts. Pure, no I/O.

Months, quarters and years are cut at midnight in the bureau's zone (``FIELDCHECK_TIMEZONE``), as its
reports are; every function that turns a period into instants takes that zone (``server.localtime``).

A period is written the way a report names it: ``2025`` (year), ``2025-Q2``
(quarter), ``2025-03`` (month). Every period is a half-open range of calendar
months ``[start, end)``; the same period one year earlier is its 同比 base.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from server import localtime

_QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}
_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


class Grain(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


GRAIN_LABELS = {Grain.MONTH: "月", Grain.QUARTER: "季度", Grain.YEAR: "年"}


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, quarter or year."""

    start: dt.date  # the first day of the first month
    grain: Grain

    @property
    def months(self) -> int:
        return {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[self.grain]

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return add_months(self.start, self.months)

    @property
    def key(self) -> str:
        if self.grain is Grain.YEAR:
            return f"{self.start.year}"
        if self.grain is Grain.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        """The period as a report writes it: 2025年, 2025年第二季度, 2025年3月."""
        if self.grain is Grain.YEAR:
            return f"{self.start.year}年"
        if self.grain is Grain.QUARTER:
            return f"{self.start.year}年第{_QUARTER_NAMES[(self.start.month - 1) // 3 + 1]}季度"
        return f"{self.start.year}年{self.start.month}月"

    def year_before(self) -> Period:
        """The same period one year earlier (the 同比 base)."""
        return Period(add_months(self.start, -12), self.grain)

    def start_at(self, zone: ZoneInfo | str) -> dt.datetime:
        """The first instant of the period (midnight in the bureau's ``zone``), timezone-aware."""
        return localtime.midnight(self.start, zone)

    def end_at(self, zone: ZoneInfo | str) -> dt.datetime:
        return localtime.midnight(self.end, zone)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def subperiods(self, grain: Grain) -> list[Period]:
        """The periods of ``grain`` that tile this one (a year's months or quarters).

        A year split by ``year`` gives the five years ending with it, which is
        what a multi-year trend shows.
        """
        if grain is Grain.YEAR:
            return [Period(add_months(self.start, -12 * back), Grain.YEAR) for back in range(4, -1, -1)]
        step = 1 if grain is Grain.MONTH else 3
        if {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[grain] > self.months:
            raise ValueError(f"cannot split a {self.grain} into {grain}s")
        return [Period(add_months(self.start, i), grain) for i in range(0, self.months, step)]


def parse_period(text: str) -> Period:
    """``2025`` / ``2025-Q2`` / ``2025-03`` → :class:`Period`; ``ValueError`` for anything else."""
    match = _PATTERN.match(text.strip())
    if not match or not 2000 <= int(match["year"]) <= 2100:
        raise ValueError(f"not a period: {text!r} (expected 2025, 2025-Q2 or 2025-03)")
    year = int(match["year"])
    if match["quarter"]:
        return Period(dt.date(year, (int(match["quarter"]) - 1) * 3 + 1, 1), Grain.QUARTER)
    if match["month"]:
        return Period(dt.date(year, int(match["month"]), 1), Grain.MONTH)
    return Period(dt.date(year, 1, 1), Grain.YEAR)


def period_of(day: dt.date, grain: Grain) -> Period:
    """The period of ``grain`` that contains ``day``."""
    if grain is Grain.YEAR:
        return Period(dt.date(day.year, 1, 1), grain)
    if grain is Grain.QUARTER:
        return Period(dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1), grain)
    return Period(dt.date(day.year, day.month, 1), grain)


def local_today(zone: ZoneInfo | str, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the bureau's ``zone`` (the day a deadline is compared with); ``now``: the wall clock."""
    return localtime.local_date(now or dt.datetime.now(dt.UTC), zone)


def change_ratio(current: float | None, previous: float | None) -> float | None:
    """同比增减 as a fraction ((本期 − 上年同期) ÷ 上年同期); None when the base is 0 or missing."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


@dataclass(frozen=True)
class Span:
    """Any run of whole months ``[start, end)`` (a multi-year trend is one)."""

    start: dt.date
    end: dt.date

    def start_at(self, zone: ZoneInfo | str) -> dt.datetime:
        return localtime.midnight(self.start, zone)

    def end_at(self, zone: ZoneInfo | str) -> dt.datetime:
        return localtime.midnight(self.end, zone)


def trend_spans(period: Period, grain: Grain) -> tuple[Span, Span, list[Period]]:
    """What a trend of ``period`` split by ``grain`` reads: its own span, the 同比 span before it, the buckets."""
    buckets = period.subperiods(grain)
    current = Span(buckets[0].start, buckets[-1].end)
    earlier = Span(add_months(current.start, -12), current.start) if grain is Grain.YEAR else Span(
        add_months(current.start, -12), add_months(current.end, -12)
    )
    return current, earlier, buckets
