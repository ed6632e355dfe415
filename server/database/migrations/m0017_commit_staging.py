"""Commit staging (hand-written, PostgreSQL only): functions that put a transaction's feed and audit items in temp tables.

The unit of work's commit runs parameterless statements that read what these
functions staged, in its commit round trip (``server.database``; since m0030
they move the items to the pending tables a settle numbers). Their input is staged before that, by
these functions, into ``ON COMMIT DELETE ROWS`` temporary tables that each
function creates on first use in a session (a temp table made in a rolled-back
transaction is gone again, so no caller can know it exists). On SQLite the
hooks write directly and this migration does nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.database.migration_sql import postgres_only

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


BACKWARDS = (
    "DROP FUNCTION IF EXISTS fieldcheck_stage_change(text[], text[], uuid[], bytea[], timestamptz)",
    "DROP FUNCTION IF EXISTS fieldcheck_stage_audit(uuid[], timestamptz[], uuid[], text[], uuid[], text[], "
    "text[], text[], text[], text[])",
)


async def forwards() -> MigrationManager:
    return postgres_only(ID, DESCRIPTION, STATEMENTS, BACKWARDS)
