"""The audit chain: links, tamper detection, and concurrent writers on PostgreSQL."""

import asyncio
import uuid

from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from tests.server.audit.tampering import forced

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
    await forced("""UPDATE audit_entry SET changes = '{"i": 99}' WHERE seq = 3""")
    report = await audit_service.verify()
    assert not report.ok
    assert report.broken_seq == 3 and report.broken_id == target["id"]
    assert "content" in report.reason


async def test_deleted_row_is_named_as_missing(client):
    await _write(4, "d")
    await forced("DELETE FROM audit_entry WHERE seq = 2")
    report = await audit_service.verify()
    assert not report.ok and report.broken_seq == 2 and "missing" in report.reason


async def test_changing_an_entry_id_is_detected(client):
    await _write(3, "id")
    rows = await AuditEntry.select(AuditEntry.seq, AuditEntry.chain_version).order_by(AuditEntry.seq)
    assert [r["chain_version"] for r in rows] == [audit_service.CHAIN_VERSION] * 3
    forged = uuid.uuid4()
    await forced(f"UPDATE audit_entry SET id = '{forged}' WHERE seq = 2")
    report = await audit_service.verify()
    assert not report.ok and report.broken_seq == 2 and report.broken_id == forged
    assert "content" in report.reason


def test_version_1_hash_is_what_entries_before_m0009_carry():
    """The value the pre-m0009 code computed for this entry: old chains keep verifying."""
    import datetime as dt

    digest = audit_service.entry_hash(
        seq=7, at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), actor_id=uuid.UUID(int=1),
        actor_role="supervisor", device_id=None, action="hazard.create", entity_type="hazard", entity_id="h-1",
        changes={"level": "general", "n": [1, 2]}, prev_hash="a" * 64, entry_id=uuid.uuid4(), version=1,
    )
    assert digest == "f2df2d920b41d134f45b2ea9e0e1c181bd684ae223297234e6e4196ca61ad470"


async def _legacy_chain(n: int) -> None:
    """Entries as the flush before m0009 wrote them: hashed without their id, chain_version 1."""
    import datetime as dt

    prev = audit_service.GENESIS_HASH
    for seq in range(1, n + 1):
        fields = dict(
            at=dt.datetime.now(dt.UTC), actor_id=ACTOR.user_id, actor_role="supervisor", device_id=None,
            action="test.legacy", entity_type="thing", entity_id=f"old-{seq}", changes={"seq": seq},
        )
        entry_id = uuid.uuid4()
        digest = audit_service.entry_hash(seq=seq, prev_hash=prev, entry_id=entry_id, version=1, **fields)
        await AuditEntry.insert(AuditEntry(id=entry_id, seq=seq, prev_hash=prev, hash=digest, chain_version=1, **fields))
        prev = digest


async def test_a_version_1_chain_stays_verifiable_and_cannot_be_rejoined_by_a_downgrade(client):
    await _legacy_chain(2)
    await _write(2, "new")
    rows = await AuditEntry.select(AuditEntry.chain_version).order_by(AuditEntry.seq)
    assert [r["chain_version"] for r in rows] == [1, 1, audit_service.CHAIN_VERSION, audit_service.CHAIN_VERSION]
    report = await audit_service.verify()
    assert report.ok and report.checked == 4
    # Passing a version-2 entry off as version 1 (whose hash ignores the id) is caught.
    await forced("UPDATE audit_entry SET chain_version = 1 WHERE seq = 4")
    report = await audit_service.verify()
    assert not report.ok and report.broken_seq == 4 and "version" in report.reason
