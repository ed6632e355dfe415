"""Statistics on the embedded SQLite engine too.

- ``stats_dirty_month.failed_at`` (both engines, added by Piccolo's manager): a month whose recount failed
  stays queued, marked, so a read that needs it is refused while the others answer.
- SQLite: row triggers that queue the months a write touched, as
  ``m0003_stats_triggers`` does with statement triggers on PostgreSQL. SQLite
  writers take turns, so a trigger skips a month already queued (one row per
  month, carrying its oldest write's time: what 数据截至 is read from).
- SQLite: a full recount is queued, so a database that already holds records
  gets its rollups from the refresher.

Month arithmetic: timestamps are UTC text; the bureau's zone is a fixed
offset (``server.stats.dialect.OFFSET_HOURS``).
"""

from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

from server.database.migration_sql import TablesThenSQL

ID = "2026-12-04T00:00:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics on SQLite: dirty-month triggers, failed recounts"

_SHIFT = "'+8 hours'"  # Asia/Shanghai; server.stats.dialect refuses a zone with daylight saving


def _month(expr: str) -> str:
    return f"date({expr}, {_SHIFT}, 'start of month')"


def _through_inspection(row: str) -> str:
    return f"SELECT {_month('i.submitted_at')} AS m FROM inspection i WHERE i.id = {row}.inspection"


#: table → SELECT of the months (column ``m``) a row touches; ``{row}`` is NEW or OLD.
MONTHS_OF: dict[str, str] = {
    "inspection": f"SELECT {_month('{row}.submitted_at')} AS m",
    "item_result": _through_inspection("{row}"),
    "inspection_inspector": _through_inspection("{row}"),
    "hazard": f"SELECT {_month('{row}.found_at')} AS m",
    "violation_record": f"SELECT {_month('{row}.recorded_at')} AS m",
    "enforcement_action": f"SELECT {_month('COALESCE({row}.effective_at, {row}.decided_at)')} AS m",
    "recheck": f"SELECT {_month('{row}.result_at')} AS m",
    "spot_check_task": "SELECT date({row}.planned_date, 'start of month') AS m",
    "spot_check_campaign": (
        "SELECT DISTINCT date(t.planned_date, 'start of month') AS m FROM spot_check_task t WHERE t.campaign = {row}.id"
    ),
}

_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '+00:00'"
_EVENTS = {"insert": ("INSERT", ["NEW"]), "update": ("UPDATE", ["OLD", "NEW"]), "delete": ("DELETE", ["OLD"])}


def _sqlite_statements() -> list[str]:
    out = []
    for table, select in MONTHS_OF.items():
        for event, (verb, rows) in _EVENTS.items():
            name = f"stats_dirty_{table}_{event}"
            months = " UNION ".join(select.format(row=r) for r in rows)
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(
                f'CREATE TRIGGER {name} AFTER {verb} ON "{table}" FOR EACH ROW BEGIN '
                f"INSERT INTO stats_dirty_month (month, marked_at) SELECT x.m, {_NOW} FROM ({months}) x "
                "WHERE x.m IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM stats_dirty_month d WHERE d.month = x.m AND d.failed_at IS NULL); END"
            )
    out.append("DROP TRIGGER IF EXISTS stats_dirty_enterprise")
    out.append(
        'CREATE TRIGGER stats_dirty_enterprise AFTER UPDATE ON "enterprise" FOR EACH ROW '
        "WHEN OLD.district IS NOT NEW.district OR OLD.sector IS NOT NEW.sector "
        "OR (OLD.operating_status = 'closed') IS NOT (NEW.operating_status = 'closed') BEGIN "
        f"INSERT INTO stats_dirty_month (month, marked_at) SELECT NULL, {_NOW} WHERE NOT EXISTS "
        "(SELECT 1 FROM stats_dirty_month d WHERE d.month IS NULL AND d.failed_at IS NULL); END"
    )
    out.append(f"INSERT INTO stats_dirty_month (month, marked_at) VALUES (NULL, {_NOW})")
    out.append("CREATE INDEX IF NOT EXISTS ix_hazard_open_deadline ON hazard (deadline_date) WHERE status <> 'closed'")
    return out


async def forwards() -> TablesThenSQL:
    manager = TablesThenSQL(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    manager.add_column(
        table_class_name="StatsDirtyMonth",
        tablename="stats_dirty_month",
        column_name="failed_at",
        db_column_name="failed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )


    async def create() -> None:
        engine = engine_finder()
        if not isinstance(engine, PostgresEngine):
            for statement in _sqlite_statements():
                await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        if not isinstance(engine, PostgresEngine):
            for table in MONTHS_OF:
                for event in _EVENTS:
                    await engine.run_ddl(f"DROP TRIGGER IF EXISTS stats_dirty_{table}_{event}")
            await engine.run_ddl("DROP TRIGGER IF EXISTS stats_dirty_enterprise")

    manager.after.append(create)
    manager.before_backwards.append(drop)
    return manager
