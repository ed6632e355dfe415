"""Leader statistics: indicator definitions, figures with 同比, breakdowns and drill-downs (read-only)."""

from __future__ import annotations

import uuid

from schemas.base import Struct


class IndicatorDefinition(Struct, kw_only=True):
    """One indicator and its written 指标口径."""

    key: str
    name: str
    unit: str
    definition: str
    group: str
    kind: str  # count | ratio | live
    dims: list[str] = []
    better: str = ""  # up | down | "" : which way a change is good news


class Scope(Struct, kw_only=True):
    """What a view counts: the period and the filters (a supervisor's department is always set)."""

    period: str
    period_label: str
    previous_period: str
    previous_label: str
    district: str | None = None
    sector: str | None = None
    department_id: uuid.UUID | None = None
    partial: bool = False  # the period has not ended yet: its figures are so far, not the whole period


class Freshness(Struct, kw_only=True):
    """数据截至: every write committed before ``as_of`` is in the figures."""

    as_of: str  # ISO 8601, UTC
    as_of_label: str  # the same moment in the bureau's time zone, as a person reads it
    pending: bool = False  # writes after as_of are queued and being counted


class Figure(Struct, kw_only=True):
    """One indicator's value, last year's value for the same period, and the 同比 change (a fraction)."""

    key: str
    value: float | None = None
    previous: float | None = None
    change: float | None = None


class Summary(Struct, kw_only=True):
    scope: Scope
    figures: list[Figure]
    generated_at: str
    freshness: Freshness | None = None


class BreakdownRow(Struct, kw_only=True):
    """The figures of one group (a district, a month, an inspector, …)."""

    group: str | None  # the value to drill into (district code, department id, period key, …); None = 未指定
    label: str
    figures: list[Figure]
    partial: bool = False  # a period bucket that has not ended yet


class Breakdown(Struct, kw_only=True):
    scope: Scope
    by: str
    by_label: str
    rows: list[BreakdownRow]
    freshness: Freshness | None = None


class Dashboard(Struct, kw_only=True):
    """Everything the dashboard page shows for one scope, computed in one call."""

    summary: Summary
    trend: Breakdown
    by_district: Breakdown
    by_sector: Breakdown
    by_department: Breakdown
    by_inspector: Breakdown
    headline: list[str]
    freshness: Freshness | None = None


class DrillDown(Struct, kw_only=True):
    """The records behind one figure, one page at a time.

    ``counted`` (ratios and coverage) says for each row whether it is in the
    numerator; every row is in the denominator.
    """

    indicator: str
    title: str
    scope: Scope
    by: str | None = None
    group: str | None = None
    value: float | None = None
    distinct_people: int | None = None
    columns: list[str]
    rows: list[list[str]]
    counted: list[bool] | None = None
    total: int
    page: int
    page_size: int
    links: list[str | None] | None = None  # each row's record page in the console
    freshness: Freshness | None = None
