"""The supervisor's review of a submitted check (hand-written): who reviewed, when, and the note.

Plain ``ALTER TABLE … ADD COLUMN`` that both PostgreSQL and SQLite run. Checks
submitted before this migration have no review yet and wait for one.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "inspection review"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def add_columns() -> None:
        engine = engine_finder()
        await engine.run_ddl(
            'ALTER TABLE "inspection" ADD COLUMN "reviewed_by" UUID NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT'
        )
        await engine.run_ddl('ALTER TABLE "inspection" ADD COLUMN "reviewed_at" TIMESTAMPTZ NULL')
        await engine.run_ddl('ALTER TABLE "inspection" ADD COLUMN "review_note" TEXT NOT NULL DEFAULT \'\'')

    async def drop_columns() -> None:
        engine = engine_finder()
        await engine.run_ddl('ALTER TABLE "inspection" DROP COLUMN "review_note"')
        await engine.run_ddl('ALTER TABLE "inspection" DROP COLUMN "reviewed_at"')
        await engine.run_ddl('ALTER TABLE "inspection" DROP COLUMN "reviewed_by"')

    manager.add_raw(add_columns)
    manager.add_raw_backwards(drop_columns)
    return manager
