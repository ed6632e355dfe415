"""The statistics triggers queue a write's month in whatever zone FIELDCHECK_TIMEZONE names, not Asia/Shanghai's.

m0003 (PostgreSQL) and m0022 (SQLite) cut the month of a timestamp at Beijing midnight, written into the
trigger text, while the statistics count in the configured zone: in another zone a write within a few hours
of a month's end queued the wrong month, and that month's figures stayed stale until a full recount.
A trigger cannot read the setting, so it now queues both months the timestamp can fall in, in any zone
on earth (UTC-12 to UTC+14): the month of ``ts - 12 h`` and the month of ``ts + 14 h`` (the same month
except near a month's end). Queuing one month too many costs one recount of it; queuing the wrong one
cost correct figures. Dates (a task's planned day) and the enterprise trigger carry no zone and stay.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

from server.database.migrations import m0003_stats_triggers as pg_triggers
from server.database.migrations import m0022_stats_on_sqlite as sqlite_triggers

ID = "2026-12-04T00:00:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics triggers: a write's month in any time zone"

#: The earliest and latest offsets of a civil time zone from UTC, as the interval each side adds.
_EARLIEST, _LATEST = "-12 hours", "+14 hours"

#: Timestamp columns by table, and the join that reaches them (``x`` is the written row).
_STAMPED: dict[str, tuple[str, str]] = {
    "inspection": ("x.submitted_at", ""),
    "item_result": ("i.submitted_at", "JOIN inspection i ON i.id = x.inspection"),
    "inspection_inspector": ("i.submitted_at", "JOIN inspection i ON i.id = x.inspection"),
    "hazard": ("x.found_at", ""),
    "violation_record": ("x.recorded_at", ""),
    "enforcement_action": ("COALESCE(x.effective_at, x.decided_at)", ""),
    "recheck": ("x.result_at", ""),
}


def _pg_select(stamp: str, join: str) -> str:
    """m0003's SELECT of months from the transition table ``{rows}``: both candidate months of each row."""
    months = ", ".join(
        f"(date_trunc('month', ({stamp}) AT TIME ZONE 'UTC' + interval '{shift}')::date)" for shift in (_EARLIEST, _LATEST)
    )
    return f"SELECT v.m FROM {{rows}} x {join} CROSS JOIN LATERAL (VALUES {months}) AS v(m)"


def _sqlite_select(stamp: str, join: str) -> str:
    """m0022's SELECT of months (column ``m``) of the row ``{row}``: both candidate months."""
    if join:  # through the inspection the row belongs to
        return " UNION ".join(
            f"SELECT date(i.submitted_at, '{shift}', 'start of month') AS m FROM inspection i WHERE i.id = {{row}}.inspection"
            for shift in (_EARLIEST, _LATEST)
        )
    stamp = stamp.replace("x.", "{row}.")
    return " UNION ".join(f"SELECT date({stamp}, '{shift}', 'start of month') AS m" for shift in (_EARLIEST, _LATEST))


def _generated(module, months_of: dict[str, str]) -> list[str]:
    """The statements ``module`` (m0003 or m0022) makes with ``months_of`` as its month selects."""
    generate = module._statements if module is pg_triggers else module._sqlite_statements
    saved = module.MONTHS_OF
    module.MONTHS_OF = months_of
    try:
        statements = generate()
    finally:
        module.MONTHS_OF = saved
    # Only the month triggers (on PostgreSQL their functions, the triggers calling them stay): the enterprise
    # trigger, the open-hazard index and m0022's full recount carry no month and are in place already.
    wanted = ("CREATE OR REPLACE FUNCTION stats_dirty_",) if module is pg_triggers else (
        "DROP TRIGGER IF EXISTS stats_dirty_", "CREATE TRIGGER stats_dirty_")
    return [s for s in statements if s.startswith(wanted) and "stats_dirty_enterprise" not in s]


def _statements(*, any_zone: bool) -> list[str]:
    module = pg_triggers if isinstance(engine_finder(), PostgresEngine) else sqlite_triggers
    select = _pg_select if module is pg_triggers else _sqlite_select
    months_of = {**module.MONTHS_OF, **({t: select(*s) for t, s in _STAMPED.items()} if any_zone else {})}
    return _generated(module, months_of)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create() -> None:
        for statement in _statements(any_zone=True):
            await engine_finder().run_ddl(statement)

    async def restore() -> None:
        for statement in _statements(any_zone=False):
            await engine_finder().run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(restore)
    return manager
