"""The change feed: domains publish record states here; pulls read them back in commit order.

Publishing
    ``await publish(entity_type, entity_id, record, scope=...)`` inside the
    writer's transaction, after the write it describes. ``record`` is the
    domain's wire struct (what a phone stores), or ``None`` for a removal.
    ``scope`` is one key or several (vocabulary: :mod:`server.sync.scopes`):
    publish the record to every scope it is in now, and ``None`` to any scope
    it has just left. Examples::

        await sync_service.publish("item_result", row.id, item_result, scope=scopes.inspection(inspection_id))
        await sync_service.publish("spot_check_task", task.id, redacted, scope=[scopes.user(u) for u in team])
        await sync_service.publish("hazard", hazard.id, None, scope=scopes.hazard(hazard.id))  # closed: gone

    Nothing is written at the call: entries are buffered in the unit of work
    and written together at commit, so a mutation rolled back to its
    savepoint (``UnitOfWork.savepoint``) takes its entries with it, and a
    thousand publishes cost one statement. Records already in the database in
    their thousands (a registry import) are published by ``publish_query``:
    the query's rows go to the commit's staging by SQL, never through Python.

Why a pull never skips a late commit
    Positions (``change.seq``) are handed out only by settles (``server.database``):
    a commit leaves its entries in ``change_pending``, and a settle, in a
    transaction of its own under the chain lock (``pg_advisory_xact_lock``),
    numbers everything pending into ``change`` and commits (on SQLite the
    write transaction itself is exclusive and numbers its own entries).
    PostgreSQL releases a transaction's locks only after its commit is
    visible, so the next settle numbers its rows after every earlier number is
    committed (or rolled back, leaving a gap). Numbers
    therefore become visible strictly in order: any snapshot sees *all*
    positions up to the highest it sees. A pull first reads that highest
    position ``hw``, then reads rows ``cursor < seq <= hw`` (a later statement
    sees at least as much), and the next cursor never passes ``hw`` — so a
    transaction that started early but commits late can never land below a
    cursor already handed out. A plain ``updated_at`` or a sequence taken at
    INSERT time (outside the lock) would allow exactly that. A writer's
    request settles before it answers, so a phone that pushed pulls its own
    results next.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterable, Sequence

import msgspec

from server import database
from server.sync import sql

_SCOPE = re.compile(r"^[a-z_]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Entry = tuple[str, str, uuid.UUID, bytes | None]  # scope, entity_type, entity_id, payload


#: Moves a commit's staged entries into ``change_pending`` (``m0030``), to be numbered by a settle.
_PENDING_SQL = """
INSERT INTO change_pending (commit_order, ord, scope, entity_type, entity_id, payload, updated_at)
SELECT o.n, p.ord, p.scope, p.entity_type, p.entity_id, p.payload, p.updated_at
FROM pg_temp.fieldcheck_pending_change AS p, (SELECT nextval('fieldcheck_commit_order') AS n) AS o"""


def _latest(entries: Sequence[Entry]) -> dict[tuple[str, str, uuid.UUID], bytes | None]:
    """One state per (scope, record): the last one published, in the order of its last publish."""
    latest: dict[tuple[str, str, uuid.UUID], bytes | None] = {}
    for scope, entity_type, entity_id, payload in entries:
        latest.pop((scope, entity_type, entity_id), None)
        latest[(scope, entity_type, entity_id)] = payload
    return latest


class _Feed:
    """The commit hook numbering a transaction's published entries (see the module docstring)."""

    name = "change_feed"
    pending_table = "change_pending"
    #: Numbers every pending entry after the feed's top, in commit order (m0030's function, which says how).
    settle_sql = "PERFORM fieldcheck_settle_change()"

    async def stage(self, items: Sequence[Entry]) -> str:
        queried = _QUERIED in items
        latest = _latest([i for i in items if i is not _QUERIED])
        keys = list(latest)
        if queried and keys:  # a state published after the query's rows replaces theirs
            await sql.execute(
                "DELETE FROM pg_temp.fieldcheck_pending_change AS p USING unnest($1::text[], $2::text[], $3::uuid[])"
                " AS t(scope, entity_type, entity_id)"
                " WHERE p.scope = t.scope AND p.entity_type = t.entity_type AND p.entity_id = t.entity_id",
                "", [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            )
        await sql.execute(
            "SELECT fieldcheck_stage_change($1::text[], $2::text[], $3::uuid[], $4::bytea[], $5)",
            "",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [latest[k] for k in keys],
            dt.datetime.now(dt.UTC),
        )
        return _PENDING_SQL

    async def write(self, items: Sequence[Entry]) -> None:
        latest = _latest([i for i in items if i is not _QUERIED])
        now = dt.datetime.now(dt.UTC)
        top = await sql.fetchval("", "SELECT coalesce(max(seq), 0) FROM change") or 0
        await sql.bulk(
            "",
            "INSERT INTO change (seq, scope, entity_type, entity_id, payload, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, entity_type, entity_id) DO UPDATE "
            "SET seq = excluded.seq, payload = excluded.payload, updated_at = excluded.updated_at",
            (),
            [
                (top + n, scope, entity_type, str(entity_id), payload, now)
                for n, ((scope, entity_type, entity_id), payload) in enumerate(latest.items(), start=1)
            ],
        )


_FEED = database.register_commit_hook(_Feed())
#: Queued by :func:`publish_query` so the commit numbers the rows it staged (no record of its own).
_QUERIED: Entry = ("", "", uuid.UUID(int=0), None)


@functools.lru_cache(maxsize=4096)
def _checked(key: str) -> str:
    if not _SCOPE.match(key):
        raise ValueError(f"not a scope key: {key!r}")
    return key


def _scope_keys(scope: str | Iterable[str]) -> list[str]:
    return [_checked(scope)] if isinstance(scope, str) else [_checked(k) for k in scope]


async def publish(
    entity_type: str,
    entity_id: uuid.UUID,
    record: msgspec.Struct | None,
    *,
    scope: str | Iterable[str],
) -> None:
    """Publish a record's new state (``None`` = removed) to one or more scopes, at commit."""
    payload = None if record is None else msgspec.msgpack.encode(record)
    database.current().add(_FEED.name, *[(key, entity_type, entity_id, payload) for key in _scope_keys(scope)])


def publish_many(entries: Iterable[tuple[str, uuid.UUID, msgspec.Struct | None, str | Iterable[str]]]) -> None:
    """Publish many ``(entity_type, entity_id, record, scope)`` at once (bulk handlers)."""
    encode = msgspec.msgpack.encode
    flat: list[Entry] = []
    for entity_type, entity_id, record, scope in entries:
        payload = None if record is None else encode(record)
        flat.extend((key, entity_type, entity_id, payload) for key in _scope_keys(scope))
    if flat:
        database.current().add(_FEED.name, *flat)


async def high_watermark() -> int:
    """The highest position visible now; every position below it is settled (see the module docstring)."""
    return int(await sql.fetchval("SELECT coalesce(max(seq), 0) FROM change", "SELECT coalesce(max(seq), 0) FROM change") or 0)


async def read(
    cursors: dict[str, int], hw: int, limit: int
) -> tuple[list[tuple[int, str, str, uuid.UUID, bytes | None]], dict[str, int], bool]:
    """One page: rows after each scope's cursor up to ``hw``, the scopes' new cursors, and whether more remain.

    The page's ``limit`` is shared out in rounds: each scope still open gets an
    equal share of what is left (at least one row), read along its ``(scope,
    seq)`` index; scopes with fewer rows than their share are complete up to
    ``hw``, and what they did not use goes to the others in the next round. So
    a phone holding 150 small scopes and one large one gets a full page, not
    150 small shares and many round trips, and a page still costs what it
    returns. A scope that had more rows than it was given advances its cursor
    to the last row sent. A scope read from 0 (new to the phone) skips
    tombstones: there is nothing to remove.
    """
    got: dict[str, list[tuple]] = {scope: [] for scope in cursors}
    open_: dict[str, int] = dict(cursors)  # scope -> the position to read after
    fresh = {scope for scope, after in cursors.items() if after == 0}
    budget = limit
    for _ in range(_ROUNDS):
        if not open_ or budget <= 0:
            break
        share = max(1, -(-budget // len(open_)))
        rows = await _fetch(open_, fresh, hw, share + 1)
        by_scope: dict[str, list[tuple]] = {}
        for row in rows:
            by_scope.setdefault(row[1], []).append(row)
        still_open: dict[str, int] = {}
        for scope in open_:
            taken = sorted(by_scope.get(scope, ()), key=lambda r: r[0])
            if len(taken) > share:
                taken = taken[:share]
                still_open[scope] = taken[-1][0]
            got[scope].extend(taken)
            budget -= len(taken)
        open_ = still_open
    page: list[tuple[int, str, str, uuid.UUID, bytes | None]] = []
    new_cursors: dict[str, int] = {}
    for scope, after in cursors.items():
        page.extend(got[scope])
        # cut short: up to the last row sent; complete: everything up to the watermark was read
        new_cursors[scope] = got[scope][-1][0] if scope in open_ else max(after, hw)
    page.sort(key=lambda r: r[0])
    return page, new_cursors, bool(open_)


#: Rounds of sharing out a page's budget; after the last, scopes still cut short wait for the next page.
_ROUNDS = 4


async def _fetch(after: dict[str, int], fresh: set[str], hw: int, each: int) -> list[tuple]:
    """Up to ``each`` rows of every scope after its position, up to ``hw``, in seq order within a scope."""
    if database.is_postgres():
        fetched = await sql.fetch(
            """
            SELECT c.seq, c.scope, c.entity_type, c.entity_id, c.payload
            FROM unnest($1::text[], $2::bigint[], $3::boolean[]) AS k(scope, after, fresh)
            CROSS JOIN LATERAL (
                SELECT seq, scope, entity_type, entity_id, payload FROM change
                WHERE change.scope = k.scope AND change.seq > k.after AND change.seq <= $4
                  AND (NOT k.fresh OR change.payload IS NOT NULL)
                ORDER BY change.seq LIMIT $5
            ) AS c
            """,
            "",
            list(after),
            list(after.values()),
            [scope in fresh for scope in after],
            hw,
            each,
        )
        return [tuple(r) for r in fetched]
    rows = []
    for scope, position in after.items():
        for r in await sql.fetch(
            "",
            "SELECT seq, scope, entity_type, entity_id, payload FROM change "
            "WHERE scope = ? AND seq > ? AND seq <= ? AND (? = 0 OR payload IS NOT NULL) ORDER BY seq LIMIT ?",
            scope,
            position,
            hw,
            int(scope in fresh),
            each,
        ):
            rows.append((r[0], r[1], r[2], r[3] if isinstance(r[3], uuid.UUID) else uuid.UUID(str(r[3])), r[4]))
    return rows


async def publish_query(pg: str, sqlite: str, *args: object) -> None:
    """Publish, at commit, the ``(scope, entity_type, entity_id, payload)`` rows a query selects.

    For bulk writes whose records are already in the database (an import of thousands): the
    rows go from the query to the feed's staging without passing through Python, so memory
    does not grow with their number. The query gives one row per (scope, record), each
    scope a key of :mod:`server.sync.scopes`; ``pg`` has ``$n`` placeholders (numbered from
    ``$2``: ``$1`` is taken), ``sqlite`` has ``?``. Call it before any other publish of the
    transaction; later publishes of the same records replace these rows, as usual. The rows are
    numbered before the transaction's other publishes, among themselves in the order the database
    yields them (a pull needs no order between records committed together).
    """
    uow = database.current()
    if any(i is not _QUERIED for i in uow.pending.get(_FEED.name, ())):
        raise RuntimeError("publish_query must come before the transaction's other publishes")
    now = dt.datetime.now(dt.UTC)
    if database.is_postgres():
        # The staging table exists once the function has run in this session; these rows take
        # ords below the ones the commit stages (numbered from 1); the commit numbers the staged
        # rows by the order of their ords, not by their values.
        await sql.execute(
            "SELECT fieldcheck_stage_change('{}'::text[], '{}'::text[], '{}'::uuid[], '{}'::bytea[], $1)", "", now
        )
        await sql.execute(
            "INSERT INTO pg_temp.fieldcheck_pending_change (ord, scope, entity_type, entity_id, payload, updated_at)"
            " SELECT base.low + row_number() OVER (), q.scope, q.entity_type, q.entity_id, q.payload, $1"
            f" FROM ({pg}) AS q,"
            " (SELECT coalesce(max(ord), -2000000000) AS low FROM pg_temp.fieldcheck_pending_change WHERE ord <= 0) AS base",
            "", now, *args,
        )
    else:
        await sql.execute(
            "",
            "INSERT INTO change (seq, scope, entity_type, entity_id, payload, updated_at)"
            " SELECT head.top + row_number() OVER (), q.scope, q.entity_type, q.entity_id, q.payload, ?"
            f" FROM ({sqlite}) AS q, (SELECT coalesce(max(seq), 0) AS top FROM change) AS head WHERE true"
            " ON CONFLICT (scope, entity_type, entity_id) DO UPDATE"
            " SET seq = excluded.seq, payload = excluded.payload, updated_at = excluded.updated_at",
            now, *args,
        )
    uow.add(_FEED.name, _QUERIED)
