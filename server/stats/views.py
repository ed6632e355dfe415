"""The figures leaders read: summary, breakdowns and the dashboard, from the collected numbers.

Every figure is computed twice over in the tests: from the rollups
(``backend="rollup"``, what the API serves) and straight from the base tables
(``backend="base"``), and both must equal the number of rows the drill-down
(``server.stats.drilldown``) returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from schemas import stats as wire
from schemas.vocab import LABELS, District, Sector
from server import database
from server.accounts.policy import Actor
from server.stats.collection import REGISTRY_KEY, Collected, Generation, RegistryCells, collect, registry_cells, values_at
from server.stats.definitions import DIM_LABELS, HEADLINE, INDICATORS, MEASURES, Dim, Indicator, Kind, supports
from server.stats.dialect import Connection, connect, in_list
from server.stats.periods import Grain, add_months, change_ratio, local_today
from server.stats.query import Backend, Plan, StatsQuery, plan_of, scope_of, scoped
from server.stats.rollup import freshness_and_generation, read_freshness
from server.stats.sql import NONE_GROUP, Params


def _part(key: str, values: dict[str, int] | None) -> int:
    return (values or {}).get(key, 0)


def value_of(indicator: Indicator, values: dict[str, int] | None) -> float | None:
    """An indicator's value from the collected measures and live parts."""
    if indicator.kind is Kind.COUNT:
        return _part(indicator.measure or indicator.key, values)
    if indicator.kind is Kind.LIVE:
        return _part(indicator.key, values)
    denominator = _part(indicator.denominator or "", values)
    if denominator == 0:
        return None
    return round(_part(indicator.numerator or "", values) / denominator * indicator.scale, 4)


def _figures(current: dict[str, int] | None, previous: dict[str, int] | None, dim: Dim | None) -> list[wire.Figure]:
    out = []
    for indicator in INDICATORS.values():
        if not supports(indicator, dim):
            out.append(wire.Figure(key=indicator.key))
            continue
        value = value_of(indicator, current)
        before = value_of(indicator, previous)
        out.append(wire.Figure(key=indicator.key, value=value, previous=before, change=change_ratio(value, before)))
    return out


def list_indicators() -> list[wire.IndicatorDefinition]:
    return [
        wire.IndicatorDefinition(
            key=i.key, name=i.name, unit=i.unit, definition=i.definition, group=i.group, kind=str(i.kind),
            dims=sorted(str(d) for d in i.dims), better=i.better,
        )
        for i in INDICATORS.values()
    ]


async def _as_of(conn: Connection, backend: Backend, plans: list[Plan]) -> tuple[wire.Freshness, Generation | None]:
    """数据截至 for ``plans`` and, from the rollups, their generation (counts kept under it are at least that fresh)."""
    if backend == "rollup":
        return await freshness_and_generation(conn, plans)
    return await read_freshness(conn, backend, plans), None


async def summary(actor: Actor, query: StatsQuery, *, backend: Backend = "rollup") -> wire.Summary:
    query = scoped(actor, query)
    async with connect() as conn, conn.transaction(write=False):
        fresh, generation = await _as_of(conn, backend, [plan_of(query, None)])
        return await _summary(conn, query, backend, fresh, generation=generation)


async def _summary(
    conn: Connection,
    query: StatsQuery,
    backend: Backend,
    fresh: wire.Freshness | None,
    registry: RegistryCells | asyncio.Future[RegistryCells] | None = None,
    *,
    generation: Generation | None = None,
) -> wire.Summary:
    collected = await collect(conn, query, plan_of(query, None), backend, registry, generation=generation)
    return wire.Summary(
        scope=scope_of(query),
        figures=_figures(values_at(collected, None, True, None), values_at(collected, None, False, None), None),
        generated_at=dt.datetime.now(dt.UTC).isoformat(),
        freshness=fresh,
    )


async def breakdown(
    actor: Actor, query: StatsQuery, by: Dim, *, grain: Grain | None = None, backend: Backend = "rollup"
) -> wire.Breakdown:
    query = scoped(actor, query)
    async with connect() as conn, conn.transaction(write=False):
        fresh, generation = await _as_of(conn, backend, [plan_of(query, by, grain)])
        return await _breakdown(conn, query, by, grain, backend, fresh, generation=generation)


async def _breakdown(
    conn: Connection,
    query: StatsQuery,
    by: Dim,
    grain: Grain | None,
    backend: Backend,
    fresh: wire.Freshness | None,
    registry: RegistryCells | asyncio.Future[RegistryCells] | None = None,
    *,
    generation: Generation | None = None,
) -> wire.Breakdown:
    plan = plan_of(query, by, grain)
    collected = await collect(conn, query, plan, backend, registry, generation=generation)
    rows: list[wire.BreakdownRow] = []
    today = query.today or local_today(database.timezone())
    if by is Dim.PERIOD:
        for bucket in plan.buckets:
            here = values_at(collected, bucket.start.isoformat(), True, by)
            before = values_at(collected, add_months(bucket.start, -12).isoformat(), True, by)
            rows.append(wire.BreakdownRow(
                group=bucket.key, label=bucket.label, figures=_figures(here, before, by), partial=bucket.contains(today)
            ))
    else:
        seen = {k[0] for k in collected if k[0] is not None and k != REGISTRY_KEY}
        groups = await _groups(conn, query, by, seen, collected)
        for group, label in groups:
            rows.append(
                wire.BreakdownRow(
                    group=group if group is not None else NONE_GROUP,
                    label=label,
                    figures=_figures(values_at(collected, group, True, by), values_at(collected, group, False, by), by),
                )
            )
    return wire.Breakdown(scope=scope_of(query), by=str(by), by_label=DIM_LABELS[by], rows=rows, freshness=fresh)


async def _groups(
    conn: Connection, query: StatsQuery, by: Dim, seen: set[str], collected: Collected
) -> list[tuple[str | None, str]]:
    """The rows a breakdown shows, in reading order, with their Chinese labels."""
    f = query.filters
    if by is Dim.DISTRICT:
        return [(str(d), LABELS[d]) for d in District if not f.district or f.district == d]
    if by is Dim.SECTOR:
        return [(str(s), LABELS[s]) for s in Sector if not f.sector or f.sector == s]
    if by is Dim.DEPARTMENT:
        rows = await conn.fetch("SELECT CAST(id AS TEXT) AS id, name FROM department ORDER BY code")
        out: list[tuple[str | None, str]] = [
            (r["id"], r["name"]) for r in rows if not f.department_id or r["id"] == str(f.department_id)
        ]
        if (None, True) in collected and any(collected[(None, True)].get(k) for k in MEASURES) and not f.department_id:
            out.append((None, "未指定科室"))
        return out
    p = Params(database.timezone())
    ids = in_list((uuid.UUID(s) for s in sorted(seen)), p)
    names = {
        str(r["id"]): r["display_name"]
        for r in await conn.fetch(f"SELECT CAST(id AS TEXT) AS id, display_name FROM app_user WHERE id IN {ids}", *p.values)
    }

    def weight(group: str) -> tuple[int, str]:
        return (-collected.get((group, True), {}).get("checks", 0), names.get(group, group))

    return [(g, names.get(g, "（已删除用户）")) for g in sorted(seen, key=weight)]


async def dashboard(
    actor: Actor, query: StatsQuery, *, trend_grain: Grain = Grain.MONTH, backend: Backend = "rollup"
) -> wire.Dashboard:
    """Everything the dashboard page shows: the summary, the trend and four breakdowns."""
    query = scoped(actor, query)
    async with connect() as conn:
        # Read first: every view below reads rollups at least this fresh.
        fresh, generation = await _as_of(conn, backend, [plan_of(query, None), plan_of(query, Dim.PERIOD, trend_grain)])

    async def read_registry() -> RegistryCells:
        async with connect() as conn:
            return await registry_cells(conn)

    registry = asyncio.ensure_future(read_registry())  # beside the views, which take it when they need it

    async def view(dim: Dim | None, grain: Grain | None = None) -> Any:
        # Each view on its own pooled connection, so PostgreSQL runs them side by side.
        async with connect() as conn:
            if dim is None:
                return await _summary(conn, query, backend, fresh, registry, generation=generation)
            return await _breakdown(conn, query, dim, grain, backend, fresh, registry, generation=generation)

    try:
        summary_view, trend, *splits = await asyncio.gather(
            view(None), view(Dim.PERIOD, trend_grain), view(Dim.DISTRICT), view(Dim.SECTOR), view(Dim.DEPARTMENT),
            view(Dim.INSPECTOR),
        )
    finally:
        await asyncio.gather(registry, return_exceptions=True)  # read out even when a view failed
    return wire.Dashboard(
        summary=summary_view,
        trend=trend,
        by_district=splits[0],
        by_sector=splits[1],
        by_department=splits[2],
        by_inspector=splits[3],
        headline=list(HEADLINE),
        freshness=fresh,
    )
