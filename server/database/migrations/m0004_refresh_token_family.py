"""Refresh token families (hand-written): ``family`` and ``replaced_by`` on ``refresh_token``.

Plain ``ALTER TABLE … ADD COLUMN`` of nullable columns, which both PostgreSQL
and SQLite run; rows older than this migration keep null and count as their
own family.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T00:00:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "refresh token family and successor"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def add_columns() -> None:
        engine = engine_finder()
        await engine.run_ddl('ALTER TABLE "refresh_token" ADD COLUMN "family" UUID NULL')
        await engine.run_ddl('ALTER TABLE "refresh_token" ADD COLUMN "replaced_by" UUID NULL')
        await engine.run_ddl('CREATE INDEX IF NOT EXISTS "refresh_token_family" ON "refresh_token" ("family")')

    async def drop_columns() -> None:
        engine = engine_finder()
        await engine.run_ddl('DROP INDEX IF EXISTS "refresh_token_family"')
        await engine.run_ddl('ALTER TABLE "refresh_token" DROP COLUMN "replaced_by"')
        await engine.run_ddl('ALTER TABLE "refresh_token" DROP COLUMN "family"')

    manager.add_raw(add_columns)
    manager.add_raw_backwards(drop_columns)
    return manager
