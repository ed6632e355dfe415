"""The single Piccolo app holding every domain's tables and the migrations folder.

A domain with tables lists its ``tables`` module in ``TABLE_MODULES``.
"""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

from server.database import piccolo_speedups  # noqa: F401 - before any query is built (see its docstring)

TABLE_MODULES = [
    "server.accounts.tables",
    "server.registry.tables",
    "server.checklists.tables",
    "server.inspections.tables",
    "server.hazards.tables",
    "server.violations.tables",
    "server.enforcement.tables",
    "server.spotchecks.tables",
    "server.evidence.tables",
    "server.sync.tables",
    "server.audit.tables",
    "server.stats.tables",
    "server.jobs.tables",
    "server.notifications.tables",
    "server.documents.tables",
]

APP_CONFIG = AppConfig(
    app_name="fieldcheck",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
