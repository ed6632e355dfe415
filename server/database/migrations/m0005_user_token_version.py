"""Token version (hand-written): ``token_version`` on ``app_user``.

Access tokens carry the version they were issued under; bumping it (logout,
deactivation, a role or scope change, a new password) ends them at once.
``ADD COLUMN … NOT NULL DEFAULT 0`` runs on PostgreSQL and SQLite alike, and
tokens issued before it (no ``ver`` claim) count as version 0.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "user token version"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def add_column() -> None:
        await engine_finder().run_ddl('ALTER TABLE "app_user" ADD COLUMN "token_version" INTEGER NOT NULL DEFAULT 0')

    async def drop_column() -> None:
        await engine_finder().run_ddl('ALTER TABLE "app_user" DROP COLUMN "token_version"')

    manager.add_raw(add_column)
    manager.add_raw_backwards(drop_column)
    return manager
