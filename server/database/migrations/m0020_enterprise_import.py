"""Registry imports (hand-written): an uploaded file's check, its rows staged until the person confirms.

``(batch, row_number)`` is unique: a row of a file is staged once.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T00:00:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "enterprise registry imports and their staged rows"

_TABLES = (
    'CREATE TABLE "enterprise_import" ('
    '"id" UUID PRIMARY KEY, "created_by" UUID NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT, '
    '"created_at" TIMESTAMPTZ NOT NULL, "updated_at" TIMESTAMPTZ NOT NULL, '
    '"file_name" VARCHAR(256) NOT NULL DEFAULT \'\', "file_sha256" VARCHAR(64) NOT NULL DEFAULT \'\', '
    '"file_bytes" INTEGER NOT NULL DEFAULT 0, "status" VARCHAR(16) NOT NULL DEFAULT \'checking\', '
    '"total_rows" INTEGER NOT NULL DEFAULT 0, "checked_rows" INTEGER NOT NULL DEFAULT 0, '
    '"good_rows" INTEGER NOT NULL DEFAULT 0, "bad_rows" INTEGER NOT NULL DEFAULT 0, '
    '"failure" TEXT NOT NULL DEFAULT \'\', "applied_at" TIMESTAMPTZ NULL, '
    '"applied_by" UUID NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT, "applied_rows" INTEGER NOT NULL DEFAULT 0)',
    'CREATE INDEX "enterprise_import_created_by" ON "enterprise_import" ("created_by")',
    'CREATE TABLE "enterprise_import_row" ('
    '"id" UUID PRIMARY KEY, "batch" UUID NOT NULL REFERENCES "enterprise_import" ("id") ON DELETE CASCADE, '
    '"row_number" INTEGER NOT NULL, "ok" BOOLEAN NOT NULL DEFAULT FALSE, '
    '"credit_code" VARCHAR(64) NOT NULL DEFAULT \'\', "name" VARCHAR(256) NOT NULL DEFAULT \'\', '
    '"data" TEXT NOT NULL DEFAULT \'\', "errors" TEXT NOT NULL DEFAULT \'\')',
    'CREATE UNIQUE INDEX "uq_enterprise_import_row" ON "enterprise_import_row" ("batch", "row_number")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        for statement in _TABLES:
            await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        for table in ("enterprise_import_row", "enterprise_import"):
            await engine.run_ddl(f'DROP TABLE IF EXISTS "{table}"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
