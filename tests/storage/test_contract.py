"""The ObjectStore contract, run against the filesystem store and against moto's S3 over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import httpx
import pytest

from storage import keys
from storage.base import (
    MIN_PART_BYTES,
    ObjectExists,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
)


def _key(data: bytes) -> str:
    return keys.blob_key(hashlib.sha256(data).hexdigest())


async def test_backends_implement_the_protocol(store) -> None:
    assert isinstance(store, ObjectStore)


async def test_put_then_get_stat_and_stream(store) -> None:
    data = os.urandom(300_000)
    info = await store.put(_key(data), data, content_type="image/jpeg")
    assert info.size == len(data)
    assert await store.get(_key(data)) == data
    assert (await store.stat(_key(data))).size == len(data)
    pieces = [piece async for piece in store.stream(_key(data), chunk_bytes=64 * 1024)]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) <= 64 * 1024


async def test_put_is_write_once(store) -> None:
    data = b"first version"
    await store.put("thumbs/x.jpg", data, content_type="image/jpeg")
    with pytest.raises(ObjectExists):
        await store.put("thumbs/x.jpg", b"second version", content_type="image/jpeg")
    assert await store.get("thumbs/x.jpg") == data


async def test_locked_object_cannot_be_deleted(store) -> None:
    data = os.urandom(1000)
    info = await store.put(_key(data), data, content_type="image/png", lock=True)
    assert info.locked
    with pytest.raises(ObjectLocked):
        await store.delete(_key(data))
    assert await store.get(_key(data)) == data


async def test_unlocked_object_is_deleted(store) -> None:
    await store.put("thumbs/gone.jpg", b"x", content_type="image/jpeg")
    await store.delete("thumbs/gone.jpg")
    with pytest.raises(ObjectNotFound):
        await store.stat("thumbs/gone.jpg")


async def test_missing_objects_raise_not_found(store) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get("blobs/none")
    with pytest.raises(ObjectNotFound):
        await store.stat("blobs/none")
    with pytest.raises(ObjectNotFound):
        [piece async for piece in store.stream("blobs/none")]


async def test_bad_keys_are_refused(store) -> None:
    for key in ("../etc/passwd", "/abs", "Blobs/UPPER", "a/../b", ""):
        with pytest.raises(ValueError):
            await store.put(key, b"x", content_type="text/plain")


async def test_staged_upload_assembles_parts_in_order_and_accepts_resent_parts(store) -> None:
    data = os.urandom(2 * MIN_PART_BYTES + 12345)
    chunks = [data[i : i + MIN_PART_BYTES] for i in range(0, len(data), MIN_PART_BYTES)]
    key = keys.staging_key("a" * 32)
    upload_id = await store.create_upload(key, content_type="image/jpeg")
    parts = {}
    # Send out of order, and send part 2 twice (first a wrong copy): the last copy wins.
    parts[3] = await store.put_part(key, upload_id, 3, chunks[2])
    await store.put_part(key, upload_id, 2, os.urandom(len(chunks[1])))
    parts[2] = await store.put_part(key, upload_id, 2, chunks[1])
    parts[1] = await store.put_part(key, upload_id, 1, chunks[0])
    with pytest.raises(ObjectNotFound):
        await store.stat(key)  # nothing visible before completion
    pending = [u async for u in store.list_uploads(keys.STAGING_PREFIX)]
    assert [u.upload_id for u in pending] == [upload_id]
    info = await store.complete_upload(key, upload_id, [parts[1], parts[2], parts[3]])
    assert info.size == len(data)
    assert await store.get(key) == data
    assert [u async for u in store.list_uploads(keys.STAGING_PREFIX)] == []


async def test_aborted_upload_leaves_nothing(store) -> None:
    key = keys.staging_key("b" * 32)
    upload_id = await store.create_upload(key, content_type="image/jpeg")
    await store.put_part(key, upload_id, 1, b"partial")
    await store.abort_upload(key, upload_id)
    await store.abort_upload(key, upload_id)  # idempotent
    assert [u async for u in store.list_uploads("")] == []
    with pytest.raises(ObjectNotFound):
        await store.stat(key)


async def test_a_part_for_an_upload_the_store_no_longer_knows_is_not_found(store) -> None:
    """Whatever the server answers (S3: NoSuchUpload; some servers: 500), the caller learns the upload is gone."""
    key = keys.staging_key("c" * 32)
    upload_id = await store.create_upload(key, content_type="image/jpeg")
    await store.abort_upload(key, upload_id)
    with pytest.raises(ObjectNotFound):
        await store.put_part(key, upload_id, 1, b"late part")


async def test_copy_to_a_locked_write_once_key(store) -> None:
    data = os.urandom(50_000)
    staging = keys.staging_key("c" * 32)
    await store.put(staging, data, content_type="image/jpeg")
    info = await store.copy(staging, _key(data), lock=True)
    assert info.locked and info.size == len(data)
    with pytest.raises(ObjectExists):
        await store.copy(staging, _key(data), lock=True)
    await store.delete(staging)
    assert await store.get(_key(data)) == data


async def test_list_by_prefix(store) -> None:
    await store.put("thumbs/sha256/aa/bb/one.jpg", b"1", content_type="image/jpeg")
    await store.put("thumbs/sha256/cc/dd/two.jpg", b"22", content_type="image/jpeg")
    await store.put("staging/" + "d" * 32, b"333", content_type="image/jpeg")
    listed = [info async for info in store.list("thumbs/")]
    assert sorted(i.key for i in listed) == ["thumbs/sha256/aa/bb/one.jpg", "thumbs/sha256/cc/dd/two.jpg"]
    assert all(i.modified_at.tzinfo is not None for i in listed)


async def test_minio_presigned_get_downloads_the_object(minio_store) -> None:
    data = os.urandom(10_000)
    await minio_store.put(_key(data), data, content_type="image/jpeg", lock=True)
    url = await minio_store.presign_get(
        _key(data), expires=dt.timedelta(minutes=5), filename="现场照片.jpg", content_type="image/jpeg"
    )
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert "attachment" in response.headers["content-disposition"]


async def test_minio_lock_sets_retention_headers(minio_store) -> None:
    data = os.urandom(100)
    info = await minio_store.put(_key(data), data, content_type="image/jpeg", lock=True)
    assert info.locked_until is not None
    assert info.locked_until > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)


async def test_filesystem_store_does_not_presign(filesystem_store) -> None:
    await filesystem_store.put("thumbs/a.jpg", b"x", content_type="image/jpeg")
    assert await filesystem_store.presign_get("thumbs/a.jpg", expires=dt.timedelta(minutes=1)) is None


async def test_filesystem_locked_file_is_read_only_on_disk(filesystem_store) -> None:
    data = b"evidence"
    await filesystem_store.put(_key(data), data, content_type="image/jpeg", lock=True)
    path = filesystem_store.root / _key(data)
    assert oct(path.stat().st_mode & 0o777) == "0o444"


def test_attachment_disposition_cannot_break_out_of_the_header() -> None:
    from storage.base import attachment_disposition

    value = attachment_disposition('现场 "照片";\r\nSet-Cookie: x=1/../a.jpg')
    assert value.startswith('attachment; filename="')
    plain = value.split('filename="', 1)[1].split('"', 1)[0]
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in plain) and "/" not in plain
    assert "\r" not in value and "\n" not in value and value.count(";") == 2
    assert value.endswith("filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%22%E7%85%A7%E7%89%87%22%3B%0D%0ASet-Cookie%3A%20x%3D1%2F..%2Fa.jpg")
