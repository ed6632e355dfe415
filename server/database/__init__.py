"""The database: the engine chosen by settings, the unit of work, migrations.

Every write happens inside :func:`transaction`, opened by the caller that owns
it (a controller, the sync push, a CLI command); services never commit.

Commit hooks
    Some writes must be numbered in commit order: the audit chain (each entry
    links the head before it) and the sync change feed (a pull may never find
    a newly committed position below one it has seen). Their domains register
    a :class:`CommitHook` once (``register_commit_hook``) and, during the
    transaction, add what they have to write to the unit of work
    (``uow.add(hook.name, item)``); nothing is written then, so a savepoint
    rolled back takes its items with it. This module knows no domain.

    At the end of a successful block that holds any such items:

    - PostgreSQL: each hook stages its items (writes them to a temporary
      table on the transaction's connection) and returns one parameterless
      statement that moves them into its *pending* table (``m0030``), in a
      ``commit_order`` drawn from a sequence as they move. Those statements
      and COMMIT go in one round trip, with no lock: writers commit side by
      side, in as many server processes as there are, and their WAL flushes
      are grouped by PostgreSQL. Numbering waits for a *settle*
      (:func:`settle`): one ``DO`` block that takes the chain lock
      (``pg_advisory_xact_lock(CHAIN_LOCK_KEY)``) and runs each hook's settle
      statement, which numbers *everything* pending. The commit's connection
      goes back to the pool and the request waits for the next settle of its
      process to start and finish (``_Settler``): all the commits of a process
      that finish while one settle runs share the next, so one lock hold and
      one WAL flush cover many transactions, and a settle that finds nothing
      left (another process took it) lets the lock go at once. The lock is
      never held while Python awaits anything. The request returns after that
      settle, so whoever wrote reads its own numbered entries. A settle that
      fails (its connection lost) leaves the items pending, never lost: the
      next settle, or the loop every process runs (:func:`settle_forever`),
      numbers them. A bulk command that commits thousands of transactions in
      a row settles once at its end instead (:func:`settled_at_end`).
    - SQLite: every write transaction is ``BEGIN IMMEDIATE`` and so exclusive
      already; each hook writes its items in Python before COMMIT.

    Anything numbered under the lock is numbered in the order of the settles,
    each of which commits before it lets the next one in: a reader that has
    seen number N will never later find a newly committed N-1.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.settings import Settings

#: Key of the PostgreSQL advisory lock a settle holds while it numbers what commits left pending
#: (audit chain + change-feed numbering). Arbitrary but fixed.
CHAIN_LOCK_KEY = 0x46434B43
#: Seconds between the rounds of :func:`settle_forever` in each API process.
SETTLE_INTERVAL_S = 1.0
#: Key of the session advisory lock held while one process migrates and installs
#: the audit guard, so several workers starting on one database take turns.
STARTUP_LOCK_KEY = 0x46434B53

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")

log = logging.getLogger("fieldcheck.database")

_engine: Engine | None = None
#: Steps each start runs after migrating, inside the start-up turn (``after_migrate``).
_AFTER_MIGRATE: list[Callable[[], Awaitable[None]]] = []
_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar("fieldcheck_uow", default=None)
#: Inside :func:`settled_at_end`: commits do not wait for a settle each.
_settle_later: contextvars.ContextVar[bool] = contextvars.ContextVar("fieldcheck_settle_later", default=False)


#: id(engine) -> (engine, the time zone of the settings it was built from), kept beside the engine: Piccolo's
#: engines have ``__slots__``, and a subclass for PostgreSQL only to carry one string would be one more engine type.
_ZONES: dict[int, tuple[Engine, str]] = {}


class _SQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, one hop to the connection's thread per statement inside a transaction.

    Piccolo sends ``PRAGMA foreign_keys = 1`` before every statement of a
    transaction, then the statement, then a fetch and a close: four hops
    through aiosqlite's thread, each a wake-up and a hand-over of the GIL. The
    pragma is already on (``get_connection`` sets it when the transaction's
    connection opens and it holds for the connection's life), so this sends
    the statement and reads its rows in one hop. RETURNING gives inserted keys
    (SQLite >= 3.35); older versions keep Piccolo's path.
    """

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query_type == "insert" and self.get_version_sync() < 3.35:
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        return list(await connection.execute_fetchall(query, args or []))


def build_engine(settings: Settings) -> Engine:
    """The Piccolo engine for these settings (not yet connected), bound to their time zone (:func:`timezone`)."""
    db = settings.database
    engine: Engine
    if db.is_postgres:
        config: dict[str, Any] = {
            "dsn": db.url,
            "server_settings": {"statement_timeout": str(db.statement_timeout_ms), "timezone": "UTC"},
        }
        if db.password:  # any character works here; inside the URL '@', ':' or '/' would break it
            config["password"] = db.password
        engine = PostgresEngine(config=config)
    else:
        data_dir = Path(settings.server.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        engine = _SQLiteEngine(path=str(data_dir / "fieldcheck.sqlite3"))
    _ZONES[id(engine)] = (engine, settings.hazards.timezone)
    return engine


def configure(settings: Settings) -> Engine:
    """Make a new engine for ``settings`` the one every table and migration uses."""
    return activate(build_engine(settings))


def activate(engine: Engine) -> Engine:
    """Point every table, and Piccolo's migrations (through ``server.piccolo_conf.DB``), at ``engine``.

    One process normally has one engine; tests that run the embedded SQLite
    mode beside PostgreSQL switch with this and switch back.
    """
    global _engine
    from server.database.piccolo_app import APP_CONFIG

    from piccolo.apps.migrations.tables import Migration

    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine
    _engine = engine
    return engine


def active_engine() -> Engine | None:
    """The engine :func:`activate` made current, or None before (what ``server.piccolo_conf.DB`` gives Piccolo)."""
    return _engine


def get_engine() -> Engine:
    """The configured engine; :func:`configure` must have run."""
    if _engine is None:
        raise RuntimeError("database not configured: call server.database.configure(settings) first")
    return _engine


def is_postgres() -> bool:
    return isinstance(get_engine(), PostgresEngine)


def timezone() -> str:
    """The bureau's time zone of the active database (``FIELDCHECK_TIMEZONE`` of the settings it was built from).

    The statistics' monthly rollups stored in a database are cut in one zone, so the zone is the database's:
    the statistics read it here, with their connection. Every other service is given it (``server.context``).
    """
    engine = get_engine()
    built = _ZONES.get(id(engine))
    if built is None or built[0] is not engine:
        raise RuntimeError("database engine not built by server.database.build_engine: its time zone is unknown")
    return built[1]


async def start(settings: Settings) -> Engine:
    """Configure, open the pool (PostgreSQL) and apply pending migrations."""
    engine = configure(settings)
    if isinstance(engine, SQLiteEngine):
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    async with _startup_turn(engine):
        await migrate()
        for step in _AFTER_MIGRATE:
            await step()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            min_size=settings.database.pool_min, max_size=settings.database.pool_max
        )
    return engine


def after_migrate(step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """Run ``step`` at every :func:`start`, after the migrations, one starting process at a time."""
    if step not in _AFTER_MIGRATE:
        _AFTER_MIGRATE.append(step)
    return step


@asynccontextmanager
async def _startup_turn(engine: Engine) -> AsyncIterator[None]:
    """One starting process at a time migrates and replaces the audit guard (PostgreSQL).

    Without it two workers started together race on the same DDL (``tuple
    concurrently updated``, or a migration applied twice). SQLite serialises
    its writers already.
    """
    if not isinstance(engine, PostgresEngine):
        yield
        return
    connection = await engine.get_new_connection()
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", STARTUP_LOCK_KEY)
        yield
    finally:
        await connection.close()  # ends the session, and with it the lock


async def stop() -> None:
    """Close the pool."""
    if isinstance(_engine, PostgresEngine):
        await _engine.close_connection_pool()


async def migrate() -> None:
    """Apply every migration not yet applied."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="fieldcheck")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")



class CommitHook(Protocol):
    """Writes a transaction's items in commit order (see the module docstring)."""

    #: The key its items are added under (``UnitOfWork.add``).
    name: str
    #: PostgreSQL: the table its commits leave items in until a settle numbers them.
    pending_table: str
    #: PostgreSQL: one parameterless PL/pgSQL statement numbering every pending item (run under the chain lock).
    settle_sql: str

    async def stage(self, items: Sequence[Any]) -> str:
        """PostgreSQL: put ``items`` where one parameterless statement can read them; return the statement
        that moves them into ``pending_table`` (run in the commit's round trip)."""
        ...

    async def write(self, items: Sequence[Any]) -> None:
        """SQLite: write ``items`` now (the transaction is exclusive)."""
        ...


_COMMIT_HOOKS: dict[str, CommitHook] = {}


def register_commit_hook(hook: CommitHook) -> CommitHook:
    """Make ``hook`` run at the end of every transaction that added items under its name (in registration order)."""
    _COMMIT_HOOKS[hook.name] = hook
    return hook


@dataclass
class UnitOfWork:
    """What the current transaction must write at its end (see the module docstring)."""

    transaction: Any
    pending: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, hook: str, *items: Any) -> None:
        """Queue ``items`` for the commit hook named ``hook``."""
        if hook not in _COMMIT_HOOKS:
            raise RuntimeError(f"no commit hook named {hook!r} is registered")
        self.pending.setdefault(hook, []).extend(items)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo the block's writes and the items it queued if it raises; keep the rest."""
        savepoint = await self.transaction.savepoint()
        marks = {name: len(items) for name, items in self.pending.items()}
        try:
            yield
        except BaseException:
            await savepoint.rollback_to()
            for name, items in self.pending.items():
                del items[marks.get(name, 0) :]
            raise
        else:
            await savepoint.release()


def current() -> UnitOfWork:
    """The unit of work of the running transaction; raises if there is none."""
    uow = _current.get()
    if uow is None:
        raise RuntimeError("no transaction: wrap the write in `async with server.database.transaction():`")
    return uow


class _Transaction(PostgresTransaction):
    """Piccolo's transaction whose COMMIT can carry the statements that must run under the chain lock.

    BEGIN, COMMIT and ROLLBACK are sent as plain SQL (not through asyncpg's
    transaction object), so the commit may be one multi-statement message.
    """

    def __init__(self, engine: PostgresEngine) -> None:
        super().__init__(engine=engine)
        self.commit_script = "COMMIT"
        #: Set when the commit leaves items pending: the request then waits for a settle before it returns.
        self.settle_after = False

    async def begin(self) -> None:
        await self.connection.execute("BEGIN")

    async def commit(self) -> None:
        await self.connection.execute(self.commit_script)
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is not None:
                await self.rollback()
            else:
                try:
                    await self.commit()
                except BaseException:
                    # A failed statement of the script leaves the transaction aborted (COMMIT never ran).
                    if not self.connection.is_closed():
                        try:
                            await self.rollback()
                        except Exception:  # noqa: BLE001 - the connection is broken; the pool replaces it
                            pass
                    raise
        finally:
            if self.engine.pool:
                await self.engine.pool.release(self.connection)
            else:
                await self.connection.close()
            self.engine.current_transaction.reset(self.context)
        if exception is None and self.settle_after and not _settle_later.get():
            await _settler().after_commit()  # its connection is back in the pool: waiting holds nothing
        return exception is None


@asynccontextmanager
async def transaction() -> AsyncIterator[UnitOfWork]:
    """Open the unit of work (or join the one already open) and commit it at the end."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        tx_context: Any = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        tx_context = _Transaction(engine)
    async with tx_context as tx:
        uow = UnitOfWork(transaction=tx)
        token = _current.set(uow)
        try:
            yield uow
            await _finish(uow)
        finally:
            _current.reset(token)


async def _finish(uow: UnitOfWork) -> None:
    due = [(hook, uow.pending[name]) for name, hook in _COMMIT_HOOKS.items() if uow.pending.get(name)]
    if not due:
        return
    if isinstance(get_engine(), PostgresEngine):
        statements = [await hook.stage(items) for hook, items in due]
        if isinstance(uow.transaction, _Transaction):
            uow.transaction.commit_script = ";\n".join([*statements, "COMMIT"])
            uow.transaction.settle_after = True
        else:  # joined a plain Piccolo transaction opened outside: its owner commits; the next settle numbers them
            await uow.transaction.connection.execute(";\n".join(statements))
        return
    for hook, items in due:
        await hook.write(items)


async def _settle_on(connection: Any) -> bool:
    """Number every pending item on ``connection`` (outside any transaction); False if there was nothing to do.

    Asked once before the lock (nothing pending: no lock at all) and again once it is held: a settle
    queued behind one that took everything lets the lock go at once, without work or a WAL flush.
    """
    probe = " OR ".join(f"EXISTS (SELECT 1 FROM {hook.pending_table})" for hook in _COMMIT_HOOKS.values())
    if not await connection.fetchval("SELECT " + probe):
        return False
    steps = "\n".join(f"{hook.settle_sql};" for hook in _COMMIT_HOOKS.values())
    # One statement, so one transaction: the lock is released when it commits, and an error rolls all of it back.
    await connection.execute(
        f"DO $settle$ BEGIN PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY:d}); IF {probe} THEN\n{steps}\n"
        "END IF; END $settle$"
    )
    return True


class _Settler:
    """One settle at a time per process, shared by every commit that waits for one (group commit).

    A commit that left items pending asks for a settle that *starts after* its commit: the next one. All
    the commits that ask while a settle runs share the one after it, so a process sends one settle per
    round however many writers it has, and they wait on a future, not on a pooled connection.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._next: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def after_commit(self) -> None:
        if self._next is None:
            self._next = self.loop.create_future()
        waiting = self._next
        if self._runner is None or self._runner.done():
            self._runner = self.loop.create_task(self._run())
        await asyncio.shield(waiting)  # a cancelled request leaves the settle running for the others

    async def _run(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            try:
                await settle()
            except Exception:  # noqa: BLE001 - the items stay pending; the next settle (any writer's, or the loop) numbers them
                log.warning("settle after commit failed; the items stay pending for the next settle", exc_info=True)
            except BaseException:  # cancelled (the loop closing): nobody may be left waiting for a round that never runs
                for waiting in (round_, self._next):
                    if waiting is not None and not waiting.done():
                        waiting.set_result(None)
                self._next = None
                raise
            round_.set_result(None)


_SETTLERS: dict[int, _Settler] = {}


def _settler() -> _Settler:
    """This event loop's settler."""
    loop = asyncio.get_running_loop()
    found = _SETTLERS.get(id(loop))
    if found is None or found.loop is not loop:
        found = _SETTLERS[id(loop)] = _Settler()
    return found


async def settle() -> bool:
    """Number whatever committed transactions left pending (PostgreSQL; SQLite has nothing pending).

    A commit waits for the next settle of its process before it returns (see the module docstring); this
    is also what the loop runs to catch what a failed settle left, and what readers run that must see
    every committed entry numbered (verifying the audit chain). Uses a connection of its own: call it outside a unit of work.
    Returns whether there was anything to number.
    """
    engine = get_engine()
    if not isinstance(engine, PostgresEngine) or not _COMMIT_HOOKS:
        return False
    if _current.get() is not None:
        raise RuntimeError("settle() commits on a connection of its own: call it outside a unit of work")
    if engine.pool:
        async with engine.pool.acquire() as connection:
            return await _settle_on(connection)
    connection = await engine.get_new_connection()
    try:
        return await _settle_on(connection)
    finally:
        await connection.close()


@asynccontextmanager
async def settled_at_end() -> AsyncIterator[None]:
    """Many transactions one after another (a bulk command: the demo city) with one settle at the end.

    A commit's wait for a settle costs one more round trip and WAL flush; a command committing thousands
    of transactions in a row reads none of its own feed positions or chain entries, so it pays that once.
    Call it outside a unit of work; what committed is settled even if the block raises.
    """
    token = _settle_later.set(True)
    try:
        yield
    finally:
        _settle_later.reset(token)
        await settle()


async def settle_forever(interval_s: float) -> None:
    """:func:`settle`, then sleep, forever (each API process runs it); a failed round is logged and retried."""
    while True:
        try:
            await settle()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database away: the next round tries again
            log.warning("settle round failed", exc_info=True)
        await asyncio.sleep(interval_s)
