"""Scheduled job runs (hand-written): ``job_run`` with one row per job and tick.

The unique index on ``(job, tick)`` is what makes a tick run once however many
server processes share the database: each tries to insert the row, one wins.
Plain DDL that both PostgreSQL and SQLite run.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "scheduled job runs"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        await engine.run_ddl(
            'CREATE TABLE "job_run" ('
            '"id" UUID PRIMARY KEY, "job" VARCHAR(32) NOT NULL, "tick" TIMESTAMPTZ NOT NULL, '
            '"manual" VARCHAR(64) NOT NULL DEFAULT \'\', "host" VARCHAR(128) NOT NULL DEFAULT \'\', '
            '"started_at" TIMESTAMPTZ NOT NULL, "finished_at" TIMESTAMPTZ NULL, '
            '"outcome" VARCHAR(16) NOT NULL DEFAULT \'running\', "items" INTEGER NOT NULL DEFAULT 0, '
            '"message" TEXT NOT NULL DEFAULT \'\')'
        )
        await engine.run_ddl('CREATE INDEX "job_run_job" ON "job_run" ("job")')
        await engine.run_ddl('CREATE UNIQUE INDEX "uq_job_run_job_tick" ON "job_run" ("job", "tick")')

    async def drop() -> None:
        await engine_finder().run_ddl('DROP TABLE IF EXISTS "job_run"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
