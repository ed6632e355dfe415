"""Leader statistics: figures from the monthly rollups, kept fresh, with drill-down to the records.

Reading is the only thing this domain does for its callers. Triggers queue
the months a write touched in ``stats_dirty_month`` (see
``server/stats/tables.py``); :func:`refresh`, run every few seconds by the
background refresher (``server/stats/refresher.py``), recounts them. A read
never recounts and never waits for a recount: it answers from the rollups and
says how fresh they are (``freshness``, 数据截至: the oldest write still queued
for a month it reads, or the moment of the read when none is). The rollups are
a cache of the base tables and are never written by anything else. Both
engines run the same SQL text (``server.stats.dialect``). Who sees what:

- leaders and admins: the whole city;
- supervisors: their own department only (the filter is forced, another
  department is refused);
- inspectors: nothing (the controllers' guard).

Every figure is computed twice over in the tests: from the rollups
(``backend="rollup"``, what the API serves) and straight from the base tables
(``backend="base"``, the naive GROUP BY the benchmark compares with), and
both must equal the number of rows :func:`drilldown` returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from schemas import stats as wire
from schemas.enforcement import ActionStatus
from schemas.problems import ErrorCode
from schemas.vocab import (
    LABELS,
    District,
    EnforcementKind,
    HazardLevel,
    HazardStatus,
    InspectionKind,
    InspectionStatus,
    ItemOutcome,
    Role,
    Sector,
    ViolationType,
)
from server import database
from server.accounts.policy import Actor
from server.errors import InvalidInput, PermissionDenied, Unavailable
from server.stats import sql
from server.stats.dialect import Connection, PostgresConnection, SQLiteConnection, in_list
from server.stats.definitions import (
    DIM_LABELS,
    HAZARD,
    HEADLINE,
    INDICATORS,
    INSPECTION,
    MEASURES,
    SOURCES,
    VIOLATION,
    Dim,
    Indicator,
    Kind,
    Source,
    supports,
)
from server.stats.periods import (
    TZ,
    Grain,
    Period,
    Span,
    add_months,
    change_ratio,
    local_today,
    parse_period,
    period_of,
    trend_spans,
)
from server.stats.sql import NONE_GROUP, Filters, Params

Backend = Literal["rollup", "base"]

log = logging.getLogger("fieldcheck.stats")

#: Serialises rollup recounts (arbitrary fixed key, distinct from the audit chain lock).
REFRESH_LOCK_KEY = 0x46435354
MAX_PAGE_SIZE = 500
#: How long the background refresher leaves a month whose recount failed before trying it again.
RETRY_FAILED_AFTER = dt.timedelta(seconds=60)

_ACTION_STATUS_LABELS = {
    ActionStatus.PROPOSED: "待决定",
    ActionStatus.AWAITING_REVIEW: "待法制审核",
    ActionStatus.IN_EFFECT: "已生效",
    ActionStatus.REJECTED: "不予决定",
    ActionStatus.TRANSFERRED: "已移送",
}
_TASK_STATUS_LABELS = {"drawn": "已抽取", "released": "已下达", "done": "已完成", "cancelled": "已取消"}


def _labels(enum_cls: Any) -> dict[str, str]:
    return {str(v): LABELS[v] for v in enum_cls}


#: Drill-down cells shown in Chinese: (source key, column header) → value → label.
_CELL_LABELS: dict[tuple[str, str], dict[str, str]] = {}
for _source in SOURCES.values():
    _CELL_LABELS[(_source.key, "区县")] = _labels(District)
    _CELL_LABELS[(_source.key, "行业")] = _labels(Sector)
_CELL_LABELS[("inspection", "检查类型")] = _labels(InspectionKind)
_CELL_LABELS[("inspection", "状态")] = _labels(InspectionStatus)
_CELL_LABELS[("item", "结果")] = _labels(ItemOutcome)
_CELL_LABELS[("hazard", "隐患等级")] = _labels(HazardLevel)
_CELL_LABELS[("hazard", "状态")] = _labels(HazardStatus)
_CELL_LABELS[("violation", "三违类型")] = _labels(ViolationType)
_CELL_LABELS[("action", "措施类型")] = _labels(EnforcementKind)
_CELL_LABELS[("action", "状态")] = {str(k): v for k, v in _ACTION_STATUS_LABELS.items()}
_CELL_LABELS[("spot_task", "任务状态")] = _TASK_STATUS_LABELS
_CELL_LABELS[("enterprise", "区县")] = _labels(District)
_CELL_LABELS[("enterprise", "行业")] = _labels(Sector)


# ------------------------------------------------------------------ connection


@asynccontextmanager
async def _connection() -> AsyncIterator[Connection]:
    """A connection of its own (pooled on PostgreSQL, a new one on SQLite), outside any unit of work."""
    engine = database.get_engine()
    if not isinstance(engine, PostgresEngine):
        raw = await engine.get_connection()  # type: ignore[attr-defined]
        try:
            yield SQLiteConnection(raw)
        finally:
            await raw.close()
    elif engine.pool is not None:
        async with engine.pool.acquire() as raw:
            yield PostgresConnection(raw)
    else:
        raw = await engine.get_new_connection()
        try:
            yield PostgresConnection(raw)
        finally:
            await raw.close()


# ------------------------------------------------------------------ freshness


#: Failures of one recount that are not about the data: the whole read fails and is retried.
_LOST_CONNECTION = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.InterfaceError, ConnectionError)


async def refresh(conn: Connection | None = None, *, wait: bool = True) -> frozenset[dt.date | None]:
    """Recount the months queued by writes, each in its own savepoint; returns the months that failed.

    A month whose recount fails (a record no month can hold, a bug) is logged and stays queued,
    marked failed, with the time of its oldest write; the other months are recounted and answer
    meanwhile, and a read that needs a failed month is refused (:func:`refuse_failed`; ``None``:
    the full rebuild failed). With ``wait=False`` (the background refresher) a recount already
    running in another process is left to finish its work instead of being waited for.
    """
    if conn is None:
        async with _connection() as own:
            return await refresh(own, wait=wait)
    conn = _wrap(conn)
    # A failed month is retried by a caller who waits (the job, an administrator), else once a minute.
    retry_before = dt.datetime.now(dt.UTC) - (dt.timedelta(0) if wait else RETRY_FAILED_AFTER)
    due = "SELECT EXISTS (SELECT 1 FROM stats_dirty_month WHERE failed_at IS NULL OR failed_at <= $1)"
    if not await conn.fetchval(due, retry_before):
        return frozenset()
    async with conn.transaction():
        if not await _take_recount_lock(conn, wait=wait):
            return frozenset()
        rows = await conn.fetch("DELETE FROM stats_dirty_month RETURNING month, marked_at")
        oldest: dict[dt.date | None, Any] = {}
        for r in rows:
            month = _as_date(r["month"])
            oldest[month] = min(oldest.get(month, r["marked_at"]), r["marked_at"])
        failed = []
        for month in [None] if None in oldest else sorted(oldest, key=lambda m: m or dt.date.min):
            try:
                async with conn.transaction():
                    await (_rebuild(conn) if month is None else _recount_month(conn, month))
            except _LOST_CONNECTION:
                raise
            except Exception:  # this month's fault: the others still answer
                log.exception("statistics recount of %s failed; it stays queued", month or "every month")
                failed.append(month)
        if failed:
            now = dt.datetime.now(dt.UTC)
            marks = [(m, _as_time(oldest.get(m) or min(oldest.values())), now) for m in failed]
            await conn.executemany("INSERT INTO stats_dirty_month (month, marked_at, failed_at) VALUES ($1, $2, $3)", marks)
        return frozenset(failed)


async def _take_recount_lock(conn: Connection, *, wait: bool) -> bool:
    """One recount at a time (on SQLite the write transaction already is that lock)."""
    if not conn.is_postgres:
        return True
    await _recount_settings(conn)
    if wait:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", REFRESH_LOCK_KEY)
        return True
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", REFRESH_LOCK_KEY))


async def retry_failed(conn: Connection | None = None) -> None:
    """Put months whose recount failed back in the queue (after the cause is fixed)."""
    if conn is None:
        async with _connection() as own:
            return await retry_failed(own)
    async with conn.transaction():
        await conn.execute("UPDATE stats_dirty_month SET failed_at = NULL WHERE failed_at IS NOT NULL")


def _wrap(conn: Any) -> Connection:
    """A caller's own connection (a raw asyncpg one from the generator) in the statistics' shape."""
    if isinstance(conn, PostgresConnection | SQLiteConnection):
        return conn
    return PostgresConnection(conn)


def _as_date(value: Any) -> dt.date | None:
    """A month as either engine returns it (SQLite: ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _as_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _needs(month: dt.date | None, plans: Iterable[_Plan]) -> bool:
    return month is None or any(s.start <= month < s.end for p in plans for s in (p.current, p.previous))


def refuse_failed(failed: Iterable[dt.date | None], *plans: _Plan) -> None:
    """Raise 503 ``stats_month_unavailable`` naming each failed month a read of ``plans`` needs."""
    needed = sorted({m for m in failed if _needs(m, plans)}, key=lambda m: m or dt.date.min)
    if needed:
        names = "、".join("全部月份" if m is None else f"{m:%Y-%m}" for m in needed)
        raise Unavailable(
            f"{names} 的统计暂时无法计算（已记录故障，其他月份不受影响），请稍后重试或联系管理员",
            "statistics recount failed for " + ", ".join("every month" if m is None else f"{m:%Y-%m}" for m in needed),
            code=ErrorCode.STATS_MONTH_UNAVAILABLE, field="period",
        )


async def rebuild(conn: Connection | None = None) -> None:
    """Recount every rollup from the base tables (after a bulk load)."""
    if conn is None:
        async with _connection() as own:
            return await rebuild(own)
    conn = _wrap(conn)
    async with conn.transaction():
        await _take_recount_lock(conn, wait=True)
        await conn.execute("DELETE FROM stats_dirty_month")
        await _rebuild(conn)


async def freshness(conn: Connection, plans: Iterable[_Plan]) -> wire.Freshness:
    """数据截至 for a read of ``plans``; refuses a read that needs a month whose recount failed.

    Every write queues its months with the time it began; a write not yet counted began at or
    after the oldest mark still queued for the months read, so everything committed before that
    mark is in the figures. With nothing queued, the figures are as of now.
    """
    plans = list(plans)
    now = dt.datetime.now(dt.UTC)
    rows = await conn.fetch("SELECT month, marked_at, failed_at FROM stats_dirty_month")
    needed = [(_as_date(r["month"]), r) for r in rows if _needs(_as_date(r["month"]), plans)]
    refuse_failed([m for m, r in needed if r["failed_at"] is not None], *plans)
    as_of = min([now, *(_as_time(r["marked_at"]) for _, r in needed)])
    return wire.Freshness(
        as_of=as_of.isoformat(), as_of_label=as_of.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"), pending=bool(needed)
    )


async def _recount_settings(conn: Connection) -> None:
    # A month's recount reads a few thousand checks out of millions: with the default costs the
    # planner scans all item results instead of using their inspection index (measured 3.2 s vs 0.9 s
    # at 5M item results), and JIT compilation costs more than it saves on these short statements.
    await conn.execute("SET LOCAL statement_timeout = 0")
    await conn.execute("SET LOCAL jit = off")
    await conn.execute("SET LOCAL random_page_cost = 1.1")


_MONTHLY_TABLES = (
    "stats_monthly",
    "stats_inspector_monthly",
    "stats_inspector_total_monthly",
    "stats_open_hazard",
    "stats_person_monthly",
    "stats_enterprise_month",
)
#: In order: the inspector totals are summed from the inspector rows, coverage from the enterprise months.
_MONTHLY_BUILDERS = (
    sql.rollup_insert,
    sql.inspector_rollup_insert,
    sql.inspector_total_insert,
    sql.open_hazard_insert,
    sql.person_insert,
    sql.enterprise_month_insert,  # what the coverage below is counted from
)

#: Per-period cubes (distinct counts cannot be summed over months), counted from the monthly tables above.
_PERIOD_TABLES = {"stats_coverage": sql.coverage_insert, "stats_repeat_offenders": sql.repeat_insert}


async def _rebuild(conn: Connection) -> None:
    for table in (*_MONTHLY_TABLES, *_PERIOD_TABLES):
        await conn.execute(f"DELETE FROM {table}")  # not TRUNCATE: SQLite has none, and it would block readers
    for build in _MONTHLY_BUILDERS:
        await _run(conn, lambda p, b=build: b(None, p))
    for grain in Grain:
        for build in _PERIOD_TABLES.values():
            await _run(conn, lambda p, g=grain, b=build: b(g, None, p))


async def _recount_month(conn: Connection, month: dt.date) -> None:
    people_before = await _people_of(conn, month)
    for table in _MONTHLY_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE month = $1", month)
    for build in _MONTHLY_BUILDERS:
        await _run(conn, lambda p, b=build: b(month, p))
    # The repeat-offender cubes are counted from the month's person rows alone: when the recount left those as
    # they were (checks synced, no 三违 among them) the cubes still hold, and their year's regrouping is skipped.
    unchanged = {"stats_repeat_offenders"} if await _people_of(conn, month) == people_before else set()
    # The month's, quarter's and year's cubes, each from the monthly rows just rewritten (never from the checks).
    for grain in Grain:
        period = period_of(month, grain)
        for table, build in _PERIOD_TABLES.items():
            if table in unchanged:
                continue
            await conn.execute(f"DELETE FROM {table} WHERE grain = $1 AND period_start = $2", str(grain), period.start)
            await _run(conn, lambda p, g=grain, per=period, b=build: b(g, per, p))


async def _people_of(conn: Connection, month: dt.date) -> Counter[tuple[Any, ...]]:
    """A month's ``stats_person_monthly`` rows (a few thousand at city scale), as a multiset to compare."""
    rows = await conn.fetch(
        # Every column cast: no declared type, so SQLite's column converters leave the values as they are stored.
        "SELECT district, sector, CAST(department_id AS TEXT) AS d, CAST(inspector_id AS TEXT) AS i, "
        "CAST(person_key AS TEXT) AS k, CAST(records AS TEXT) AS n FROM stats_person_monthly WHERE month = $1",
        month,
    )
    return Counter(tuple(r.values()) for r in rows)


async def _run(conn: Connection, build: Any) -> None:
    p = Params()
    text = build(p)
    if text is not None:
        await conn.execute(text, *p.values)


# ------------------------------------------------------------------ scope


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
        parsed = parse_period(period) if period else Period(dt.date(local_today().year, 1, 1), Grain.YEAR)
    except ValueError as exc:
        raise InvalidInput("期间格式有误，应为 2025、2025-Q2 或 2025-03", str(exc), field="period") from None
    return StatsQuery(parsed, Filters(district=district, sector=sector, department_id=department_id))


def _scoped(actor: Actor, query: StatsQuery) -> StatsQuery:
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


def _scope(query: StatsQuery) -> wire.Scope:
    before = query.period.year_before()
    today = query.today or local_today()
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


# ------------------------------------------------------------------ collecting numbers

#: (group key, is current) → measure or live key → value
Collected = dict[tuple[str | None, bool], dict[str, int]]


@dataclass(frozen=True)
class _Plan:
    """What to count: the current and 同比 spans, the split, and for a trend its buckets."""

    current: Period | Span
    previous: Period | Span
    dim: Dim | None
    grain: Grain
    buckets: tuple[Period, ...] = ()


def _plan(query: StatsQuery, dim: Dim | None, trend_grain: Grain | None = None) -> _Plan:
    if dim is Dim.PERIOD:
        # A trend always shows the whole year of the period (or the five years up to it).
        grain = trend_grain or Grain.MONTH
        current, earlier, buckets = trend_spans(Period(dt.date(query.period.start.year, 1, 1), Grain.YEAR), grain)
        return _Plan(current, earlier, dim, grain, tuple(buckets))
    return _Plan(query.period, query.period.year_before(), dim, query.period.grain)


def _key(plan: _Plan, grp: Any, cur: bool) -> tuple[str | None, bool]:
    if plan.dim is Dim.PERIOD:
        return (str(grp) if grp is not None else None, True)  # buckets are distinct in time
    return (None if grp is None else str(grp), bool(cur))


async def _collect(
    conn: Connection, query: StatsQuery, plan: _Plan, backend: Backend, registry: RegistryCells | None = None
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
    conn: Connection, query: StatsQuery, plan: _Plan, backend: Backend, out: Collected, registry: RegistryCells | None
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
    out[_REGISTRY] = dict(counts)
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
    conn: Connection, query: StatsQuery, plan: _Plan, today: dt.date, out: Collected
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
    conn: Connection, table: str, columns: list[str], query: StatsQuery, plan: _Plan, *, inspector: bool = False
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
    conn: Connection, query: StatsQuery, plan: _Plan, today: dt.date, out: Collected
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
    conn: Connection, query: StatsQuery, plan: _Plan, backend: Backend, out: Collected
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


# ------------------------------------------------------------------ figures

#: Where :func:`_collect_live` leaves the registry counts (group → enterprises), read by :func:`_values`.
_REGISTRY = ("__registry__", True)


def _values(collected: Collected, group: str | None, current: bool, dim: Dim | None) -> dict[str, int]:
    values = dict(collected.get((group, current), {}))
    registry = collected.get(_REGISTRY)
    if registry is not None:
        values["registry_enterprises"] = registry.get(group if dim in (Dim.DISTRICT, Dim.SECTOR) else None, 0)
    return values


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


# ------------------------------------------------------------------ views


def list_indicators() -> list[wire.IndicatorDefinition]:
    return [
        wire.IndicatorDefinition(
            key=i.key, name=i.name, unit=i.unit, definition=i.definition, group=i.group, kind=str(i.kind),
            dims=sorted(str(d) for d in i.dims), better=i.better,
        )
        for i in INDICATORS.values()
    ]


async def _fresh(conn: Connection, backend: Backend, plans: Iterable[_Plan]) -> wire.Freshness:
    """The rollups' freshness; the base tables are always as of the read."""
    if backend == "rollup":
        return await freshness(conn, plans)
    now = dt.datetime.now(dt.UTC)
    return wire.Freshness(as_of=now.isoformat(), as_of_label=now.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"))


async def summary(actor: Actor, query: StatsQuery, *, backend: Backend = "rollup") -> wire.Summary:
    query = _scoped(actor, query)
    async with _connection() as conn, conn.transaction(write=False):
        fresh = await _fresh(conn, backend, [_plan(query, None)])
        return await _summary(conn, query, backend, fresh)


async def _summary(
    conn: Connection, query: StatsQuery, backend: Backend, fresh: wire.Freshness | None, registry: RegistryCells | None = None
) -> wire.Summary:
    collected = await _collect(conn, query, _plan(query, None), backend, registry)
    return wire.Summary(
        scope=_scope(query),
        figures=_figures(_values(collected, None, True, None), _values(collected, None, False, None), None),
        generated_at=dt.datetime.now(dt.UTC).isoformat(),
        freshness=fresh,
    )


async def breakdown(
    actor: Actor, query: StatsQuery, by: Dim, *, grain: Grain | None = None, backend: Backend = "rollup"
) -> wire.Breakdown:
    query = _scoped(actor, query)
    async with _connection() as conn, conn.transaction(write=False):
        fresh = await _fresh(conn, backend, [_plan(query, by, grain)])
        return await _breakdown(conn, query, by, grain, backend, fresh)


async def _breakdown(
    conn: Connection,
    query: StatsQuery,
    by: Dim,
    grain: Grain | None,
    backend: Backend,
    fresh: wire.Freshness | None,
    registry: RegistryCells | None = None,
) -> wire.Breakdown:
    plan = _plan(query, by, grain)
    collected = await _collect(conn, query, plan, backend, registry)
    rows: list[wire.BreakdownRow] = []
    today = query.today or local_today()
    if by is Dim.PERIOD:
        for bucket in plan.buckets:
            here = _values(collected, bucket.start.isoformat(), True, by)
            before = _values(collected, add_months(bucket.start, -12).isoformat(), True, by)
            rows.append(wire.BreakdownRow(
                group=bucket.key, label=bucket.label, figures=_figures(here, before, by), partial=bucket.contains(today)
            ))
    else:
        seen = {k[0] for k in collected if k[0] is not None and k != _REGISTRY}
        groups = await _groups(conn, query, by, seen, collected)
        for group, label in groups:
            rows.append(
                wire.BreakdownRow(
                    group=group if group is not None else NONE_GROUP,
                    label=label,
                    figures=_figures(_values(collected, group, True, by), _values(collected, group, False, by), by),
                )
            )
    return wire.Breakdown(scope=_scope(query), by=str(by), by_label=DIM_LABELS[by], rows=rows, freshness=fresh)


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
    p = Params()
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
    query = _scoped(actor, query)
    async with _connection() as conn:
        # Read first: every view below reads rollups at least this fresh.
        fresh = await _fresh(conn, backend, [_plan(query, None), _plan(query, Dim.PERIOD, trend_grain)])
        registry = await registry_cells(conn)

    async def view(dim: Dim | None, grain: Grain | None = None) -> Any:
        # Each view on its own pooled connection, so PostgreSQL runs them side by side.
        async with _connection() as conn:
            if dim is None:
                return await _summary(conn, query, backend, fresh, registry)
            return await _breakdown(conn, query, dim, grain, backend, fresh, registry)

    summary_view, trend, *splits = await asyncio.gather(
        view(None), view(Dim.PERIOD, trend_grain), view(Dim.DISTRICT), view(Dim.SECTOR), view(Dim.DEPARTMENT), view(Dim.INSPECTOR)
    )
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


# ------------------------------------------------------------------ drill-down


@dataclass(frozen=True)
class _Drill:
    """A drill-down as SQL: the listing query (ordered), its count, and how rows read."""

    source_key: str
    columns: list[str]
    select: str
    from_where: str
    order: str
    params: list[Any]
    counted: str | None = None  # SQL boolean: the row is in the numerator
    person: str | None = None  # SQL expression naming the person (repeat offenders)
    link: str = "NULL"  # SQL: the row's record page in the console


def _select(columns: Iterable[str]) -> str:
    """Drill-down cells as text, each named (two unnamed columns would collide in a row mapping)."""
    return ", ".join(f"CAST(({expr}) AS TEXT) AS c{n}" for n, expr in enumerate(columns))


def _drill_period(query: StatsQuery, by: Dim | None, group: str | None) -> Period:
    if by is Dim.PERIOD and group:
        try:
            return parse_period(group)
        except ValueError as exc:
            raise InvalidInput("分组期间格式有误", str(exc), field="group") from None
    return query.period


def _drill_plan(query: StatsQuery, indicator: Indicator, by: Dim | None, group: str | None) -> _Drill:
    if not supports(indicator, by):
        raise InvalidInput(f"指标“{indicator.name}”不按{DIM_LABELS[by]}统计", "indicator not split by this dimension")  # type: ignore[index]
    period = _drill_period(query, by, group)
    if indicator.key in ("coverage_rate", "enterprises_inspected", "registry_enterprises"):
        return _enterprise_drill(query, period, indicator, by, group)
    if indicator.kind is Kind.RATIO:
        numerator, denominator = MEASURES.get(indicator.numerator or ""), MEASURES.get(indicator.denominator or "")
        assert numerator is not None and denominator is not None
        if numerator.source is denominator.source:
            return _record_drill(query, period, denominator.source, denominator.condition, by, group, counted=numerator.condition)
        # 每千家次: the records of the numerator (the checks are its own figure).
        return _record_drill(query, period, numerator.source, numerator.condition, by, group)
    if indicator.key == "hazards_overdue":
        today = query.today or local_today()
        return _record_drill(
            query, period, HAZARD, sql.UNRECTIFIED_SQL + " AND h.deadline_date < {today}", by, group, today=today
        )
    if indicator.key == "repeat_offenders":
        return _repeat_drill(query, period, by, group)
    measure = MEASURES[indicator.measure or indicator.key]
    return _record_drill(query, period, measure.source, measure.condition, by, group)


def _group_condition(source: Source, by: Dim | None, group: str | None, p: Params) -> list[str]:
    if by is None or group is None or by is Dim.PERIOD:
        return []
    expr = {
        Dim.DISTRICT: "e.district",
        Dim.SECTOR: "e.sector",
        Dim.DEPARTMENT: source.department,
        Dim.INSPECTOR: source.inspector,
    }[by]
    if expr is None:
        raise InvalidInput("该指标不按检查人员统计", "no inspector attribution")
    if group == NONE_GROUP:
        return [f"{expr} IS NULL"]
    if by in (Dim.DEPARTMENT, Dim.INSPECTOR):
        try:
            return [f"{expr} = {p(uuid.UUID(group))}"]
        except ValueError:
            raise InvalidInput("分组编号格式有误", "group is not a UUID", field="group") from None
    return [f"{expr} = {p(group)}"]


def _record_drill(
    query: StatsQuery,
    period: Period,
    source: Source,
    condition: str,
    by: Dim | None,
    group: str | None,
    *,
    counted: str | None = None,
    today: dt.date | None = None,
) -> _Drill:
    p = Params()
    if today is not None:
        condition = condition.format(today=p(today))
    where = [source.where, condition, sql.moment_range(source, [period], p), *sql.base_filters(source, query.filters, p)]
    where += _group_condition(source, by, group, p)
    return _Drill(
        source_key=source.key,
        columns=[c for c, _ in source.columns],
        select=_select(expr for _, expr in source.columns),
        from_where=f"FROM {sql.from_clause(source, by)} WHERE {' AND '.join(where)}",
        order=f"{source.moment}, {source.id_column}",
        params=p.values,
        counted=counted,
        link=source.link,
    )


def _repeat_drill(query: StatsQuery, period: Period, by: Dim | None, group: str | None) -> _Drill:
    p = Params()
    where = [sql.moment_range(VIOLATION, [period], p), *sql.base_filters(VIOLATION, query.filters, p)]
    where += _group_condition(VIOLATION, by, group, p)
    scope = " AND ".join(where)
    # The same scope twice: once to find the people with two or more records, once to list those records.
    people = f"SELECT v.id_number_hash FROM {VIOLATION.from_sql} WHERE {scope} GROUP BY 1 HAVING count(*) >= 2"
    return _Drill(
        source_key=VIOLATION.key,
        columns=["人员序号", *[c for c, _ in VIOLATION.columns]],
        select=_select(["dense_rank() OVER (ORDER BY v.id_number_hash)", *(expr for _, expr in VIOLATION.columns)]),
        from_where=f"FROM {VIOLATION.from_sql} WHERE {scope} AND v.id_number_hash IN ({people})",
        order="v.id_number_hash, v.recorded_at, v.id",
        params=p.values,
        person="v.id_number_hash",
        link=VIOLATION.link,
    )


def _enterprise_drill(query: StatsQuery, period: Period, indicator: Indicator, by: Dim | None, group: str | None) -> _Drill:
    p = Params()
    f = query.filters
    checks_where = [INSPECTION.where, sql.moment_range(INSPECTION, [period], p)]
    department = f.department_id
    if by is Dim.DEPARTMENT and group is not None:
        checks_where += _group_condition(INSPECTION, by, group, p)
    if department:
        checks_where.append(f"i.department = {p(department)}")
    checks = (
        "LEFT JOIN (SELECT i.enterprise AS enterprise, count(*) AS n FROM inspection i "
        f"WHERE {' AND '.join(checks_where)} GROUP BY i.enterprise) checks ON checks.enterprise = e.id"
    )
    n = "COALESCE(checks.n, 0)"
    where = []
    if f.district:
        where.append(f"e.district = {p(f.district)}")
    if f.sector:
        where.append(f"e.sector = {p(f.sector)}")
    if by in (Dim.DISTRICT, Dim.SECTOR) and group is not None:
        where.append(f"e.{by} = {p(group)}")
    if indicator.key == "enterprises_inspected":
        where.append(f"{n} > 0")
    else:
        where.append("e.operating_status <> 'closed'")
    columns = [("企业名称", "e.name"), ("统一社会信用代码", "e.credit_code"), ("区县", "e.district"), ("行业", "e.sector"),
               ("期内检查次数", n)]
    return _Drill(
        source_key="enterprise",
        columns=[c for c, _ in columns],
        select=_select(expr for _, expr in columns),
        from_where=f"FROM enterprise e {checks} WHERE {' AND '.join(where)}",
        order=f"{n} DESC, e.name, e.id",
        params=p.values,
        counted=f"{n} > 0" if indicator.key == "coverage_rate" else None,
        link="'/console/enterprises/' || CAST(e.id AS TEXT)",
    )


def _translate(source_key: str, columns: list[str], row: Iterable[Any]) -> list[str]:
    out = []
    for header, cell in zip(columns, row, strict=True):
        text = "" if cell is None else str(cell)
        labels = _CELL_LABELS.get((source_key, header))
        out.append(labels.get(text, text) if labels else text)
    return out


def _indicator(key: str) -> Indicator:
    indicator = INDICATORS.get(key)
    if indicator is None:
        raise InvalidInput(f"没有这个指标：{key}", f"unknown indicator {key}", field="indicator")
    return indicator


async def drilldown(
    actor: Actor,
    query: StatsQuery,
    indicator_key: str,
    *,
    by: Dim | None = None,
    group: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> wire.DrillDown:
    """One page of the records behind a figure (every row is counted in it; see ``counted`` for ratios)."""
    query = _scoped(actor, query)
    indicator = _indicator(indicator_key)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    plan = _drill_plan(query, indicator, by, group)
    counted_col = f", ({plan.counted}) AS counted__" if plan.counted else ""
    n = len(plan.params)
    listing = (
        f"SELECT {plan.select}{counted_col}, {plan.link} AS link__ {plan.from_where} ORDER BY {plan.order} "
        f"LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    async with _connection() as conn, conn.transaction(write=False):
        fresh = await _fresh(conn, "base", [])
        total = await conn.fetchval(f"SELECT count(*) {plan.from_where}", *plan.params)
        rows = await conn.fetch(listing, *plan.params, page_size, (page - 1) * page_size)
        people = None
        if plan.person:
            people = await conn.fetchval(f"SELECT count(DISTINCT {plan.person}) {plan.from_where}", *plan.params)
    width = len(plan.columns)
    return wire.DrillDown(
        indicator=indicator.key,
        title=_drill_title(indicator, query, by, group),
        scope=_scope(query),
        by=str(by) if by else None,
        group=group,
        columns=plan.columns,
        rows=[_translate(plan.source_key, plan.columns, list(r.values())[:width]) for r in rows],
        counted=[bool(r["counted__"]) for r in rows] if plan.counted else None,
        distinct_people=people,
        total=total,
        page=page,
        page_size=page_size,
        links=[r["link__"] for r in rows],
        freshness=fresh,
    )


async def iter_drilldown(
    actor: Actor, query: StatsQuery, indicator_key: str, *, by: Dim | None = None, group: str | None = None
) -> tuple[str, list[str], AsyncIterator[list[str]]]:
    """Every record behind a figure, read with a server-side cursor (constant memory): title, headers, rows."""
    query = _scoped(actor, query)
    indicator = _indicator(indicator_key)
    plan = _drill_plan(query, indicator, by, group)
    columns = plan.columns + (["计入分子"] if plan.counted else [])
    counted_col = f", ({plan.counted}) AS counted__" if plan.counted else ""
    text = f"SELECT {plan.select}{counted_col} {plan.from_where} ORDER BY {plan.order}"
    width = len(plan.columns)

    async def rows() -> AsyncIterator[list[str]]:
        async with _connection() as conn, conn.transaction(write=False):
            async for values in conn.rows(text, *plan.params):
                out = _translate(plan.source_key, plan.columns, values[:width])
                if plan.counted:
                    out.append("是" if values[width] else "否")
                yield out

    return _drill_title(indicator, query, by, group), columns, rows()


def _drill_title(indicator: Indicator, query: StatsQuery, by: Dim | None, group: str | None) -> str:
    """发现隐患数（2025年，中宁县）: the figure, its period and the place or sector it was split by."""
    parts = [_drill_period(query, by, group).label]
    place = {**{str(d): LABELS[d] for d in District}, **{str(s): LABELS[s] for s in Sector}}
    if by in (Dim.DISTRICT, Dim.SECTOR) and group in place:
        parts.append(place[group])
    return f"{indicator.name}（{'，'.join(parts)}）"


def figure_rows(view: wire.Summary | wire.Breakdown) -> tuple[list[str], list[list[str]]]:
    """A summary or breakdown as a table for export: one row per indicator (or group × indicator)."""
    headers = ["指标", "单位", "本期", "上年同期", "同比"]
    if isinstance(view, wire.Summary):
        return headers + ["指标口径"], [_figure_cells(f) + [INDICATORS[f.key].definition] for f in view.figures]
    out = []
    for row in view.rows:
        for f in row.figures:
            if f.value is None and f.previous is None and not supports(INDICATORS[f.key], Dim(view.by)):
                continue
            out.append([row.label, *_figure_cells(f)])
    return [view.by_label, *headers], out


def _figure_cells(f: wire.Figure) -> list[str]:
    indicator = INDICATORS[f.key]

    def show(v: float | None) -> str:
        if v is None:
            return ""
        return f"{v:.2f}" if indicator.kind is Kind.RATIO else f"{v:g}" if isinstance(v, float) else str(v)

    change = "" if f.change is None else f"{f.change * 100:+.1f}%"
    return [indicator.name, indicator.unit, show(f.value), show(f.previous), change]

