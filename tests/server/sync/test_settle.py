"""A commit takes no lock and never loses what it left to be numbered (PostgreSQL; ``server.database``).

A push commits its results while the chain lock is held elsewhere: the check's rows are in the database
before the feed and the audit chain number them, and the request answers once a settle has. A settle
killed right after the commit leaves the entries pending, not lost: the next settle numbers them, the
phone pulls them and the chain verifies with them in it.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from schemas import sync as wire
from schemas.inspections import RecordItemResult
from server import database
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.inspections.tables import ItemResult
from tests.server.sync.conftest import make_phone


async def _pending(admin: asyncpg.Connection) -> tuple[int, int]:
    return (await admin.fetchval("SELECT count(*) FROM change_pending"),
            await admin.fetchval("SELECT count(*) FROM audit_pending"))


async def _waiting_settle(admin: asyncpg.Connection) -> list[asyncpg.Record]:
    return await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%fieldcheck_settle_audit%'"
        " AND pid <> pg_backend_pid() AND datname = current_database()")


async def _push_while_the_chain_lock_is_held(client, team, app, admin):  # type: ignore[no-untyped-def]
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    batch = [RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass")
             for item in team.items]
    before = await ItemResult.count()
    await admin.execute("SELECT pg_advisory_lock($1)", database.CHAIN_LOCK_KEY)
    task = asyncio.create_task(phone.push(batch))
    for _ in range(300):
        if await ItemResult.count() > before and await _waiting_settle(admin):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # the push's settle queues right after its commit (the loop's may queue beside it)
    assert await _waiting_settle(admin), "the push's settle never queued for the chain lock"
    return phone, inspection, batch, before, task


async def test_a_push_commits_without_the_chain_lock_and_answers_once_its_entries_are_numbered(client, team, app):
    admin = await asyncpg.connect(app.state.settings.database.url)
    try:
        phone, inspection, batch, before, task = await _push_while_the_chain_lock_is_held(client, team, app, admin)
        assert not task.done(), "the push answered before its feed entries were numbered"
        assert await ItemResult.count() == before + len(batch), "the push's commit waited for the chain lock"
        changes, entries = await _pending(admin)
        assert changes >= len(batch) and entries >= 1
        await admin.execute("SELECT pg_advisory_unlock($1)", database.CHAIN_LOCK_KEY)
        outcomes = await task
    finally:
        await admin.close()
    assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes
    replica, _ = await phone.pull_all()
    assert {str(m.id) for m in batch} <= {key[1] for key in replica if key[0] == "item_result"}


async def test_a_settle_lost_after_the_commit_leaves_the_entries_pending_and_the_next_settle_numbers_them(
    client, team, app
):
    admin = await asyncpg.connect(app.state.settings.database.url)
    try:
        phone, inspection, batch, before, task = await _push_while_the_chain_lock_is_held(client, team, app, admin)
        for waiting in await _waiting_settle(admin):  # the push's settle (and the loop's, if it queued too) is lost
            await admin.execute("SELECT pg_terminate_backend($1)", waiting["pid"])
        outcomes = await task  # the results were committed: the phone is told so
        assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes
        changes, entries = await _pending(admin)
        assert changes >= len(batch) and entries >= 1, "the lost settle took the pending entries with it"
        audited = await AuditEntry.count()
        await admin.execute("SELECT pg_advisory_unlock($1)", database.CHAIN_LOCK_KEY)
        await database.settle()  # what the loop of every process does within a second
        assert await _pending(admin) == (0, 0)
    finally:
        await admin.close()
    assert await AuditEntry.count() > audited
    replica, _ = await phone.pull_all()
    assert {str(m.id) for m in batch} <= {key[1] for key in replica if key[0] == "item_result"}
    report = await audit_service.verify()
    assert report.ok and report.checked == await AuditEntry.count(), report.reason


async def test_settle_refuses_to_run_inside_a_unit_of_work(app):
    async with database.transaction():
        try:
            await database.settle()
        except RuntimeError as refused:
            assert "outside a unit of work" in str(refused)
        else:
            raise AssertionError("settle ran inside a unit of work: it would wait on a second pooled connection")


async def test_a_bulk_command_settles_once_at_the_end_and_numbers_every_commit(app, monkeypatch):
    from schemas.vocab import Role
    from server.accounts.policy import Actor

    def no_wait() -> None:
        raise AssertionError("a commit inside settled_at_end waited for a settle")

    actor = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR)
    entities = [str(uuid.uuid4()) for _ in range(5)]
    async with database.settled_at_end():
        monkeypatch.setattr(database, "_settler", no_wait)
        for n, entity in enumerate(entities, start=1):
            async with database.transaction():
                audit_service.record(actor, "test.bulk", "thing", entity, {"n": n})
    monkeypatch.undo()
    admin = await asyncpg.connect(app.state.settings.database.url)
    try:
        assert await _pending(admin) == (0, 0)
    finally:
        await admin.close()
    rows = await AuditEntry.select(AuditEntry.seq, AuditEntry.entity_id).where(
        AuditEntry.entity_id.is_in(entities)).order_by(AuditEntry.seq)
    assert [r["entity_id"] for r in rows] == entities  # numbered in commit order
    assert (await audit_service.verify()).ok
