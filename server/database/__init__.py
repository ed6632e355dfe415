"""The database: the engine chosen by settings, the unit of work, migrations.

Every write happens inside :func:`transaction`, opened by the caller that owns
it (a controller, the sync push, a CLI command); services never commit. The
unit of work also collects what must be written *last*, under one lock:

- audit entries (``server.audit.service.record``), chained by hash;
- ``before_commit`` hooks, e.g. the sync change feed numbering its entries.

At the end of a successful block the unit of work takes the chain lock
(``pg_advisory_xact_lock`` on PostgreSQL; on SQLite every write transaction
is ``BEGIN IMMEDIATE`` and so already exclusive), runs the hooks, appends the
audit entries, and commits. The lock is held until commit, so anything
numbered under it is numbered in commit order: a reader that has seen number
N will never later find a newly committed N-1.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.settings import Settings

#: Key of the PostgreSQL advisory lock that serialises the tail of every write
#: transaction (audit chain + change-feed numbering). Arbitrary but fixed.
CHAIN_LOCK_KEY = 0x46434B43
#: Key of the session advisory lock held while one process migrates and installs
#: the audit guard, so several workers starting on one database take turns.
STARTUP_LOCK_KEY = 0x46434B53

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")

_engine: Engine | None = None
_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar("fieldcheck_uow", default=None)


def build_engine(settings: Settings) -> Engine:
    """The Piccolo engine for these settings (not yet connected)."""
    db = settings.database
    if db.is_postgres:
        config: dict[str, Any] = {
            "dsn": db.url,
            "server_settings": {"statement_timeout": str(db.statement_timeout_ms), "timezone": "UTC"},
        }
        if db.password:  # any character works here; inside the URL '@', ':' or '/' would break it
            config["password"] = db.password
        return PostgresEngine(config=config)
    data_dir = Path(settings.server.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteEngine(path=str(data_dir / "fieldcheck.sqlite3"))


def configure(settings: Settings) -> Engine:
    """Make a new engine for ``settings`` the one every table and migration uses."""
    return activate(build_engine(settings))


def activate(engine: Engine) -> Engine:
    """Point every table, and Piccolo's migrations, at ``engine``.

    One process normally has one engine; tests that run the embedded SQLite
    mode beside PostgreSQL switch with this and switch back.
    """
    global _engine
    from server import piccolo_conf
    from server.database.piccolo_app import APP_CONFIG

    from piccolo.apps.migrations.tables import Migration

    piccolo_conf.DB = engine
    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine
    _engine = engine
    return engine


def get_engine() -> Engine:
    """The configured engine; :func:`configure` must have run."""
    if _engine is None:
        raise RuntimeError("database not configured: call server.database.configure(settings) first")
    return _engine


def is_postgres() -> bool:
    return isinstance(get_engine(), PostgresEngine)


async def start(settings: Settings) -> Engine:
    """Configure, open the pool (PostgreSQL) and apply pending migrations."""
    engine = configure(settings)
    if isinstance(engine, SQLiteEngine):
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    async with _startup_turn(engine):
        await migrate()
        from server.audit import service as audit_service

        await audit_service.install_guard()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            min_size=settings.database.pool_min, max_size=settings.database.pool_max
        )
    return engine


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


@dataclass
class UnitOfWork:
    """What the current transaction must write at its end (see the module docstring)."""

    transaction: Any
    audit: list[Any] = field(default_factory=list)
    before_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo the block's writes, audit entries and hooks if it raises; keep the rest."""
        savepoint = await self.transaction.savepoint()
        marks = (len(self.audit), len(self.before_commit))
        try:
            yield
        except BaseException:
            await savepoint.rollback_to()
            del self.audit[marks[0] :]
            del self.before_commit[marks[1] :]
            raise
        else:
            await savepoint.release()


def current() -> UnitOfWork:
    """The unit of work of the running transaction; raises if there is none."""
    uow = _current.get()
    if uow is None:
        raise RuntimeError("no transaction: wrap the write in `async with server.database.transaction():`")
    return uow


@asynccontextmanager
async def transaction() -> AsyncIterator[UnitOfWork]:
    """Open the unit of work (or join the one already open) and commit it at the end."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        tx_context = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        tx_context = engine.transaction()
    async with tx_context as tx:
        uow = UnitOfWork(transaction=tx)
        token = _current.set(uow)
        try:
            yield uow
            await _finish(uow)
        finally:
            _current.reset(token)


async def _finish(uow: UnitOfWork) -> None:
    if not uow.audit and not uow.before_commit:
        return
    if isinstance(get_engine(), PostgresEngine):
        await uow.transaction.connection.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK_KEY)
    for hook in uow.before_commit:
        await hook()
    if uow.audit:
        from server.audit import service as audit_service

        await audit_service.flush(uow.audit)
