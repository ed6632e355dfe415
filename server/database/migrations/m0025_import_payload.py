"""Registry imports apply set-based: each staged row keeps the change-feed payload its enterprise will be published with.

``enterprise_import_row.payload`` (both engines, added by Piccolo's manager): the apply prepares
the rows in committed batches (``server.registry.imports``), then one transaction inserts the
enterprises and publishes these payloads from the staging table by SQL.

The SQL after it: an index on ``(batch, credit_code)``, so the check finds a credit code seen
earlier in the same file in the database instead of keeping every code in memory.
"""

from piccolo.columns.column_types import Bytea
from piccolo.columns.indexes import IndexMethod

from server.database.migration_sql import TablesThenSQL, statements

ID = "2026-12-04T00:00:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "registry import: staged change-feed payload"


INDEXES = ('CREATE INDEX "ix_enterprise_import_row_code" ON "enterprise_import_row" ("batch", "credit_code")',)


async def forwards() -> TablesThenSQL:
    manager = TablesThenSQL(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)
    manager.add_column(
        table_class_name="EnterpriseImportRow",
        tablename="enterprise_import_row",
        column_name="payload",
        db_column_name="payload",
        column_class_name="Bytea",
        column_class=Bytea,
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
    manager.after.append(statements(*INDEXES))
    manager.before_backwards.append(statements('DROP INDEX IF EXISTS "ix_enterprise_import_row_code"'))
    return manager
