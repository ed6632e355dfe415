"""The rollups kept fresh: recount the months writes queued, rebuild, retry, and say how fresh they are.

Triggers queue the months a write touched in ``stats_dirty_month`` (see
``server/stats/tables.py``); :func:`refresh`, run every few seconds by the
background refresher (``server/stats/refresher.py``), recounts them. A read
never recounts and never waits for a recount: it answers from the rollups and
says how fresh they are (:func:`freshness`, 数据截至: the oldest write still
queued for a month it reads, or the moment of the read when none is). The
rollups are a cache of the base tables and are never written by anything else.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import asyncpg

from schemas import stats as wire
from schemas.problems import ErrorCode
from server import database, localtime
from server.errors import Unavailable
from server.stats import sql
from server.stats.dialect import Connection, connect, wrap
from server.stats.periods import Grain, period_of
from server.stats.query import Backend, Plan
from server.stats.sql import Params

log = logging.getLogger("fieldcheck.stats")

#: Serialises rollup recounts (arbitrary fixed key, distinct from the audit chain lock).
REFRESH_LOCK_KEY = 0x46435354
#: How long the background refresher leaves a month whose recount failed before trying it again.
RETRY_FAILED_AFTER = dt.timedelta(seconds=60)
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
        async with connect() as own:
            return await refresh(own, wait=wait)
    conn = wrap(conn)
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
        await _new_generation(conn, [m for m in oldest if m not in failed])
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
        async with connect() as own:
            return await retry_failed(own)
    async with conn.transaction():
        await conn.execute("UPDATE stats_dirty_month SET failed_at = NULL WHERE failed_at IS NOT NULL")



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


def _needs(month: dt.date | None, plans: Iterable[Plan]) -> bool:
    return month is None or any(s.start <= month < s.end for p in plans for s in (p.current, p.previous))


def refuse_failed(failed: Iterable[dt.date | None], *plans: Plan) -> None:
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
        async with connect() as own:
            return await rebuild(own)
    conn = wrap(conn)
    async with conn.transaction():
        await _take_recount_lock(conn, wait=True)
        await conn.execute("DELETE FROM stats_dirty_month")
        await _rebuild(conn)
        await _new_generation(conn, [None])


async def _new_generation(conn: Connection, months: Iterable[dt.date | None]) -> None:
    """Months recounted (``None``: everything): new generation tokens, in the recount's own transaction (m0029).

    Random, so no other state of the rollups ever had them (a database emptied or cloned from a template
    included); readers holding counts of those months count them again (``server.stats.collection``).
    """
    token, now = uuid.uuid4().hex, dt.datetime.now(dt.UTC)
    months = set(months)
    if None in months:
        await conn.execute("DELETE FROM stats_generation")
        await conn.execute("INSERT INTO stats_generation (month, token, refreshed_at) VALUES (NULL, $1, $2)", token, now)
        return
    for month in sorted(months):  # type: ignore[type-var]
        await conn.execute("DELETE FROM stats_generation WHERE month = $1", month)
        await conn.execute("INSERT INTO stats_generation (month, token, refreshed_at) VALUES ($1, $2, $3)", month, token, now)


async def freshness(conn: Connection, plans: Iterable[Plan]) -> wire.Freshness:
    """数据截至 for a read of ``plans``; refuses a read that needs a month whose recount failed.

    Every write queues its months with the time it began; a write not yet counted began at or
    after the oldest mark still queued for the months read, so everything committed before that
    mark is in the figures. With nothing queued, the figures are as of now.
    """
    fresh, _ = await freshness_and_generation(conn, plans)
    return fresh


async def freshness_and_generation(conn: Connection, plans: Iterable[Plan]) -> tuple[wire.Freshness, dict[str | None, str]]:
    """:func:`freshness` and the rollups' generation (month, ISO date → token of its last recount; ``None`` → of
    the last full rebuild), read by one statement: counts read after it are at least as fresh as it says."""
    plans = list(plans)
    now = dt.datetime.now(dt.UTC)
    rows = await conn.fetch(
        "SELECT 0 AS g, month, marked_at, failed_at, NULL AS token FROM stats_dirty_month "
        "UNION ALL SELECT 1, month, NULL, NULL, token FROM stats_generation"
    )
    generation = {(None if r["month"] is None else str(r["month"])[:10]): r["token"] for r in rows if r["g"]}
    needed = [(_as_date(r["month"]), r) for r in rows if not r["g"] and _needs(_as_date(r["month"]), plans)]
    refuse_failed([m for m, r in needed if r["failed_at"] is not None], *plans)
    as_of = min([now, *(_as_time(r["marked_at"]) for _, r in needed)])
    fresh = wire.Freshness(
        as_of=as_of.isoformat(), as_of_label=as_of.astimezone(localtime.zone(conn.zone)).strftime("%Y-%m-%d %H:%M:%S"), pending=bool(needed)
    )
    return fresh, generation


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
    p = Params(database.timezone())
    text = build(p)
    if text is not None:
        await conn.execute(text, *p.values)



async def read_freshness(conn: Connection, backend: Backend, plans: Iterable[Plan]) -> wire.Freshness:
    """The rollups' freshness; the base tables are always as of the read."""
    if backend == "rollup":
        return await freshness(conn, plans)
    now = dt.datetime.now(dt.UTC)
    return wire.Freshness(as_of=now.isoformat(), as_of_label=now.astimezone(localtime.zone(conn.zone)).strftime("%Y-%m-%d %H:%M:%S"))
