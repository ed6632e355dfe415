"""A store that acknowledges a write proves nothing: what it hands back is hashed before any record says "stored".

moto accepts a wrong ``x-amz-checksum-sha256`` without a word, and a disk can return other bytes than it was
given; these tests put such a store under the API (on the filesystem and on moto) and show the upload
refused with nothing recorded, then accepted once the store returns what it holds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from server.audit.tables import AuditEntry
from server.evidence.tables import Blob
from storage import keys

from . import images
from .conftest import Field


class CorruptingStore:
    """The real store, except that every read of ``prefix`` comes back with one byte changed."""

    def __init__(self, store: Any, prefix: str) -> None:
        self._store, self._prefix = store, prefix
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get(self, key: str) -> bytes:
        return self._spoil(key, await self._store.get(key))

    async def stream(self, key: str, **kwargs: Any) -> AsyncIterator[bytes]:
        first = True
        async for block in self._store.stream(key, **kwargs):
            yield self._spoil(key, block) if first else block
            first = False

    def _spoil(self, key: str, block: bytes) -> bytes:
        if not key.startswith(self._prefix) or not block:
            return block
        self.reads += 1
        return bytes([block[0] ^ 0x01]) + block[1:]


async def _attached(field: Field, data: bytes) -> uuid.UUID:
    (outcome,) = [await field.attach(data)]
    return outcome.entity_id  # type: ignore[union-attr]


async def test_a_store_returning_other_bytes_than_it_was_given_records_nothing(field: Field) -> None:
    data = images.photo(seed=91)
    digest = hashlib.sha256(data).hexdigest()
    evidence_id = await _attached(field, data)
    real = field.env.app.state.evidence_store
    lying = CorruptingStore(real, "blobs/")
    field.env.app.state.evidence_store = lying
    try:
        response = await field.upload(data)  # one chunk: stored whole, then read back and hashed
    finally:
        field.env.app.state.evidence_store = real
    assert lying.reads, "the upload never read back what it stored"
    assert response.status_code == 503 and response.json()["code"] == "unavailable", response.text
    assert (await field.evidence(evidence_id))["status"] == "pending"
    assert not await Blob.exists().where(Blob.sha256 == digest)
    assert not await AuditEntry.exists().where(
        AuditEntry.action == "evidence.store", AuditEntry.entity_id == str(evidence_id)
    )
    # The store tells the truth again: the same upload lands (the locked object is already there, and verified).
    response = await field.upload(data)
    assert response.status_code == 200 and response.json()["status"] == "complete", response.text
    assert (await field.evidence(evidence_id))["status"] == "stored"
    assert (await field.download(evidence_id)).content == data


async def test_a_joined_upload_the_store_hands_back_changed_is_refused_and_restarted(field: Field) -> None:
    data = images.big_jpeg(6 * 1024 * 1024, seed=92)
    evidence_id = await _attached(field, data)
    real = field.env.app.state.evidence_store
    lying = CorruptingStore(real, keys.STAGING_PREFIX)
    field.env.app.state.evidence_store = lying
    try:
        response = await field.upload(data)  # two chunks, joined in the store, read back before it is kept
    finally:
        field.env.app.state.evidence_store = real
    assert lying.reads, "the upload never read back what it joined"
    assert response.status_code == 422 and response.json()["code"] == "evidence_hash_mismatch", response.text
    assert (await field.evidence(evidence_id))["status"] == "pending"
    assert not await Blob.exists().where(Blob.sha256 == hashlib.sha256(data).hexdigest())
    response = await field.upload(data)
    assert response.status_code == 200 and response.json()["status"] == "complete", response.text
    assert (await field.evidence(evidence_id))["status"] == "stored"
