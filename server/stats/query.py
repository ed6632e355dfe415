"""A statistics read's query: its period and filters, the actor's scope, and the spans it counts.

Who sees what:

- leaders and admins: the whole city;
- supervisors: their own department only (the filter is forced, another
  department is refused);
- inspectors: nothing (the controllers' guard).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Literal

from schemas import stats as wire
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.errors import InvalidInput, PermissionDenied
from server.stats.definitions import Dim
from server.stats.periods import Grain, Period, Span, local_today, parse_period, trend_spans
from server.stats.sql import Filters




Backend = Literal["rollup", "base"]


@dataclass(frozen=True)
class StatsQuery:
    """A view's period and filters, as the caller asked for them."""

    period: Period
    filters: Filters = field(default_factory=Filters)
    today: dt.date | None = None


def query_from(
    period: str | None, district: str | None = None, sector: str | None = None, department_id: uuid.UUID | None = None
) -> StatsQuery:
    try:
        parsed = parse_period(period) if period else Period(dt.date(local_today(database.timezone()).year, 1, 1), Grain.YEAR)
    except ValueError as exc:
        raise InvalidInput("期间格式有误，应为 2025、2025-Q2 或 2025-03", str(exc), field="period") from None
    return StatsQuery(parsed, Filters(district=district, sector=sector, department_id=department_id))


def scoped(actor: Actor, query: StatsQuery) -> StatsQuery:
    """The query as this actor may run it: a supervisor's department is forced."""
    if actor.role in (Role.LEADER, Role.ADMIN):
        return query
    if actor.role == Role.SUPERVISOR and actor.department_id is not None:
        wanted = query.filters.department_id
        if wanted is not None and wanted != actor.department_id:
            raise PermissionDenied("只能查看本科室的统计", "supervisors see their own department only")
        filters = Filters(query.filters.district, query.filters.sector, actor.department_id)
        return StatsQuery(query.period, filters, query.today)
    raise PermissionDenied("当前角色无权查看统计", "statistics are for leaders, supervisors and admins")


def scope_of(query: StatsQuery) -> wire.Scope:
    before = query.period.year_before()
    today = query.today or local_today(database.timezone())
    return wire.Scope(
        period=query.period.key,
        period_label=query.period.label,
        previous_period=before.key,
        previous_label=before.label,
        district=query.filters.district,
        sector=query.filters.sector,
        department_id=query.filters.department_id,
        partial=query.period.contains(today),
    )



@dataclass(frozen=True)
class Plan:
    """What to count: the current and 同比 spans, the split, and for a trend its buckets."""

    current: Period | Span
    previous: Period | Span
    dim: Dim | None
    grain: Grain
    buckets: tuple[Period, ...] = ()


def plan_of(query: StatsQuery, dim: Dim | None, trend_grain: Grain | None = None) -> Plan:
    if dim is Dim.PERIOD:
        # A trend always shows the whole year of the period (or the five years up to it).
        grain = trend_grain or Grain.MONTH
        current, earlier, buckets = trend_spans(Period(dt.date(query.period.start.year, 1, 1), Grain.YEAR), grain)
        return Plan(current, earlier, dim, grain, tuple(buckets))
    return Plan(query.period, query.period.year_before(), dim, query.period.grain)
