"""The migrations and the tables say the same: Piccolo's auto-migration finds nothing to do, and the
database the migrations build has every column with the table's type, length and nullability.

A table changed without a migration (or a hand-written migration that creates something else
than the table says) fails here; the fix is a new migration, never an edit of an applied one.
"""

from __future__ import annotations

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import Array, Column, ForeignKey, Numeric, Varchar

from server import database
from server.database.piccolo_app import APP_CONFIG

#: Piccolo column class -> PostgreSQL's ``format_type`` name.
_PG_TYPES = {
    "Text": "text", "UUID": "uuid", "Integer": "integer", "Serial": "integer", "BigInt": "bigint",
    "BigSerial": "bigint", "SmallInt": "smallint", "Boolean": "boolean", "Timestamptz": "timestamp with time zone",
    "Timestamp": "timestamp without time zone", "Date": "date", "Time": "time without time zone", "JSON": "json",
    "JSONB": "jsonb", "Real": "real", "DoublePrecision": "double precision", "Bytea": "bytea", "Interval": "interval",
}


def _pg_type(column: Column) -> str:
    if isinstance(column, ForeignKey):
        return _pg_type(column._foreign_key_meta.resolved_target_column)
    if isinstance(column, Varchar):
        return f"character varying({column.length})"
    if isinstance(column, Array):
        return _pg_type(column.base_column) + "[]"
    if isinstance(column, Numeric):
        return f"numeric({column.precision},{column.scale})" if column.digits else "numeric"
    return _PG_TYPES[type(column).__name__]


async def test_piccolo_auto_migration_finds_no_difference_from_the_migrations():
    statements = await AutoMigrationManager(auto_input="y").get_alter_statements(app_config=APP_CONFIG)
    pending = [line for group in statements for line in group.statements]
    assert pending == [], "the tables differ from the migrations; add a migration:\n" + "\n".join(pending[:20])


async def test_the_migrated_database_has_each_column_as_the_table_declares_it(app):
    rows = await database.get_engine().run_ddl(
        "SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,"
        " a.attnotnull AS not_null FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    )
    found = {(r["table_name"], r["column_name"]): (r["type"], r["not_null"]) for r in rows}
    differences = []
    for table in APP_CONFIG.table_classes:
        for column in table._meta.columns:
            key = (table._meta.tablename, column._meta.db_column_name)
            expected = (_pg_type(column), not column._meta.null or column._meta.primary_key)
            if found.get(key) != expected:
                differences.append(f"{key[0]}.{key[1]}: table says {expected}, database has {found.get(key)}")
    assert differences == [], "\n".join(differences)
