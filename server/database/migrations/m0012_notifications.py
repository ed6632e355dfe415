"""Notifications (hand-written): the inbox, webhook deliveries and their attempts.

``(user, key)`` is unique so an event (this hazard's deadline, this escalation)
reaches each person once however often the reminder job looks at it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T00:00:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications and webhook deliveries"

_TABLES = (
    'CREATE TABLE "notification" ('
    '"id" UUID PRIMARY KEY, "user" UUID NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT, '
    '"kind" VARCHAR(32) NOT NULL, "key" VARCHAR(200) NOT NULL, "title" VARCHAR(200) NOT NULL, '
    '"body" TEXT NOT NULL DEFAULT \'\', "entity_type" VARCHAR(32) NOT NULL DEFAULT \'\', '
    '"entity_id" VARCHAR(64) NOT NULL DEFAULT \'\', "created_at" TIMESTAMPTZ NOT NULL, "read_at" TIMESTAMPTZ NULL)',
    'CREATE INDEX "notification_user" ON "notification" ("user")',
    'CREATE UNIQUE INDEX "uq_notification_user_key" ON "notification" ("user", "key")',
    'CREATE TABLE "notification_delivery" ('
    '"id" UUID PRIMARY KEY, "notification" UUID NOT NULL REFERENCES "notification" ("id") ON DELETE RESTRICT, '
    '"status" VARCHAR(16) NOT NULL DEFAULT \'pending\', "attempts" INTEGER NOT NULL DEFAULT 0, '
    '"next_attempt_at" TIMESTAMPTZ NOT NULL, "lease_until" TIMESTAMPTZ NULL, "last_error" TEXT NOT NULL DEFAULT \'\', '
    '"delivered_at" TIMESTAMPTZ NULL, "created_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX "notification_delivery_notification" ON "notification_delivery" ("notification")',
    'CREATE INDEX "notification_delivery_due" ON "notification_delivery" ("status", "next_attempt_at")',
    'CREATE TABLE "delivery_attempt" ('
    '"id" UUID PRIMARY KEY, "delivery" UUID NOT NULL REFERENCES "notification_delivery" ("id") ON DELETE RESTRICT, '
    '"at" TIMESTAMPTZ NOT NULL, "status_code" INTEGER NULL, "error" TEXT NOT NULL DEFAULT \'\', '
    '"duration_ms" INTEGER NOT NULL DEFAULT 0)',
    'CREATE INDEX "delivery_attempt_delivery" ON "delivery_attempt" ("delivery")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        for statement in _TABLES:
            await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        for table in ("delivery_attempt", "notification_delivery", "notification"):
            await engine.run_ddl(f'DROP TABLE IF EXISTS "{table}"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
