"""Collecting the numbers a view needs: measures from the rollups or the base tables, and the live parts.

Both backends answer the same shape (:data:`Collected`): ``backend="rollup"``
reads the monthly rollups and per-period cubes (what the API serves),
``backend="base"`` counts straight from the base tables (the naive GROUP BY the
tests and benchmarks compare with). Both engines run the same SQL text
(``server.stats.dialect``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from server import database
from server.stats import cache, sql
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
    conn: Connection,
    query: StatsQuery,
    plan: Plan,
    backend: Backend,
    registry: RegistryCells | asyncio.Future[RegistryCells] | None = None,
    *,
    generation: Generation | None = None,
) -> Collected:
    """The measures and live parts of ``plan``; the registry is taken live.

    From the rollups, with their ``generation`` (read after the read's freshness), the counts are kept in
    this process: a later read recounts from the rollups only the months recounted since (:func:`_count_rollup`).
    """
    today = query.today or local_today(database.timezone())
    if backend == "rollup":
        out = await _count_rollup(conn, query, plan, today, generation)
    else:
        out = await _count_base(conn, query, plan, today)
    if plan.dim is not Dim.INSPECTOR:
        if registry is None:
            registry = await registry_cells(conn)
        elif isinstance(registry, asyncio.Future):
            registry = await registry
        _add_registry(query, plan, out, registry)
    return out


async def _count_base(conn: Connection, query: StatsQuery, plan: Plan, today: dt.date) -> Collected:
    out: Collected = defaultdict(dict)
    for source in SOURCES.values():
        p = Params(database.timezone())
        text = sql.base_aggregate(source, plan.current, plan.previous, query.filters, plan.dim, plan.grain, p)
        if text is None:
            continue
        for row in await conn.fetch(text, *p.values):
            values = out[_key(plan, row["grp"], row["cur"])]
            for m in sql.measures_of(source):
                values[m.key] = values.get(m.key, 0) + (row[m.key] or 0)
    await _collect_live_base(conn, query, plan, today, out)
    if plan.dim is not Dim.INSPECTOR:
        await _collect_coverage_base(conn, query, plan, out)
    return out


# ------------------------------------------------------------------ from the rollups, kept between recounts

#: The rollups' generation as a read sees it (``server.stats.rollup.generation``): month (ISO date) → the
#: token of its last recount; ``None`` → the token of the last full rebuild.
Generation = dict[str | None, str]

#: Months, up to the current one, whose own sums an entry keeps so that their recount is folded in.
RECENT_MONTHS = 3


@dataclass(frozen=True)
class _Kept:
    """A plan's counts from the rollups as of ``tokens``: each month's sums, their total, the per-period cubes."""

    tokens: dict[str, tuple[str, str]]
    months: dict[str, Collected]
    sums: Collected
    present: Counter[tuple[str | None, bool]]  # group key → how many months have rows for it
    cubes: Collected

    def collected(self) -> Collected:
        out: Collected = defaultdict(dict, {k: dict(v) for k, v in self.sums.items()})
        for key, values in self.cubes.items():
            out[key].update(values)
        return out


def _months_of(plan: Plan) -> list[str]:
    """The months a plan reads (its 同比 span and its own), as ISO dates."""
    out: list[str] = []
    for span in (plan.previous, plan.current):
        month = span.start
        while month < span.end:
            out.append(month.isoformat())
            month = add_months(month, 1)
    return list(dict.fromkeys(out))


async def _count_rollup(
    conn: Connection, query: StatsQuery, plan: Plan, today: dt.date, generation: Generation | None
) -> Collected:
    """Sums per month (monthly rollups, open hazards) and the per-period cubes, kept per scope and plan.

    The entry is the query as the actor may run it (a supervisor's department is in ``query.filters``),
    the day (逾期 depends on it) and the plan; it holds each month's token when counted. A read whose
    tokens all match answers from memory; otherwise only the months whose token changed are counted
    again (under load, the current month), folded into the total in place of their old sums, and the
    cubes (a few rows per group) are read again. Each month's own sums are kept for the last
    :data:`RECENT_MONTHS` only (memory: a year by inspector is thousands of groups × 40 measures per month);
    a recount of an older month counts the plan again. Without a generation nothing is kept.
    """
    months = _months_of(plan)
    entry: tuple[Any, ...] | None = None
    tokens: dict[str, tuple[str, str]] = {}
    if generation is not None:
        entry = ("rollup", query.period, query.filters, today, plan)
        tokens = {m: (generation.get(None, ""), generation.get(m, "")) for m in months}
    kept: _Kept | None = cache.get(entry)
    if kept is not None and kept.tokens == tokens:
        return kept.collected()
    stale = months
    if kept is not None:
        stale = [m for m in months if kept.tokens.get(m) != tokens[m]]
        if any(m not in kept.months for m in stale):  # a settled month recounted (an old hazard closed, say)
            kept, stale = None, months
    counted = await _month_sums(conn, query, plan, today, stale, restrict=kept is not None)
    cubes = await _cubes(conn, query, plan)
    if kept is None:
        sums: Collected = {}
        present: Counter[tuple[str | None, bool]] = Counter()
        by_month: dict[str, Collected] = {}
    else:
        sums = {k: dict(v) for k, v in kept.sums.items()}
        present, by_month = Counter(kept.present), dict(kept.months)
    for month in stale:
        if month in by_month:
            _fold(sums, present, by_month[month], -1)
        by_month[month] = counted[month]
        _fold(sums, present, counted[month], 1)
    # Only the last few months keep their own sums (what phones push into); older ones live in the total alone.
    recent = add_months(today.replace(day=1), 1 - RECENT_MONTHS).isoformat()
    by_month = {m: part for m, part in by_month.items() if m >= recent}
    kept = _Kept(tokens, by_month, sums, present, cubes)
    cache.keep(entry, kept)
    return kept.collected()


def _fold(sums: Collected, present: Counter[tuple[str | None, bool]], part: Collected, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one month's sums; a group no month has rows for any more goes."""
    for key, values in part.items():
        row = sums.setdefault(key, {})
        for measure, n in values.items():
            row[measure] = row.get(measure, 0) + sign * n
        present[key] += sign
        if present[key] <= 0:
            del present[key]
            del sums[key]


async def _month_sums(
    conn: Connection, query: StatsQuery, plan: Plan, today: dt.date, months: list[str], *, restrict: bool
) -> dict[str, Collected]:
    """Each month's sums from the monthly rollups and its overdue open hazards (``restrict``: only ``months``)."""
    out: dict[str, Collected] = {m: {} for m in months}
    only = [dt.date.fromisoformat(m) for m in months] if restrict else None
    p = Params(database.timezone())
    text = sql.rollup_aggregate(plan.current, plan.previous, query.filters, plan.dim, plan.grain, p, months=only)
    for row in await conn.fetch(text, *p.values):
        values = out[str(row["m"])[:10]].setdefault(_key(plan, row["grp"], row["cur"]), {})
        for key in MEASURES:
            values[key] = values.get(key, 0) + (row[key] or 0)
    group = sql.rollup_group(plan.dim, plan.grain)
    p = Params(database.timezone())
    spans = f"((month >= {p(plan.previous.start)} AND month < {p(plan.previous.end)}) OR (month >= {p(plan.current.start)} AND month < {p(plan.current.end)}))"
    where = [spans, f"deadline_date < {p(today)}", *sql.rollup_filters(query.filters, p)]
    if only is not None:
        where.append(f"month IN {in_list(only, p)}")
    text = (
        f"SELECT CAST(month AS TEXT) AS m, (month >= {p(plan.current.start)}) AS cur, {group} AS grp, "
        f"CAST(SUM(hazards) AS BIGINT) AS n FROM stats_open_hazard WHERE {' AND '.join(where)} GROUP BY 1, 2, 3"
    )
    for row in await conn.fetch(text, *p.values):
        values = out[str(row["m"])[:10]].setdefault(_key(plan, row["grp"], row["cur"]), {})
        values["hazards_overdue"] = values.get("hazards_overdue", 0) + (row["n"] or 0)
    return out


async def _cubes(conn: Connection, query: StatsQuery, plan: Plan) -> Collected:
    """重复违章人员数 and coverage: distinct counts, read per period from their cubes (never summed over months)."""
    out: Collected = defaultdict(dict)
    for row in await _cube_rows(conn, "stats_repeat_offenders", ["people"], query, plan, inspector=True):
        out[_key(plan, row["grp"], row["cur"])]["repeat_offenders"] = row["people"]
    if plan.dim is not Dim.INSPECTOR:
        for row in await _cube_rows(conn, "stats_coverage", ["enterprises", "enterprises_in_registry"], query, plan):
            values = out[_key(plan, row["grp"], row["cur"])]
            values["enterprises_inspected"] = row["enterprises"]
            values["enterprises_inspected_in_registry"] = row["enterprises_in_registry"]
    return dict(out)


def _add_registry(query: StatsQuery, plan: Plan, out: Collected, cells: RegistryCells) -> None:
    """在册企业数: the current registry, split only by district or sector."""
    f, dim = query.filters, plan.dim
    counts: dict[str | None, int] = defaultdict(int)
    for (district, sector), n in cells.items():
        if (f.district and district != f.district) or (f.sector and sector != f.sector):
            continue
        counts[{Dim.DISTRICT: district, Dim.SECTOR: sector}.get(dim)] += n  # type: ignore[arg-type]
    out[REGISTRY_KEY] = dict(counts)


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


async def _cube_rows(
    conn: Connection, table: str, columns: list[str], query: StatsQuery, plan: Plan, *, inspector: bool = False
) -> list[dict[str, Any]]:
    """The rows of a per-period cube (``stats_coverage``, ``stats_repeat_offenders``) that answer a plan: one per group."""
    f, dim = query.filters, plan.dim
    p = Params(database.timezone())
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
    p = Params(database.timezone())
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
    p = Params(database.timezone())
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


async def _collect_coverage_base(conn: Connection, query: StatsQuery, plan: Plan, out: Collected) -> None:
    f, dim = query.filters, plan.dim
    p = Params(database.timezone())
    group = sql.base_group(INSPECTION, dim, plan.grain)
    where = [INSPECTION.where, sql.moment_range(INSPECTION, [plan.previous, plan.current], p), *sql.base_filters(INSPECTION, f, p)]
    text = (
        f"SELECT {sql.current_flag(INSPECTION, plan.current, p)} AS cur, {group} AS grp, "
        "COUNT(DISTINCT i.enterprise) AS n, "
        "COUNT(DISTINCT CASE WHEN e.operating_status <> 'closed' THEN i.enterprise END) AS n_reg "
        f"FROM {INSPECTION.from_sql} WHERE {' AND '.join(where)} GROUP BY 1, 2"
    )
    for row in await conn.fetch(text, *p.values):
        values = out[_key(plan, row["grp"], row["cur"])]
        values["enterprises_inspected"] = row["n"]
        values["enterprises_inspected_in_registry"] = row["n_reg"]


#: Where :func:`_add_registry` leaves the registry counts (group → enterprises), read by :func:`values_at`.
REGISTRY_KEY = ("__registry__", True)


def values_at(collected: Collected, group: str | None, current: bool, dim: Dim | None) -> dict[str, int]:
    values = dict(collected.get((group, current), {}))
    registry = collected.get(REGISTRY_KEY)
    if registry is not None:
        values["registry_enterprises"] = registry.get(group if dim in (Dim.DISTRICT, Dim.SECTOR) else None, 0)
    return values
