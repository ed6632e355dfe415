"""Settled after commit (hand-written, PostgreSQL only): where a commit leaves its feed and audit items to be numbered.

A write transaction no longer takes the chain lock: its commit round trip
moves what it staged (``m0017``'s temporary tables) into ``change_pending``
and ``audit_pending`` and commits, in parallel with every other writer. A
*settle* (``server.database``), a short transaction of its own, then takes the
chain lock and numbers everything pending, of every commit since the last
one: the feed rows into ``change`` (``fieldcheck_settle_change``) and the audit
entries onto the chain (``fieldcheck_settle_audit``), in one round trip.

Order: ``commit_order`` is drawn from ``fieldcheck_commit_order`` once per
statement, when the commit moves its rows here; ``ord`` keeps the order within
the transaction. Two transactions writing the same record hold its row lock in
turn, so the later one draws the higher ``commit_order``. On SQLite the write
transaction is exclusive and the hooks write the numbered tables directly;
this migration does nothing there.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.database.migration_sql import postgres_only

ID = "2026-12-06T00:00:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "commit items pending settlement"

STATEMENTS = (
    "CREATE SEQUENCE IF NOT EXISTS fieldcheck_commit_order",
    """CREATE TABLE IF NOT EXISTS change_pending (
        commit_order bigint NOT NULL, ord integer NOT NULL,
        scope text NOT NULL, entity_type text NOT NULL, entity_id uuid NOT NULL, payload bytea,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (commit_order, ord)
    )""",
    """CREATE TABLE IF NOT EXISTS audit_pending (
        commit_order bigint NOT NULL, ord integer NOT NULL,
        id uuid NOT NULL, at timestamptz NOT NULL, actor_id uuid, actor_role text NOT NULL, device_id uuid,
        action text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL, changes json NOT NULL,
        body_hash text NOT NULL,
        PRIMARY KEY (commit_order, ord)
    )""",
    # Numbers every pending feed entry after the feed's top, in (commit_order, ord) order; of several states of one
    # record in one scope the last committed wins (two writers of one record hold its row lock in turn, so the
    # later one moved its entries later, with the higher commit_order). Run under the chain lock only.
    """CREATE OR REPLACE FUNCTION fieldcheck_settle_change() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
    WITH moved AS (
        DELETE FROM change_pending RETURNING *
    ), latest AS (
        SELECT DISTINCT ON (scope, entity_type, entity_id) *
        FROM moved ORDER BY scope, entity_type, entity_id, commit_order DESC, ord DESC
    )
    INSERT INTO change (seq, scope, entity_type, entity_id, payload, updated_at)
    SELECT head.top + row_number() OVER (ORDER BY l.commit_order, l.ord), l.scope, l.entity_type, l.entity_id,
           l.payload, l.updated_at
    FROM latest AS l, (SELECT coalesce(max(seq), 0) AS top FROM change) AS head
    ON CONFLICT (scope, entity_type, entity_id) DO UPDATE
    SET seq = excluded.seq, payload = excluded.payload, updated_at = excluded.updated_at;
    END;
    $$""",
    # Appends every pending entry after the chain's head, in (commit_order, ord) order, linking each to the one
    # before (the link of server.audit.service.link_hash); returns how many. Run under the chain lock only.
    """CREATE OR REPLACE FUNCTION fieldcheck_settle_audit(genesis text, version integer) RETURNS integer
    LANGUAGE plpgsql SET client_min_messages = warning AS $$
    DECLARE
        appended integer;
    BEGIN
        CREATE TEMP TABLE IF NOT EXISTS fieldcheck_settling_audit (
            ord integer PRIMARY KEY, id uuid NOT NULL, at timestamptz NOT NULL, actor_id uuid, actor_role text NOT NULL,
            device_id uuid, action text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL,
            changes json NOT NULL, body_hash text NOT NULL
        ) ON COMMIT DELETE ROWS;
        WITH moved AS (DELETE FROM audit_pending RETURNING *)
        INSERT INTO pg_temp.fieldcheck_settling_audit
            (ord, id, at, actor_id, actor_role, device_id, action, entity_type, entity_id, changes, body_hash)
        SELECT row_number() OVER (ORDER BY commit_order, moved.ord), id, at, actor_id, actor_role, device_id, action,
               entity_type, entity_id, changes, body_hash
        FROM moved;
        GET DIAGNOSTICS appended = ROW_COUNT;
        IF appended = 0 THEN
            RETURN 0;
        END IF;
        WITH RECURSIVE head AS (
            SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1
        ), link (ord, seq, prev_hash, hash) AS (
            SELECT 0, coalesce((SELECT seq FROM head), 0), ''::text, coalesce((SELECT hash FROM head), genesis)::text
            UNION ALL
            SELECT p.ord, l.seq + 1, l.hash,
                   encode(sha256(convert_to(l.hash || ':' || (l.seq + 1)::text || ':' || p.body_hash, 'UTF8')), 'hex')
            FROM link AS l JOIN pg_temp.fieldcheck_settling_audit AS p ON p.ord = l.ord + 1
        )
        INSERT INTO audit_entry (id, seq, at, actor_id, actor_role, device_id, action, entity_type, entity_id, changes,
                                 prev_hash, hash, chain_version)
        SELECT p.id, l.seq, p.at, p.actor_id, p.actor_role, p.device_id, p.action, p.entity_type, p.entity_id,
               p.changes, l.prev_hash, l.hash, version
        FROM link AS l JOIN pg_temp.fieldcheck_settling_audit AS p ON p.ord = l.ord;
        RETURN appended;
    END;
    $$""",
)


BACKWARDS = (
    "DROP FUNCTION IF EXISTS fieldcheck_settle_audit(text, integer)",
    "DROP FUNCTION IF EXISTS fieldcheck_settle_change()",
    "DROP TABLE IF EXISTS audit_pending",
    "DROP TABLE IF EXISTS change_pending",
    "DROP SEQUENCE IF EXISTS fieldcheck_commit_order",
)


async def forwards() -> MigrationManager:
    return postgres_only(ID, DESCRIPTION, STATEMENTS, BACKWARDS)
