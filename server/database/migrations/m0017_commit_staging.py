"""Commit staging (hand-written, PostgreSQL only): functions that put a transaction's feed and audit items in temp tables.

The unit of work's commit runs the change-feed numbering and the audit append
as parameterless statements inside the one round trip that takes the chain
lock and commits (``server.database``). Their input is staged before that, by
these functions, into ``ON COMMIT DELETE ROWS`` temporary tables that each
function creates on first use in a session (a temp table made in a rolled-back
transaction is gone again, so no caller can know it exists). On SQLite the
hooks write directly and this migration does nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T00:00:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "commit staging functions"

STATEMENTS = (
    """CREATE OR REPLACE FUNCTION fieldcheck_stage_change(
        scopes text[], entity_types text[], entity_ids uuid[], payloads bytea[], at timestamptz
    ) RETURNS void LANGUAGE plpgsql SET client_min_messages = warning AS $$
    BEGIN
        CREATE TEMP TABLE IF NOT EXISTS fieldcheck_pending_change (
            ord integer PRIMARY KEY, scope text NOT NULL, entity_type text NOT NULL, entity_id uuid NOT NULL,
            payload bytea, updated_at timestamptz NOT NULL
        ) ON COMMIT DELETE ROWS;
        INSERT INTO pg_temp.fieldcheck_pending_change (ord, scope, entity_type, entity_id, payload, updated_at)
        SELECT t.ord, t.scope, t.entity_type, t.entity_id, t.payload, at
        FROM unnest(scopes, entity_types, entity_ids, payloads) WITH ORDINALITY AS t(scope, entity_type, entity_id, payload, ord);
    END;
    $$""",
    """CREATE OR REPLACE FUNCTION fieldcheck_stage_audit(
        ids uuid[], ats timestamptz[], actor_ids uuid[], actor_roles text[], device_ids uuid[], actions text[],
        entity_types text[], entity_ids text[], changes text[], body_hashes text[]
    ) RETURNS void LANGUAGE plpgsql SET client_min_messages = warning AS $$
    BEGIN
        CREATE TEMP TABLE IF NOT EXISTS fieldcheck_pending_audit (
            ord integer PRIMARY KEY, id uuid NOT NULL, at timestamptz NOT NULL, actor_id uuid, actor_role text NOT NULL,
            device_id uuid, action text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL,
            changes json NOT NULL, body_hash text NOT NULL
        ) ON COMMIT DELETE ROWS;
        INSERT INTO pg_temp.fieldcheck_pending_audit
            (ord, id, at, actor_id, actor_role, device_id, action, entity_type, entity_id, changes, body_hash)
        SELECT t.ord, t.id, t.at, t.actor_id, t.actor_role, t.device_id, t.action, t.entity_type, t.entity_id,
               t.changes::json, t.body_hash
        FROM unnest(ids, ats, actor_ids, actor_roles, device_ids, actions, entity_types, entity_ids, changes, body_hashes)
             WITH ORDINALITY AS t(id, at, actor_id, actor_role, device_id, action, entity_type, entity_id, changes,
                                  body_hash, ord);
    END;
    $$""",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in STATEMENTS:
                await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl("DROP FUNCTION IF EXISTS fieldcheck_stage_change(text[], text[], uuid[], bytea[], timestamptz)")
            await engine.run_ddl(
                "DROP FUNCTION IF EXISTS fieldcheck_stage_audit(uuid[], timestamptz[], uuid[], text[], uuid[], text[], "
                "text[], text[], text[], text[])"
            )

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
