"""A photo is not read back only from a store that has refused a write with a wrong checksum (``store_trust``).

moto, the tests' S3, accepts any ``x-amz-checksum-sha256``: it is probed, found checking nothing, and every
upload to it is read back and hashed. The same moto behind a client that refuses a wrong checksum, as S3 and
MinIO do, is trusted: a photo sent in one piece is stored with its SHA-256 and not read back. A store that
refuses every write, or does not answer, is not trusted.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest
from minio.error import S3Error

from server.evidence import store_trust
from server.evidence.tables import Blob
from storage import keys
from storage.base import StorageUnavailable
from storage.minio import MinioStore

from . import images
from .conftest import Field

pytestmark = pytest.mark.parametrize("env", ["minio"], indirect=True)


def _store_like(store: MinioStore, settings: Any) -> MinioStore:
    s3 = settings.storage
    return MinioStore(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, bucket=store.bucket,
                      object_lock=s3.object_lock, retention_days=s3.retention_days)


def _refusing(store: MinioStore, *, always: bool = False) -> MinioStore:
    """``store`` whose writes are refused when their checksum is wrong (as S3 does), or all of them (``always``)."""
    real = store._client._put_object

    def put(bucket: str, key: str, data: bytes, headers: dict, *args: Any, **kwargs: Any) -> Any:
        sent = headers.get("x-amz-checksum-sha256")
        if always or (sent is not None and sent != base64.b64encode(hashlib.sha256(data).digest()).decode()):
            raise S3Error(None, "AccessDenied" if always else "BadDigest", "refused", key, "", "")  # type: ignore[arg-type]
        return real(bucket, key, data, headers, *args, **kwargs)

    store._client._put_object = put  # type: ignore[method-assign]
    return store


class Reads:
    """``store`` counting every read of a blob."""

    def __init__(self, store: Any) -> None:
        self._store, self.count = store, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get(self, key: str) -> bytes:
        self.count += key.startswith(keys.BLOB_PREFIX)
        return await self._store.get(key)

    async def stream(self, key: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        self.count += key.startswith(keys.BLOB_PREFIX)
        async for block in self._store.stream(key, **kwargs):
            yield block


async def _probe_leaves_nothing(store: MinioStore) -> bool:
    key = keys.staging_key(uuid.uuid4().hex)
    verdict = await store.probe_checksums(key)
    assert not [o async for o in store.list(key)], "the probe left its object behind"
    return verdict


async def test_moto_is_probed_and_not_trusted(field: Field) -> None:
    store = field.env.store
    assert await _probe_leaves_nothing(store) is False
    assert await store_trust.checks_writes(store) is False


async def test_a_store_that_refuses_a_wrong_checksum_is_trusted_and_one_that_refuses_everything_is_not(
    field: Field,
) -> None:
    checking = _refusing(_store_like(field.env.store, field.env.settings))
    assert await _probe_leaves_nothing(checking) is True
    assert await store_trust.checks_writes(checking) is True
    walled = _refusing(_store_like(field.env.store, field.env.settings), always=True)
    assert await _probe_leaves_nothing(walled) is False
    assert await store_trust.checks_writes(walled) is False


async def test_a_store_that_did_not_answer_the_probe_is_not_trusted_and_asked_again_later(
    field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = []

    class Silent:
        async def probe_checksums(self, key: str) -> bool:
            asked.append(key)
            if len(asked) == 1:
                raise StorageUnavailable("connection refused")
            return True

    store = Silent()
    assert await store_trust.checks_writes(store) is False
    assert await store_trust.checks_writes(store) is False  # not asked again on every upload
    assert len(asked) == 1
    monkeypatch.setattr(store_trust, "PROBE_RETRY_S", 0.0)
    other = Silent()
    asked.clear()
    assert await store_trust.checks_writes(other) is False
    assert await store_trust.checks_writes(other) is True  # asked again once the pause is over
    assert await store_trust.checks_writes(other) is True
    assert len(asked) == 2  # then remembered


async def test_upload_to_a_checking_store_is_not_read_back(field: Field) -> None:
    data = images.photo(seed=131)
    (outcome,) = [await field.attach(data)]
    real = field.env.app.state.evidence_store
    checking = Reads(_refusing(_store_like(real, field.env.settings)))
    field.env.app.state.evidence_store = checking
    try:
        response = await field.upload(data)
    finally:
        field.env.app.state.evidence_store = real
    assert response.status_code == 200 and response.json()["status"] == "complete", response.text
    assert checking.count == 0, "a store that checks the write's checksum was read back anyway"
    assert await Blob.exists().where(Blob.sha256 == hashlib.sha256(data).hexdigest())
    assert (await field.evidence(outcome.entity_id))["status"] == "stored"  # type: ignore[union-attr]
    assert (await field.download(outcome.entity_id)).content == data  # type: ignore[union-attr]


async def test_upload_to_a_store_that_checks_nothing_is_always_read_back(field: Field) -> None:
    real = field.env.app.state.evidence_store
    lax = Reads(real)
    field.env.app.state.evidence_store = lax
    try:
        for seed in (132, 133):
            data = images.photo(seed=seed)
            await field.attach(data)
            response = await field.upload(data)
            assert response.status_code == 200 and response.json()["status"] == "complete", response.text
    finally:
        field.env.app.state.evidence_store = real
    assert lax.count == 2  # every upload, not only the first after the probe
