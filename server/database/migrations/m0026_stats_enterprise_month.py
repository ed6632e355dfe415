"""Coverage kept incrementally: the enterprises each department checked in each month.

``stats_enterprise_month`` is one row per (month, enterprise, department) with
checks, and the enterprise's district, sector and whether it is in the registry
(not closed). A month's recount rewrites only that month's rows from its own
checks; the month, quarter and year coverage (``stats_coverage``) are then
counted from these few rows instead of from every check of the year
(``server.stats.service``). Piccolo makes the table as ``server.stats.tables``
declares it; a full recount is queued so an existing database fills it.
"""

from piccolo.columns.column_types import UUID, Boolean, Date, Integer, Serial, Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

from server.database.migration_sql import TablesThenSQL, statements

ID = "2026-12-04T00:00:26:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics: enterprises checked per month and department (incremental coverage)"

_TABLE = "stats_enterprise_month"


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


_COLUMNS = (
    ("id", "Serial", Serial, {"primary_key": True}),
    ("month", "Date", Date, {"default": DateNow(), "index": True}),
    ("enterprise", "UUID", UUID, {"default": UUID4()}),
    ("department_id", "UUID", UUID, {"default": None, "null": True}),
    ("district", "Varchar", Varchar, {"length": 32, "default": ""}),
    ("sector", "Varchar", Varchar, {"length": 32, "default": ""}),
    ("registered", "Boolean", Boolean, {"default": False}),
    ("checks", "Integer", Integer, {"default": 0}),
)


async def forwards() -> TablesThenSQL:
    manager = TablesThenSQL(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)
    manager.add_table(class_name="StatsEnterpriseMonth", tablename=_TABLE, schema=None, columns=None)
    for name, class_name, column_class, own in _COLUMNS:
        manager.add_column(
            table_class_name="StatsEnterpriseMonth",
            tablename=_TABLE,
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
