"""What someone holding the database role can do to the audit table despite its append-only trigger."""

from server import database


async def forced(*statements: str) -> None:
    """Run ``statements`` on ``audit_entry`` with the append-only trigger turned off for them."""
    engine = database.get_engine()
    async with engine.transaction():
        await engine.run_ddl("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        for statement in statements:
            await engine.run_ddl(statement)
        await engine.run_ddl("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
