"""Indexes on the moments the statistics count enforcement actions and rechecks by.

Every recount of a month (``server.stats.sql``: the monthly and per-inspector rollups) selects the actions
whose ``COALESCE(effective_at, decided_at)`` and the rechecks whose ``result_at`` falls in the month. No
index held either, so each of those statements scanned every action and every recheck (measured at
200,000 checks: 14 ms of a recheck scan per statement, 75,000 rows read for 487 kept; about 67 ms of
action scans per refresher round at 1,000,000 checks), CPU taken from the readers while phones sync.
Both engines index an expression; the statements already spell it so.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T00:00:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes on the moments enforcement actions and rechecks are counted by"

_CREATE = (
    'CREATE INDEX IF NOT EXISTS "ix_enforcement_action_moment" '
    'ON "enforcement_action" ((COALESCE("effective_at", "decided_at")))',
    'CREATE INDEX IF NOT EXISTS "ix_recheck_result_at" ON "recheck" ("result_at")',
)
_DROP = ('DROP INDEX IF EXISTS "ix_enforcement_action_moment"', 'DROP INDEX IF EXISTS "ix_recheck_result_at"')


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await engine_finder().run_ddl(statement)

    async def drop() -> None:
        for statement in _DROP:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
