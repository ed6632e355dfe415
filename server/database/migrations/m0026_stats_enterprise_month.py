"""Coverage and repeat offenders kept per period: the enterprises each department checked in each month, and
重复违章人员数 per period for every combination of district, sector, department and recorder.

``stats_enterprise_month`` is one row per (month, enterprise, department) with
checks, and the enterprise's district, sector and whether it is in the registry
(not closed). A month's recount rewrites only that month's rows from its own
checks; the month, quarter and year coverage (``stats_coverage``) are then
counted from these few rows instead of from every check of the year
(``server.stats.service``). Piccolo makes the table as ``server.stats.tables``
declares it; ``stats_repeat_offenders`` is counted the same way from ``stats_person_monthly``, so a
dashboard read takes one row per group instead of grouping a year of people. A full recount is queued so
an existing database fills both.
"""

from piccolo.columns.column_types import UUID, Boolean, Date, Integer, Serial, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

from server.database.migration_sql import TablesThenSQL, statements

ID = "2026-12-04T00:00:26:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics: enterprises checked per month and department, repeat offenders per period"


def _params(**own: object) -> dict[str, object]:
    params: dict[str, object] = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(own)
    return params


_ENTERPRISE_MONTH = (
    ("id", "Serial", Serial, {"primary_key": True}),
    ("month", "Date", Date, {"default": DateNow(), "index": True}),
    ("enterprise", "UUID", UUID, {"default": UUID4()}),
    ("department_id", "UUID", UUID, {"default": None, "null": True}),
    ("district", "Varchar", Varchar, {"length": 32, "default": ""}),
    ("sector", "Varchar", Varchar, {"length": 32, "default": ""}),
    ("registered", "Boolean", Boolean, {"default": False}),
    ("checks", "Integer", Integer, {"default": 0}),
)
_NULL_UUID = {"default": None, "null": True}
_NULL_TEXT = {"length": 32, "default": None, "null": True}
_REPEAT_OFFENDERS = (
    ("id", "Serial", Serial, {"primary_key": True}),
    ("grain", "Varchar", Varchar, {"length": 8, "default": ""}),
    ("period_start", "Date", Date, {"default": DateNow(), "index": True}),
    ("grouping", "Integer", Integer, {"default": 0}),
    ("district", "Varchar", Varchar, _NULL_TEXT),
    ("sector", "Varchar", Varchar, _NULL_TEXT),
    ("department_id", "UUID", UUID, _NULL_UUID),
    ("inspector_id", "UUID", UUID, _NULL_UUID),
    ("people", "Integer", Integer, {"default": 0}),
)
_TABLES = (
    ("StatsEnterpriseMonth", "stats_enterprise_month", _ENTERPRISE_MONTH),
    ("StatsRepeatOffenders", "stats_repeat_offenders", _REPEAT_OFFENDERS),
)


async def forwards() -> TablesThenSQL:
    manager = TablesThenSQL(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)
    for table_class, tablename, _ in _TABLES:
        manager.add_table(class_name=table_class, tablename=tablename, schema=None, columns=None)
    for table_class, tablename, columns in _TABLES:
        for name, class_name, column_class, own in columns:
            manager.add_column(
                table_class_name=table_class,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=class_name,
                column_class=column_class,
                params=_params(**own),
                schema=None,
            )
    # A database that already holds checks fills it (and recounts the coverage from it) on the next round.
    manager.after.append(statements(
        "INSERT INTO stats_dirty_month (month, marked_at) SELECT NULL, CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM inspection)"
    ))
    return manager
