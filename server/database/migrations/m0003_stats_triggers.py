"""Statistics freshness: triggers that queue the months a write touched (hand-written, PostgreSQL only).

Each base table the statistics count gets statement-level AFTER triggers with
transition tables, so a sync push that writes 500 item results costs one
small INSERT into ``stats_dirty_month``, not 500. The next statistics read
recounts the queued months (``server.stats.service.refresh``). An enterprise
moving district or sector, or closing, queues a NULL month: recount all.
Statistics need PostgreSQL: on the embedded SQLite engine this migration
does nothing and the statistics API answers 503 (unavailable).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-29T00:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics dirty-month triggers"

_TZ = "Asia/Shanghai"


def _month(expr: str) -> str:
    return f"date_trunc('month', ({expr}) AT TIME ZONE '{_TZ}')::date"


#: table → SELECT of the affected months from the transition table ``{rows}``.
MONTHS_OF: dict[str, str] = {
    "inspection": f"SELECT {_month('x.submitted_at')} FROM {{rows}} x",
    "item_result": f"SELECT {_month('i.submitted_at')} FROM {{rows}} x JOIN inspection i ON i.id = x.inspection",
    "inspection_inspector": (
        f"SELECT {_month('i.submitted_at')} FROM {{rows}} x JOIN inspection i ON i.id = x.inspection"
    ),
    "hazard": f"SELECT {_month('x.found_at')} FROM {{rows}} x",
    "violation_record": f"SELECT {_month('x.recorded_at')} FROM {{rows}} x",
    "enforcement_action": f"SELECT {_month('COALESCE(x.effective_at, x.decided_at)')} FROM {{rows}} x",
    "recheck": f"SELECT {_month('x.result_at')} FROM {{rows}} x",
    "spot_check_task": "SELECT date_trunc('month', x.planned_date)::date FROM {rows} x",
    "spot_check_campaign": (
        "SELECT date_trunc('month', t.planned_date)::date FROM {rows} x JOIN spot_check_task t ON t.campaign = x.id"
    ),
}

_EVENTS = {
    "insert": ("INSERT", "REFERENCING NEW TABLE AS new_rows", ["new_rows"]),
    "update": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", ["old_rows", "new_rows"]),
    "delete": ("DELETE", "REFERENCING OLD TABLE AS old_rows", ["old_rows"]),
}


def _statements() -> list[str]:
    out: list[str] = []
    for table, select in MONTHS_OF.items():
        for event, (verb, referencing, rows) in _EVENTS.items():
            name = f"stats_dirty_{table}_{event}"
            months = " UNION ".join(select.format(rows=r) for r in rows)
            out.append(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO stats_dirty_month (month, marked_at) "
                f"SELECT DISTINCT m.month, now() FROM ({months}) AS m(month) WHERE m.month IS NOT NULL; "
                f"RETURN NULL; END $$"
            )
            out.append(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            out.append(
                f'CREATE TRIGGER {name} AFTER {verb} ON "{table}" {referencing} '
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    out.append(
        "CREATE OR REPLACE FUNCTION stats_dirty_enterprise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO stats_dirty_month (month, marked_at) VALUES (NULL, now()); RETURN NULL; END $$"
    )
    out.append('DROP TRIGGER IF EXISTS stats_dirty_enterprise ON "enterprise"')
    out.append(
        'CREATE TRIGGER stats_dirty_enterprise AFTER UPDATE ON "enterprise" FOR EACH ROW '
        "WHEN (OLD.district IS DISTINCT FROM NEW.district OR OLD.sector IS DISTINCT FROM NEW.sector "
        "OR (OLD.operating_status = 'closed') IS DISTINCT FROM (NEW.operating_status = 'closed')) "
        "EXECUTE FUNCTION stats_dirty_enterprise()"
    )
    # Overdue hazards are counted live; this keeps that read to the open ones.
    out.append(
        "CREATE INDEX IF NOT EXISTS ix_hazard_open_deadline ON hazard (deadline_date) WHERE status <> 'closed'"
    )
    return out


def _drop_statements() -> list[str]:
    out = ["DROP INDEX IF EXISTS ix_hazard_open_deadline", 'DROP TRIGGER IF EXISTS stats_dirty_enterprise ON "enterprise"']
    out.append("DROP FUNCTION IF EXISTS stats_dirty_enterprise()")
    for table in MONTHS_OF:
        for event in _EVENTS:
            name = f"stats_dirty_{table}_{event}"
            out.append(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        if not isinstance(engine, PostgresEngine):
            return
        for statement in _statements():
            await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        if not isinstance(engine, PostgresEngine):
            return
        for statement in _drop_statements():
            await engine.run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
