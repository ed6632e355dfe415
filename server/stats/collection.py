"""Collecting the numbers a view needs: measures from the rollups or the base tables, and the live parts.

Both backends answer the same shape (:data:`Collected`): ``backend="rollup"``
reads the monthly rollups and per-period cubes (what the API serves),
``backend="base"`` counts straight from the base tables (the naive GROUP BY the
tests and benchmarks compare with). Both engines run the same SQL text
(``server.stats.dialect``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from server.stats import sql
from server.stats.definitions import HAZARD, INSPECTION, MEASURES, SOURCES, VIOLATION, Dim
from server.stats.dialect import Connection, in_list
from server.stats.periods import add_months, local_today
from server.stats.query import Backend, Plan, StatsQuery
from server.stats.sql import Params


#: (group key, is current) → measure or live key → value
Collected = dict[tuple[str | None, bool], dict[str, int]]



def _key(plan: Plan, grp: Any, cur: bool) -> tuple[str | None, bool]:
    if plan.dim is Dim.PERIOD:
        return (str(grp) if grp is not None else None, True)  # buckets are distinct in time
    return (None if grp is None else str(grp), bool(cur))


async def collect(
    conn: Connection, query: StatsQuery, plan: Plan, backend: Backend, registry: RegistryCells | None = None
) -> Collected:
    out: Collected = defaultdict(dict)
    if backend == "rollup":
        p = Params()
        text = sql.rollup_aggregate(plan.current, plan.previous, query.filters, plan.dim, plan.grain, p)
        for row in await conn.fetch(text, *p.values):
            values = out[_key(plan, row["grp"], row["cur"])]
            for key in MEASURES:
                values[key] = values.get(key, 0) + (row[key] or 0)
    else:
        for source in SOURCES.values():
            p = Params()
            text = sql.base_aggregate(source, plan.current, plan.previous, query.filters, plan.dim, plan.grain, p)
            if text is None:
                continue
            for row in await conn.fetch(text, *p.values):
                values = out[_key(plan, row["grp"], row["cur"])]
                for m in sql.measures_of(source):
                    values[m.key] = values.get(m.key, 0) + (row[m.key] or 0)
    await _collect_live(conn, query, plan, backend, out, registry)
    return out


async def _collect_live(
    conn: Connection, query: StatsQuery, plan: Plan, backend: Backend, out: Collected, registry: RegistryCells | None
) -> None:
    today = query.today or local_today()
    dim, f = plan.dim, query.filters
    if backend == "rollup":
        await _collect_live_rollup(conn, query, plan, today, out)
    else:
        await _collect_live_base(conn, query, plan, today, out)
    if dim is Dim.INSPECTOR:
        return
    # 在册企业数: the current registry, split only by district or sector.
    cells = registry if registry is not None else await registry_cells(conn)
    counts: dict[str | None, int] = defaultdict(int)
    for (district, sector), n in cells.items():
        if (f.district and district != f.district) or (f.sector and sector != f.sector):
            continue
        counts[{Dim.DISTRICT: district, Dim.SECTOR: sector}.get(dim)] += n  # type: ignore[arg-type]
    out[REGISTRY_KEY] = dict(counts)
    await _collect_coverage(conn, query, plan, backend, out)


#: Enterprises in the registry (not closed) by (district, sector): what 在册企业数 is summed from.
RegistryCells = dict[tuple[str, str], int]


async def registry_cells(conn: Connection) -> RegistryCells:
    """The registry counted once, split by district and sector; each view sums the cells its filters keep.

    A dashboard reads it once for its six views (each scanned the enterprises on its own before).
    """
    rows = await conn.fetch(
        "SELECT e.district, e.sector, count(*) AS n FROM enterprise e WHERE e.operating_status <> 'closed' GROUP BY 1, 2"
    )
    return {(str(r["district"]), str(r["sector"])): r["n"] for r in rows}


async def _collect_live_rollup(
    conn: Connection, query: StatsQuery, plan: Plan, today: dt.date, out: Collected
) -> None:
    group = sql.rollup_group(plan.dim, plan.grain)
    p = Params()
    months = f"((month >= {p(plan.previous.start)} AND month < {p(plan.previous.end)}) OR (month >= {p(plan.current.start)} AND month < {p(plan.current.end)}))"
    where = [months, f"deadline_date < {p(today)}", *sql.rollup_filters(query.filters, p)]
    text = (
        f"SELECT (month >= {p(plan.current.start)}) AS cur, {group} AS grp, CAST(SUM(hazards) AS BIGINT) AS n "
        f"FROM stats_open_hazard WHERE {' AND '.join(where)} GROUP BY 1, 2"
    )
    for row in await conn.fetch(text, *p.values):
        out[_key(plan, row["grp"], row["cur"])]["hazards_overdue"] = row["n"]
    for row in await _cube_rows(conn, "stats_repeat_offenders", ["people"], query, plan, inspector=True):
        out[_key(plan, row["grp"], row["cur"])]["repeat_offenders"] = row["people"]


async def _cube_rows(
    conn: Connection, table: str, columns: list[str], query: StatsQuery, plan: Plan, *, inspector: bool = False
) -> list[dict[str, Any]]:
    """The rows of a per-period cube (``stats_coverage``, ``stats_repeat_offenders``) that answer a plan: one per group."""
    f, dim = query.filters, plan.dim
    p = Params()
    if dim is Dim.PERIOD:
        grain = plan.grain
        starts = [b.start for b in plan.buckets] + [add_months(b.start, -12) for b in plan.buckets]
    else:
        grain = query.period.grain
        starts = [query.period.start, query.period.year_before().start]
    grouping = sql.cube_grouping(f, dim, inspector=inspector)
    where = [f"grain = {p(str(grain))}", f"period_start IN {in_list(starts, p)}", f"grouping = {p(grouping)}"]
    where += sql.rollup_filters(f, p)
    grp = {
        Dim.PERIOD: "CAST(period_start AS TEXT)",
        Dim.DISTRICT: "district",
        Dim.SECTOR: "sector",
        Dim.DEPARTMENT: "CAST(department_id AS TEXT)",
        Dim.INSPECTOR: "CAST(inspector_id AS TEXT)",
    }.get(dim, "CAST(NULL AS TEXT)")  # type: ignore[arg-type]
    text = (
        f"SELECT (period_start >= {p(plan.current.start)}) AS cur, {grp} AS grp, {', '.join(columns)} "
        f"FROM {table} WHERE {' AND '.join(where)}"
    )
    return await conn.fetch(text, *p.values)


async def _collect_live_base(
    conn: Connection, query: StatsQuery, plan: Plan, today: dt.date, out: Collected
) -> None:
    """逾期未整改 (depends on today) and 重复违章人员 (distinct people), counted from the base tables."""
    dim, f = plan.dim, query.filters
    p = Params()
    group = sql.base_group(HAZARD, dim, plan.grain)
    if group is not None:
        where = [
            sql.UNRECTIFIED_SQL,
            f"h.deadline_date < {p(today)}",
            sql.moment_range(HAZARD, [plan.previous, plan.current], p),
            *sql.base_filters(HAZARD, f, p),
        ]
        text = (
            f"SELECT {sql.current_flag(HAZARD, plan.current, p)} AS cur, {group} AS grp, count(*) AS n "
            f"FROM {HAZARD.from_sql} WHERE {' AND '.join(where)} GROUP BY 1, 2"
        )
        for row in await conn.fetch(text, *p.values):
            out[_key(plan, row["grp"], row["cur"])]["hazards_overdue"] = row["n"]
    p = Params()
    group = sql.base_group(VIOLATION, dim, plan.grain)
    if group is not None:
        where = [sql.moment_range(VIOLATION, [plan.previous, plan.current], p), *sql.base_filters(VIOLATION, f, p)]
        text = (
            "SELECT cur, grp, count(*) AS n FROM ("
            f"SELECT {sql.current_flag(VIOLATION, plan.current, p)} AS cur, {group} AS grp, v.id_number_hash "
            f"FROM {VIOLATION.from_sql} WHERE {' AND '.join(where)} GROUP BY 1, 2, 3 HAVING count(*) >= 2"
            ") people GROUP BY 1, 2"
        )
        for row in await conn.fetch(text, *p.values):
            out[_key(plan, row["grp"], row["cur"])]["repeat_offenders"] = row["n"]


async def _collect_coverage(
    conn: Connection, query: StatsQuery, plan: Plan, backend: Backend, out: Collected
) -> None:
    f, dim = query.filters, plan.dim
    if backend == "base":
        p = Params()
        group = sql.base_group(INSPECTION, dim, plan.grain)
        where = [INSPECTION.where, sql.moment_range(INSPECTION, [plan.previous, plan.current], p), *sql.base_filters(INSPECTION, f, p)]
        text = (
            f"SELECT {sql.current_flag(INSPECTION, plan.current, p)} AS cur, {group} AS grp, "
            "COUNT(DISTINCT i.enterprise) AS n, "
            "COUNT(DISTINCT CASE WHEN e.operating_status <> 'closed' THEN i.enterprise END) AS n_reg "
            f"FROM {INSPECTION.from_sql} WHERE {' AND '.join(where)} GROUP BY 1, 2"
        )
        rows = await conn.fetch(text, *p.values)
        for row in rows:
            values = out[_key(plan, row["grp"], row["cur"])]
            values["enterprises_inspected"] = row["n"]
            values["enterprises_inspected_in_registry"] = row["n_reg"]
        return
    for row in await _cube_rows(conn, "stats_coverage", ["enterprises", "enterprises_in_registry"], query, plan):
        values = out[_key(plan, row["grp"], row["cur"])]
        values["enterprises_inspected"] = row["enterprises"]
        values["enterprises_inspected_in_registry"] = row["enterprises_in_registry"]



#: Where :func:`_collect_live` leaves the registry counts (group → enterprises), read by :func:`values_at`.
REGISTRY_KEY = ("__registry__", True)


def values_at(collected: Collected, group: str | None, current: bool, dim: Dim | None) -> dict[str, int]:
    values = dict(collected.get((group, current), {}))
    registry = collected.get(REGISTRY_KEY)
    if registry is not None:
        values["registry_enterprises"] = registry.get(group if dim in (Dim.DISTRICT, Dim.SECTOR) else None, 0)
    return values
