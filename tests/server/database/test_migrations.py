"""Every migration applies to a fresh PostgreSQL database and to a fresh SQLite file, giving every table and column."""

from __future__ import annotations

import secrets

import asyncpg

from server import database
from server.database.piccolo_app import APP_CONFIG
from tests.conftest import PG_SERVER, make_settings


def _expected() -> dict[str, set[str]]:
    return {t._meta.tablename: {c._meta.db_column_name for c in t._meta.columns} for t in APP_CONFIG.table_classes}


async def _pg_columns(engine) -> dict[str, set[str]]:
    rows = await engine.run_ddl(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return found


async def _sqlite_columns(engine, tables) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table in tables:
        rows = await engine.run_ddl(f'PRAGMA table_info("{table}")')
        if rows:
            found[table] = {r["name"] for r in rows}
    return found


def _assert_schema(found: dict[str, set[str]]) -> None:
    expected = _expected()
    assert len(expected) >= 30, "the domain model lost tables"
    missing_tables = sorted(set(expected) - set(found))
    assert not missing_tables, f"tables missing after migrations: {missing_tables}"
    for table, columns in expected.items():
        assert columns <= found[table], f"{table} lacks columns {sorted(columns - found[table])}"


async def test_migrations_build_the_whole_schema_on_fresh_postgresql(app, tmp_path):
    name = f"fieldcheck_mig_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        engine = await database.start(make_settings(tmp_path, database_url=f"{PG_SERVER}/{name}"))
        try:
            _assert_schema(await _pg_columns(engine))
            indexes = {r["indexname"] for r in await engine.run_ddl("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
            from server.database.migrations.m0002_composite_unique import UNIQUE_INDEXES

            assert {n for n, _, _ in UNIQUE_INDEXES} <= indexes
            # Applying again is a no-op, as on every restart.
            await database.migrate()
        finally:
            await database.stop()
    finally:
        database.activate(app.state.engine)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_build_the_whole_schema_on_a_fresh_sqlite_file(app, tmp_path):
    data_dir = tmp_path / "embedded"
    try:
        engine = await database.start(make_settings(data_dir))
        assert (data_dir / "fieldcheck.sqlite3").exists()
        _assert_schema(await _sqlite_columns(engine, _expected()))
        indexes = {r["name"] for r in await engine.run_ddl("SELECT name FROM sqlite_master WHERE type = 'index'")}
        from server.database.migrations.m0002_composite_unique import UNIQUE_INDEXES

        assert {n for n, _, _ in UNIQUE_INDEXES} <= indexes
        await database.migrate()
    finally:
        await database.stop()
        database.activate(app.state.engine)
