"""Spot-check tasks store ``done`` (hand-written): tasks whose check was signed before it was stored.

From now on ``spotchecks.completion`` sets it when the check is submitted or
reviewed; this marks the tasks of checks signed earlier, which were counted as
done only where it was derived (so 抽查计划完成率 read 0 for them). Plain SQL
that PostgreSQL and SQLite both run; going back leaves the rows as they are.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T00:00:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "spot-check task done status"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def mark_done() -> None:
        await engine_finder().run_ddl(
            "UPDATE \"spot_check_task\" SET \"status\" = 'done' WHERE \"status\" = 'released' AND \"inspection\" IN "
            "(SELECT \"id\" FROM \"inspection\" WHERE \"status\" IN ('submitted', 'reviewed'))"
        )

    async def nothing() -> None:
        return None

    manager.add_raw(mark_done)
    manager.add_raw_backwards(nothing)
    return manager
