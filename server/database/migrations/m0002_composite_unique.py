"""Unique indexes over more than one column (hand-written).

Piccolo adds composite UNIQUE constraints with ``ALTER TABLE … ADD
CONSTRAINT``, which SQLite cannot run; ``CREATE UNIQUE INDEX`` works on both
engines, so composite keys live here. Add a line to ``UNIQUE_INDEXES`` when a
table gains one, and say so in that table's docstring.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T00:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"

UNIQUE_INDEXES: list[tuple[str, str, tuple[str, ...]]] = [
    ("uq_conflict_of_interest_user_enterprise", "conflict_of_interest", ("user", "enterprise")),
    ("uq_checklist_template_code_version", "checklist_template", ("code", "version")),
    ("uq_inspection_inspector_inspection_user", "inspection_inspector", ("inspection", "user")),
    ("uq_item_result_inspection_item", "item_result", ("inspection", "item")),
    ("uq_hazard_escalation_hazard_step", "hazard_escalation", ("hazard", "step")),
    ("uq_recheck_assignee_recheck_user", "recheck_assignee", ("recheck", "user")),
    ("uq_spot_check_draw_campaign_attempt", "spot_check_draw", ("campaign", "attempt")),
    ("uq_device_mutation_device_seq", "device_mutation", ("device", "seq")),
    ("uq_change_scope_entity", "change", ("scope", "entity_type", "entity_id")),
    ("uq_change_scope_seq", "change", ("scope", "seq")),
    ("uq_upload_part_session_number", "upload_part", ("session", "number")),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="fieldcheck", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for name, table, columns in UNIQUE_INDEXES:
            cols = ", ".join(f'"{c}"' for c in columns)
            await engine.run_ddl(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{table}" ({cols})')

    async def drop_indexes() -> None:
        engine = engine_finder()
        for name, _, _ in UNIQUE_INDEXES:
            await engine.run_ddl(f'DROP INDEX IF EXISTS "{name}"')

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
