"""Enforcement documents (hand-written): issued documents and their number counters.

A number is unique per issuing body, series and year, and so is a document's hash and short code;
the counter row is what concurrent issuers queue on (see ``server.documents.numbering``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "enforcement documents and their numbering"

_TABLES = (
    'CREATE TABLE "document" ('
    '"id" UUID PRIMARY KEY, "type" VARCHAR(32) NOT NULL, "title" VARCHAR(64) NOT NULL, '
    '"issuing_body" VARCHAR(100) NOT NULL, "issuing_abbr" VARCHAR(16) NOT NULL, "series" VARCHAR(8) NOT NULL, '
    '"year" INTEGER NOT NULL, "seq" INTEGER NOT NULL, "number" VARCHAR(64) NOT NULL, '
    '"inspection" UUID NOT NULL REFERENCES "inspection" ("id") ON DELETE RESTRICT, '
    '"enterprise" UUID NOT NULL REFERENCES "enterprise" ("id") ON DELETE RESTRICT, '
    '"department" UUID NULL, "recheck" UUID NULL, "action" UUID NULL, "violation" UUID NULL, '
    '"source_key" VARCHAR(120) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "size" BIGINT NOT NULL, '
    '"object_key" VARCHAR(256) NOT NULL, "short_code" VARCHAR(10) NOT NULL, "status" VARCHAR(16) NOT NULL, '
    '"issued_by" UUID NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT, "issued_at" TIMESTAMPTZ NOT NULL, '
    '"supersedes" UUID NULL, "superseded_by" UUID NULL, "voided_at" TIMESTAMPTZ NULL, "voided_by" UUID NULL, '
    '"void_reason" TEXT NOT NULL DEFAULT \'\')',
    'CREATE UNIQUE INDEX "uq_document_number" ON "document" ("issuing_abbr", "series", "year", "seq")',
    'CREATE UNIQUE INDEX "uq_document_sha256" ON "document" ("sha256")',
    'CREATE UNIQUE INDEX "uq_document_short_code" ON "document" ("short_code")',
    'CREATE INDEX "document_inspection" ON "document" ("inspection")',
    'CREATE INDEX "document_enterprise" ON "document" ("enterprise")',
    'CREATE INDEX "document_type" ON "document" ("type")',
    'CREATE INDEX "document_status" ON "document" ("status")',
    'CREATE INDEX "document_source_key" ON "document" ("source_key")',
    'CREATE TABLE "document_counter" ('
    '"id" UUID PRIMARY KEY, "issuing_abbr" VARCHAR(16) NOT NULL, "series" VARCHAR(8) NOT NULL, '
    '"year" INTEGER NOT NULL, "last_seq" INTEGER NOT NULL DEFAULT 0)',
    'CREATE UNIQUE INDEX "uq_document_counter" ON "document_counter" ("issuing_abbr", "series", "year")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        for statement in _TABLES:
            await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        for table in ("document_counter", "document"):
            await engine.run_ddl(f'DROP TABLE IF EXISTS "{table}"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
