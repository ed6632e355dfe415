"""Statistics: the rollups' generation, changed by every recount, so a process may keep counts between recounts.

``stats_generation`` holds a token per month (``month`` NULL: the last full rebuild) that the background
refresher (``server.stats.rollup``) writes anew in the transaction of every recount, the only writes the
rollups get. Two reads that see the same tokens read the same rollups, so a process keeps the numbers it
counted from them per (scope, query, tokens) and answers again from memory until a token changes
(``server.stats.cache``). Tokens are random, never counts: a database emptied or cloned from a template
cannot bring an old token back with other rollups.
"""

import uuid

from piccolo.columns.column_types import Date, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from server.database.migration_sql import TablesThenSQL, statements
from server.database.migrations.m0026_stats_enterprise_month import _params

ID = "2026-12-04T00:00:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "statistics: the rollups' generation token"

_COLUMNS = (
    ("id", "Serial", Serial, {"primary_key": True}),
    ("month", "Date", Date, {"default": None, "null": True}),
    ("token", "Varchar", Varchar, {"length": 36, "default": ""}),
    ("refreshed_at", "Timestamptz", Timestamptz, {"default": TimestamptzNow()}),
)


async def forwards() -> TablesThenSQL:
    manager = TablesThenSQL(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)
    manager.add_table(class_name="StatsGeneration", tablename="stats_generation", schema=None, columns=None)
    for name, class_name, column_class, own in _COLUMNS:
        manager.add_column(
            table_class_name="StatsGeneration",
            tablename="stats_generation",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=_params(**own),
            schema=None,
        )
    # The rollups a database already holds get a token of their own, so no two databases share one by chance.
    manager.after.append(statements(
        f"INSERT INTO stats_generation (month, token, refreshed_at) VALUES (NULL, '{uuid.uuid4().hex}', CURRENT_TIMESTAMP)"
    ))
    return manager
