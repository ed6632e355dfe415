"""A migration that makes its tables and columns with Piccolo and then runs the SQL Piccolo cannot express.

Piccolo's ``MigrationManager`` runs ``add_raw`` steps *before* its own
operations, so an index on a table the same migration adds has nowhere to go.
:class:`TablesThenSQL` runs Piccolo's operations first and ``after`` (composite
unique indexes, triggers, partial indexes) next, in one transaction; going
back, ``before_backwards`` runs first and Piccolo then drops what it added.
Piccolo's record of the schema (what the drift test compares the tables with)
is the manager's operations, as for any generated migration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

Step = Callable[[], Awaitable[None]]


@dataclass
class TablesThenSQL(MigrationManager):
    after: list[Step] = field(default_factory=list)
    before_backwards: list[Step] = field(default_factory=list)

    async def run(self, backwards: bool = False) -> None:
        async with engine_finder().transaction():
            if backwards and not self.preview:
                for step in self.before_backwards:
                    await step()
            await super().run(backwards=backwards)
            if not backwards and not self.preview:
                for step in self.after:
                    await step()


def statements(*sql: str) -> Step:
    """A step that runs each statement in order on the migration's engine."""

    async def run() -> None:
        engine = engine_finder()
        for statement in sql:
            await engine.run_ddl(statement)

    return run


def postgres_only(migration_id: str, description: str, forwards: Sequence[str], backwards: Sequence[str]) -> MigrationManager:
    """A hand-written migration of raw statements that PostgreSQL runs and SQLite skips (functions, helper tables)."""
    manager = MigrationManager(migration_id=migration_id, app_name="fieldcheck", description=description)

    def run_on_postgres(sql: Sequence[str]) -> Step:
        step = statements(*sql)

        async def run() -> None:
            if isinstance(engine_finder(), PostgresEngine):
                await step()

        return run

    manager.add_raw(run_on_postgres(forwards))
    manager.add_raw_backwards(run_on_postgres(backwards))
    return manager
