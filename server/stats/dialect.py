"""The two SQL dialects the statistics speak, and one connection shape over both engines.

Every statistics query is written once (``definitions``, ``sql``, ``collection``, ``drilldown``)
in the SQL that PostgreSQL and SQLite share, plus a handful of macros for what
they spell differently:

==================  ==============================================  ==========================================
macro               PostgreSQL                                      SQLite
==================  ==============================================  ==========================================
``@month(ts)``      month of a timestamp in the bureau's zone      ``date(ts, '+8 hours', 'start of month')``
``@day(ts)``        local date of a timestamp                      ``date(ts, '+8 hours')``
``@minute(ts)``     ``YYYY-MM-DD HH:MI`` in the bureau's zone       ``strftime(...)``
``@trunc_G(d)``     first day of the month/quarter/year of a date  the same with date modifiers
``@team(id)``       the inspection team's names, ordered, 、-joined  ``group_concat`` over an ordered subquery
``@person_key(h)``  a 64-bit hash of the keyed ID hash              the keyed ID hash itself
==================  ==============================================  ==========================================

Placeholders are written ``$n`` (asyncpg); SQLite reads them as ``?n``.
SQLite stores a timestamp as UTC text (``2025-03-10 02:00:00+00:00``), which
its date functions read; the bureau's zone is turned into a fixed offset,
which is exact for a zone without daylight saving (checked when a connection is made).
Every rendering is for one zone (``FIELDCHECK_TIMEZONE``), which the connection carries.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from server import database, localtime


def offset_hours(zone: str) -> int:
    """The whole-hour offset of ``zone`` from UTC; ``RuntimeError`` for a zone with daylight saving or half hours."""
    winter = localtime.at(dt.date(2025, 1, 15), dt.time(), zone).utcoffset()
    summer = localtime.at(dt.date(2025, 7, 15), dt.time(), zone).utcoffset()
    if winter != summer or winter is None or winter.total_seconds() % 3600:
        raise RuntimeError(f"statistics on SQLite need a whole-hour zone without daylight saving, not {zone}")
    return int(winter.total_seconds() // 3600)


_TEAM_FROM = 'FROM inspection_inspector t JOIN app_user u ON u.id = t."user" WHERE t.inspection = {0}'


def _pg(zone: str) -> dict[str, Any]:
    """PostgreSQL's spellings of the macros, cutting days and months in ``zone``."""
    return {
        "month": lambda x: f"date_trunc('month', ({x}) AT TIME ZONE '{zone}')::date",
        "day": lambda x: f"(({x}) AT TIME ZONE '{zone}')::date",
        "minute": lambda x: f"to_char(({x}) AT TIME ZONE '{zone}', 'YYYY-MM-DD HH24:MI')",
        "trunc_month": lambda x: f"date_trunc('month', {x})::date",
        "trunc_quarter": lambda x: f"date_trunc('quarter', {x})::date",
        "trunc_year": lambda x: f"date_trunc('year', {x})::date",
        "team": lambda x: f"(SELECT string_agg(u.display_name, '、' ORDER BY u.display_name) {_TEAM_FROM.format(x)})",
        "person_key": lambda x: f"hashtextextended({x}, 0)",
    }


def _sqlite(zone: str) -> dict[str, Any]:
    """SQLite's spellings of the macros, cutting days and months at the fixed offset of ``zone``."""
    shift = f"'{offset_hours(zone):+d} hours'"
    return {
        "month": lambda x: f"date({x}, {shift}, 'start of month')",
        "day": lambda x: f"date({x}, {shift})",
        "minute": lambda x: f"strftime('%Y-%m-%d %H:%M', {x}, {shift})",
        "trunc_month": lambda x: f"date({x}, 'start of month')",
        "trunc_quarter": lambda x: (
            f"date({x}, 'start of month', '-' || ((CAST(strftime('%m', {x}) AS INTEGER) - 1) % 3) || ' months')"
        ),
        "trunc_year": lambda x: f"date({x}, 'start of year')",
        "team": lambda x: f"(SELECT group_concat(n, '、') FROM (SELECT u.display_name AS n {_TEAM_FROM.format(x)} ORDER BY n))",
        # SQLite compares the text as fast as a number; the column's declared type does not bind it.
        "person_key": lambda x: f"({x})",
    }


_MACRO = re.compile(r"@([a-z_]+)\(")


def _arguments(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opened just before ``start``, and the index after its close."""
    depth, i, quoted = 1, start, False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
        i += 1
    raise ValueError(f"unbalanced macro in {text!r}")


def expand(text: str, macros: dict[str, Any]) -> str:
    out, pos = [], 0
    while (match := _MACRO.search(text, pos)) is not None:
        inner, after = _arguments(text, match.end())
        out.append(text[pos : match.start()])
        out.append(macros[match.group(1)](expand(inner, macros)))
        pos = after
    out.append(text[pos:])
    return "".join(out)


@functools.cache
def _macros(engine: str, zone: str) -> dict[str, Any]:
    return _pg(zone) if engine == "postgres" else _sqlite(zone)


@functools.lru_cache(maxsize=4096)
def render_postgres(text: str, zone: str) -> str:
    """``text`` in PostgreSQL's SQL, days and months cut in ``zone``."""
    return expand(text, _macros("postgres", zone))


_PLACEHOLDER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=4096)
def render_sqlite(text: str, zone: str) -> str:
    """``text`` in SQLite's SQL (``?n`` placeholders), days and months cut at ``zone``'s offset."""
    return _PLACEHOLDER.sub(r"?\1", expand(text, _macros("sqlite", zone)))


def in_list(values: Iterable[Any], p: Any) -> str:
    """``(v1, v2, …)`` as placeholders (both engines; an empty list matches nothing)."""
    marks = [p(v) for v in values]
    return "(" + ", ".join(marks) + ")" if marks else "(NULL)"


# ------------------------------------------------------------------ connections


class PostgresConnection:
    """An asyncpg connection that renders the macros, cutting days and months in ``zone``."""

    is_postgres = True

    def __init__(self, raw: Any, zone: str) -> None:
        self.raw = raw
        self.zone = zone

    async def fetch(self, text: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.raw.fetch(render_postgres(text, self.zone), *args)]

    async def fetchval(self, text: str, *args: Any) -> Any:
        return await self.raw.fetchval(render_postgres(text, self.zone), *args)

    async def execute(self, text: str, *args: Any) -> None:
        await self.raw.execute(render_postgres(text, self.zone), *args)

    async def executemany(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        await self.raw.executemany(render_postgres(text, self.zone), rows)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[None]:
        # A reader sees one snapshot across its statements (the figures and their 数据截至 agree).
        tx = self.raw.transaction() if write else self.raw.transaction(isolation="repeatable_read", readonly=True)
        async with tx:
            yield

    async def rows(self, text: str, *args: Any) -> AsyncIterator[list[Any]]:
        """Every row, read with a server-side cursor (inside a transaction)."""
        async for record in self.raw.cursor(render_postgres(text, self.zone), *args, prefetch=500):
            yield list(record.values())


class SQLiteConnection:
    """An aiosqlite connection with the same methods; nested transactions are savepoints."""

    is_postgres = False

    def __init__(self, raw: Any, zone: str) -> None:
        offset_hours(zone)  # refused here, before any figure is counted in a zone SQLite cannot follow
        self.raw = raw
        self.zone = zone
        self._depth = 0

    async def fetch(self, text: str, *args: Any) -> list[dict[str, Any]]:
        async with self.raw.execute(render_sqlite(text, self.zone), args) as cursor:
            return [dict(r) for r in await cursor.fetchall()]

    async def fetchval(self, text: str, *args: Any) -> Any:
        async with self.raw.execute(render_sqlite(text, self.zone), args) as cursor:
            row = await cursor.fetchone()
        return None if row is None else next(iter(row.values()))

    async def execute(self, text: str, *args: Any) -> None:
        await self.raw.execute(render_sqlite(text, self.zone), args)

    async def executemany(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        await self.raw.executemany(render_sqlite(text, self.zone), rows)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[None]:
        self._depth += 1
        name = f"fc_stats_{self._depth}"
        outer = self._depth == 1
        # A writer takes the write lock at once (no upgrade deadlock); a reader gets one snapshot.
        await self.raw.execute(("BEGIN IMMEDIATE" if write else "BEGIN") if outer else f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.raw.execute("ROLLBACK" if outer else f"ROLLBACK TO {name}")
            if not outer:
                await self.raw.execute(f"RELEASE {name}")
            raise
        else:
            await self.raw.execute("COMMIT" if outer else f"RELEASE {name}")
        finally:
            self._depth -= 1

    async def rows(self, text: str, *args: Any) -> AsyncIterator[list[Any]]:
        async with self.raw.execute(render_sqlite(text, self.zone), args) as cursor:
            while batch := await cursor.fetchmany(500):
                for row in batch:
                    yield list(row.values())


Connection = PostgresConnection | SQLiteConnection


@asynccontextmanager
async def connect() -> AsyncIterator[Connection]:
    """A connection of its own (pooled on PostgreSQL, a new one on SQLite), outside any unit of work."""
    engine = database.get_engine()
    if not isinstance(engine, PostgresEngine):
        raw = await engine.get_connection()  # type: ignore[attr-defined]
        try:
            yield SQLiteConnection(raw, database.timezone())
        finally:
            await raw.close()
    elif engine.pool is not None:
        async with engine.pool.acquire() as raw:
            yield PostgresConnection(raw, database.timezone())
    else:
        raw = await engine.get_new_connection()
        try:
            yield PostgresConnection(raw, database.timezone())
        finally:
            await raw.close()


def wrap(conn: Any) -> Connection:
    """A caller's own connection (a raw asyncpg one from the generator) in the statistics' shape."""
    if isinstance(conn, PostgresConnection | SQLiteConnection):
        return conn
    return PostgresConnection(conn, database.timezone())

