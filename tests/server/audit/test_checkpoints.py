"""Signed checkpoints of the chain's head in the object store: a cut-back or rewritten tail is named."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.settings import AuditSettings, Settings
from storage import keys
from storage.base import ObjectLocked
from tests.conftest import make_settings
from tests.server.audit.tampering import forced
from tests.storage.conftest import filesystem_store, minio_store, store  # noqa: F401 - fixture re-export

ACTOR = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR)
SECRET = "checkpoint-test-key-" + uuid.uuid4().hex


async def _write(n: int, label: str) -> None:
    for i in range(n):
        async with database.transaction():
            audit_service.record(ACTOR, "test.step", "thing", f"{label}-{i}", {"i": i})


async def test_deleting_the_last_entries_is_named_against_the_checkpoint(client, store):
    await _write(5, "t")
    written = await audit_service.write_checkpoint(store, SECRET)
    assert written.ok and written.checkpoint is not None and written.checkpoint.seq == 5
    # The chain alone would still say intact after the cut; against the checkpoint it does not.
    assert (await audit_service.verify(store, SECRET)).ok
    await forced("DELETE FROM audit_entry WHERE seq >= 4")
    assert (await audit_service.verify()).ok
    report = await audit_service.verify(store, SECRET)
    assert not report.ok and report.broken_seq == 4 and report.checked == 3
    assert "entries 4–5 are missing" in report.reason
    # Nor does a new checkpoint bless the shorter chain.
    again = await audit_service.write_checkpoint(store, SECRET)
    assert not again.ok and "missing" in again.reason
    assert (await audit_service.latest_checkpoint(store, SECRET)).seq == 5


async def test_a_rewritten_tail_is_named_even_when_it_grows_past_the_checkpoint(client, store):
    await _write(3, "a")
    assert (await audit_service.write_checkpoint(store, SECRET)).ok
    await forced("DELETE FROM audit_entry WHERE seq = 3")
    await _write(2, "b")  # seq 3 and 4 again: an intact chain by itself, longer than the checkpoint
    assert (await audit_service.verify()).ok
    report = await audit_service.verify(store, SECRET)
    assert not report.ok and report.broken_seq == 3 and "differs from the checkpoint" in report.reason
    refused = await audit_service.write_checkpoint(store, SECRET)
    assert not refused.ok and refused.broken_seq == 3
    assert [info.key async for info in store.list(keys.AUDIT_CHECKPOINT_PREFIX)] == [keys.audit_checkpoint_key(3)]


async def test_checkpoints_follow_the_chain_and_are_retained(client, store):
    first = await audit_service.write_checkpoint(store, SECRET)
    assert first.ok and first.checkpoint.seq == 0
    await _write(2, "c")
    second = await audit_service.write_checkpoint(store, SECRET)
    assert second.ok and second.checkpoint.seq == 2 and second.checkpoint.hash == (
        await audit_service.AuditEntry.select(audit_service.AuditEntry.hash).where(audit_service.AuditEntry.seq == 2).first()
    )["hash"]
    assert (await audit_service.write_checkpoint(store, SECRET)).checkpoint.seq == 2  # nothing new: same head
    info = await store.stat(keys.audit_checkpoint_key(2))
    assert info.locked
    with pytest.raises(ObjectLocked):
        await store.delete(keys.audit_checkpoint_key(2))
    await _write(1, "d")
    report = await audit_service.verify(store, SECRET)
    assert report.ok and report.checked == 3 and report.checkpoint.seq == 2


async def test_a_checkpoint_not_signed_with_the_key_is_refused(client, store):
    await _write(2, "e")
    assert (await audit_service.write_checkpoint(store, "another-key-" + uuid.uuid4().hex)).ok
    report = await audit_service.verify(store, SECRET)
    assert not report.ok and "not signed" in report.reason and report.broken_seq == 2
    assert not (await audit_service.write_checkpoint(store, SECRET)).ok


# --- the key ------------------------------------------------------------------------------


def _production(tmp_path, key: str) -> Settings:
    settings = make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:5432/unused")
    return dataclasses.replace(settings, audit=AuditSettings(checkpoint_key=key))


@pytest.mark.parametrize(
    "key", ["", "changeme-changeme-changeme-changeme", "short-but-random-Xk9", "a" * 64, "your-audit-key-goes-here-0123456789"]
)
def test_production_refuses_a_missing_or_weak_audit_key_at_start_up(tmp_path, key):
    from server.app import create_app

    with pytest.raises(ValueError, match="FIELDCHECK_AUDIT_KEY"):
        create_app(_production(tmp_path, key))


def test_production_accepts_a_strong_audit_key_and_embedded_mode_makes_one(tmp_path):
    strong = "Vq3-" + uuid.uuid4().hex + uuid.uuid4().hex
    assert _production(tmp_path, strong).with_secrets().audit.checkpoint_key == strong
    embedded = dataclasses.replace(make_settings(tmp_path / "e"), audit=AuditSettings())
    made = embedded.with_secrets().audit.checkpoint_key
    assert len(made) >= 32 and embedded.with_secrets().audit.checkpoint_key == made  # kept in the data folder
