"""Raw SQL on the current transaction's connection, for the few bulk paths an ORM makes slow.

Each call takes the statement twice, in PostgreSQL (``$1`` placeholders,
asyncpg) and SQLite (``?`` placeholders, aiosqlite) dialects, because bulk
statements differ between them (``unnest`` arrays vs ``executemany``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from server import database

#: First key of the transaction locks taken on inspections: every push and every write to an
#: inspection's records takes it first, in sorted order, so concurrent read-merge-writes of the same
#: inspection (two inspectors of one team syncing at once) run one after the other.
LOCK_INSPECTION = 0x494E


def _connection() -> Any:
    return database.current().transaction.connection


async def fetch(pg: str, sqlite: str, *args: Any) -> list[Sequence[Any]]:
    """Rows of a query run inside the current transaction."""
    connection = _connection()
    if database.is_postgres():
        return await connection.fetch(pg, *args)
    async with connection.execute(sqlite, args) as cursor:
        # Piccolo's SQLite connections return dict rows; callers get positional rows on both engines.
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in await cursor.fetchall()]


async def fetchval(pg: str, sqlite: str, *args: Any) -> Any:
    rows = await fetch(pg, sqlite, *args)
    return rows[0][0] if rows else None


async def execute(pg: str, sqlite: str, *args: Any) -> None:
    connection = _connection()
    if database.is_postgres():
        await connection.execute(pg, *args)
    else:
        await connection.execute(sqlite, args)


async def bulk(pg: str, sqlite: str, columns: Sequence[Sequence[Any]], rows: Iterable[Sequence[Any]]) -> None:
    """Write many rows in one round trip: PostgreSQL gets ``columns`` as arrays for ``unnest``, SQLite ``rows``."""
    connection = _connection()
    if database.is_postgres():
        await connection.execute(pg, *columns)
    else:
        await connection.executemany(sqlite, list(rows))


async def copy(table: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Append rows to a table the fastest way each engine has (COPY on PostgreSQL)."""
    connection = _connection()
    if database.is_postgres():
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))
    else:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        await connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)  # noqa: S608 fixed names


async def lock(namespace: int, keys: Iterable[str]) -> None:
    """Hold transaction locks on ``keys`` until commit, taken in sorted order (no deadlock between callers).

    PostgreSQL only; SQLite write transactions are exclusive already.
    """
    ordered = sorted(set(keys))
    if ordered and database.is_postgres():
        await _connection().execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(k)) FROM (SELECT unnest($2::text[]) AS k ORDER BY 1) AS s",
            namespace,
            ordered,
        )
