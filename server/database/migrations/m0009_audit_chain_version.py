"""Audit chain version (hand-written): ``chain_version`` on ``audit_entry``.

Entries written before this migration were hashed without their id (version
1); they keep that hash and the column's default marks them so, because
rehashing them would also launder any change already made to them. New entries
are version 2, whose hash covers the id as well (``server.audit.service``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit entry chain version"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def add_column() -> None:
        await engine_finder().run_ddl('ALTER TABLE "audit_entry" ADD COLUMN "chain_version" INTEGER NOT NULL DEFAULT 1')

    async def drop_column() -> None:
        await engine_finder().run_ddl('ALTER TABLE "audit_entry" DROP COLUMN "chain_version"')

    manager.add_raw(add_column)
    manager.add_raw_backwards(drop_column)
    return manager
