"""Login throttling by source (hand-written): the ``login_throttle`` table.

One row per (username, source address) and per source address, counting
failed tries; see ``server.accounts.service.begin_login``. Plain DDL that
PostgreSQL and SQLite both run.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "login throttle per source"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        await engine.run_ddl(
            'CREATE TABLE "login_throttle" ('
            '"key" VARCHAR(160) PRIMARY KEY, "failures" INTEGER NOT NULL DEFAULT 0, '
            '"blocked_until" TIMESTAMPTZ NULL, "updated_at" TIMESTAMPTZ NOT NULL)'
        )
        await engine.run_ddl('CREATE INDEX "login_throttle_updated_at" ON "login_throttle" ("updated_at")')

    async def drop() -> None:
        await engine_finder().run_ddl('DROP TABLE IF EXISTS "login_throttle"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
