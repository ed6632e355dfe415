"""The audit chain: links, tamper detection, and concurrent writers on PostgreSQL."""

import asyncio
import uuid

from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.audit.tables import AuditEntry

ACTOR = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR)


async def _write(n: int, label: str) -> None:
    for i in range(n):
        async with database.transaction():
            audit_service.record(ACTOR, "test.step", "thing", f"{label}-{i}", {"i": i, "label": label})


async def test_chain_verifies_and_seq_has_no_gaps(client):
    await _write(5, "a")
    report = await audit_service.verify()
    assert report.ok and report.checked == 5
    rows = await AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]


async def test_concurrent_writers_do_not_fork_the_chain(client):
    await asyncio.gather(*(_write(25, f"w{k}") for k in range(8)))
    report = await audit_service.verify()
    assert report.ok and report.checked == 200


async def test_rolled_back_transaction_leaves_no_entry(client):
    class Boom(Exception):
        pass

    try:
        async with database.transaction():
            audit_service.record(ACTOR, "test.step", "thing", "x", {})
            raise Boom
    except Boom:
        pass
    assert await AuditEntry.count() == 0


async def test_editing_a_row_is_refused_and_a_forced_edit_is_named(client):
    await _write(4, "t")
    target = await AuditEntry.select(AuditEntry.id).where(AuditEntry.seq == 3).first()
    engine = database.get_engine()
    # The trigger refuses an ordinary UPDATE …
    try:
        await engine.run_ddl("UPDATE audit_entry SET action = 'x' WHERE seq = 3")
        raise AssertionError("the append-only trigger did not fire")
    except Exception as exc:  # asyncpg raises RaiseError from the trigger
        assert "append-only" in str(exc)
    # … but someone with the power to disable it is still caught by the chain.
    async with engine.transaction():
        await engine.run_ddl("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        await engine.run_ddl("""UPDATE audit_entry SET changes = '{"i": 99}' WHERE seq = 3""")
        await engine.run_ddl("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    report = await audit_service.verify()
    assert not report.ok
    assert report.broken_seq == 3 and report.broken_id == target["id"]
    assert "content" in report.reason


async def test_deleted_row_is_named_as_missing(client):
    await _write(4, "d")
    engine = database.get_engine()
    async with engine.transaction():
        await engine.run_ddl("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        await engine.run_ddl("DELETE FROM audit_entry WHERE seq = 2")
        await engine.run_ddl("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    report = await audit_service.verify()
    assert not report.ok and report.broken_seq == 2 and "missing" in report.reason
