"""MinIO / S3 object store: the only module that imports the ``minio`` SDK.

The SDK is blocking (urllib3), so every call runs in a worker thread via
``asyncio.to_thread``. Staged uploads are S3 multipart uploads; the SDK has no
public call for "upload part N of an upload someone else started", so the
multipart calls use its underscore methods (``_create_multipart_upload`` …),
which is why the dependency is pinned below 8 in ``pyproject.toml``.

Writes carry ``x-amz-sdk-checksum-algorithm`` and ``x-amz-checksum-sha256``:
a real S3 or MinIO refuses a body that does not match, and S3 demands one of
these headers on a PUT into an object-lock bucket. Whether this store really
checks them (moto does not) is learnt by :meth:`MinioStore.probe_checksums`. ``If-None-Match: *`` makes
``put`` write-once on the server side. Retention dates are read from
``stat_object`` headers rather than ``get_object_retention`` (the test server
does not implement the latter).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, CopySource
from minio.datatypes import Part
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import genheaders
from minio.retention import Retention

from storage.base import (
    STREAM_CHUNK_BYTES,
    ObjectExists,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    PendingUpload,
    StorageError,
    StorageUnavailable,
    StoredPart,
    attachment_disposition,
)
from storage.keys import is_valid_key

_NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "NoSuchBucket", "NoSuchVersion", "ResourceNotFound"}
_LOCK_MODE_HEADER = "x-amz-object-lock-mode"
_LOCK_UNTIL_HEADER = "x-amz-object-lock-retain-until-date"


class MinioStore:
    """:class:`storage.base.ObjectStore` on a MinIO or S3 bucket."""

    def __init__(
        self,
        endpoint: str,
        *,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
        object_lock: bool = False,
        retention_days: int = 3650,
        max_connections: int = 32,
    ) -> None:
        http = urllib3.PoolManager(
            maxsize=max_connections,
            timeout=urllib3.Timeout(connect=5, read=60),
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        )
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self.bucket = bucket
        self.object_lock = object_lock
        self.retention_days = retention_days

    async def ensure_bucket(self) -> None:
        """Create the bucket (with object lock when configured) if it does not exist."""

        def create() -> None:
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket, object_lock=self.object_lock)

        await _run(create)

    # -- helpers -------------------------------------------------------------

    def _retention(self, lock: bool) -> Retention | None:
        if not (lock and self.object_lock):
            return None
        until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=self.retention_days)
        return Retention(COMPLIANCE, until)

    def _info(self, key: str, stat: Any) -> ObjectInfo:
        headers = {k.lower(): v for k, v in (stat.metadata or {}).items()}
        until_raw = headers.get(_LOCK_UNTIL_HEADER)
        until = dt.datetime.fromisoformat(until_raw.replace("Z", "+00:00")) if until_raw else None
        locked = bool(headers.get(_LOCK_MODE_HEADER)) and until is not None and until > dt.datetime.now(dt.UTC)
        return ObjectInfo(
            key=key,
            size=stat.size,
            modified_at=stat.last_modified or dt.datetime.now(dt.UTC),
            content_type=stat.content_type,
            locked_until=until,
            locked=locked,
        )

    def _stat_sync(self, key: str) -> Any:
        _check_key(key)
        return self._client.stat_object(self.bucket, key)

    # -- the Protocol --------------------------------------------------------

    async def put(
        self, key: str, data: bytes, *, content_type: str, lock: bool = False, sha256: str | None = None
    ) -> ObjectInfo:
        _check_key(key)
        retention = self._retention(lock)
        headers = genheaders(None, None, None, retention, False)
        headers.update(_checksum_headers(data, sha256))
        headers["Content-Type"] = content_type
        headers["If-None-Match"] = "*"
        await _run(self._client._put_object, self.bucket, key, data, headers, key=key)
        # The write is acknowledged whole; its facts are known without another round trip.
        return ObjectInfo(
            key=key,
            size=len(data),
            modified_at=dt.datetime.now(dt.UTC),
            content_type=content_type,
            locked_until=retention.retain_until_date if retention else None,
            locked=retention is not None,
        )

    async def probe_checksums(self, key: str) -> bool:
        """Whether this store checks the ``x-amz-checksum-sha256`` of a write itself (see :mod:`storage.base`).

        Writes a small object to ``key`` twice: once with a deliberately wrong checksum, which a checking
        store (S3, MinIO) refuses, then with the right one, which it must accept (so the refusal was about
        the checksum, not the key or a permission). Both copies are removed. A store that takes the wrong
        one (moto) checks nothing: False. Raises :class:`StorageUnavailable` if the store did not answer.
        """
        _check_key(key)
        data = b"fieldcheck checksum probe " + key.encode()
        wrong = dict(_checksum_headers(data + b"!"), **{"Content-Type": "application/octet-stream"})
        right = dict(_checksum_headers(data), **{"Content-Type": "application/octet-stream"})

        def remove() -> None:
            for version in self._client.list_objects(self.bucket, prefix=key, include_version=True):
                if version.object_name == key:
                    self._client.remove_object(self.bucket, key, version_id=version.version_id)

        try:
            await _run(self._client._put_object, self.bucket, key, data, wrong, key=key)
        except StorageUnavailable:
            raise
        except StorageError:
            refused = True
        else:
            refused = False
        try:
            if refused:
                await _run(self._client._put_object, self.bucket, key, data, right, key=key)
        except StorageUnavailable:
            raise
        except StorageError:
            return False  # it refuses this write whatever its checksum: nothing learnt about checking
        finally:
            try:
                await _run(remove, key=key)
            except StorageError:
                pass  # a staging key: garbage collection removes what is left
        return refused

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            _check_key(key)
            response = self._client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await _run(read, key=key)

    async def stream(self, key: str, *, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        _check_key(key)
        response = await _run(self._client.get_object, self.bucket, key, key=key)
        try:
            while block := await _run(response.read, chunk_bytes, key=key):
                yield block
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> ObjectInfo:
        stat = await _run(self._stat_sync, key, key=key)
        return self._info(key, stat)

    async def delete(self, key: str) -> None:
        def remove() -> None:
            stat = self._stat_sync(key)
            if self._info(key, stat).locked:
                raise ObjectLocked(key)
            # With versioning (object lock turns it on) a delete without a
            # version only hides the object behind a marker; remove the version.
            self._client.remove_object(self.bucket, key, version_id=stat.version_id)

        await _run(remove, key=key, locked_on_denied=True)

    async def presign_get(
        self, key: str, *, expires: dt.timedelta, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        _check_key(key)
        overrides = {"response-cache-control": "private, no-store"}
        if filename:
            overrides["response-content-disposition"] = attachment_disposition(filename)
        if content_type:
            overrides["response-content-type"] = content_type
        return await _run(self._client.presigned_get_object, self.bucket, key, expires, overrides, key=key)

    async def copy(self, source: str, key: str, *, lock: bool = False) -> ObjectInfo:
        _check_key(source)
        _check_key(key)

        def duplicate() -> ObjectInfo:
            try:
                self._client.stat_object(self.bucket, key)
            except S3Error as error:
                if error.code not in _NOT_FOUND:
                    raise
            else:
                raise ObjectExists(key)
            retention = self._retention(lock)
            self._client.copy_object(
                self.bucket,
                key,
                CopySource(self.bucket, source),
                # S3 wants a checksum algorithm named on any write into retention.
                metadata={"x-amz-sdk-checksum-algorithm": "SHA256"} if retention else None,
                retention=retention,
            )
            return self._info(key, self._stat_sync(key))

        return await _run(duplicate, key=source)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        def collect() -> list[ObjectInfo]:
            return [
                ObjectInfo(
                    key=obj.object_name,
                    size=obj.size or 0,
                    modified_at=obj.last_modified or dt.datetime.now(dt.UTC),
                )
                for obj in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if not obj.is_dir
            ]

        for info in await _run(collect):
            yield info

    async def create_upload(self, key: str, *, content_type: str) -> str:
        _check_key(key)
        return await _run(self._client._create_multipart_upload, self.bucket, key, {"Content-Type": content_type})

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> StoredPart:
        _check_key(key)
        try:
            etag = await _run(
                self._client._upload_part, self.bucket, key, data, _checksum_headers(data), upload_id, number, key=key
            )
        except StorageUnavailable:
            # S3 answers NoSuchUpload for an upload it lost; some servers answer 500 instead. Tell them apart.
            if not await self._upload_exists(key, upload_id):
                raise ObjectNotFound(f"no upload {upload_id}") from None
            raise
        return StoredPart(number=number, token=etag)

    async def _upload_exists(self, key: str, upload_id: str) -> bool:
        async for upload in self.list_uploads(key):
            if upload.key == key and upload.upload_id == upload_id:
                return True
        return False

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> ObjectInfo:
        _check_key(key)

        def complete() -> ObjectInfo:
            self._client._complete_multipart_upload(
                self.bucket, key, upload_id, [Part(p.number, p.token) for p in parts]
            )
            return self._info(key, self._stat_sync(key))

        return await _run(complete, key=key)

    async def abort_upload(self, key: str, upload_id: str) -> None:
        _check_key(key)
        try:
            await _run(self._client._abort_multipart_upload, self.bucket, key, upload_id, key=key)
        except ObjectNotFound:
            pass

    async def list_uploads(self, prefix: str) -> AsyncIterator[PendingUpload]:
        def collect() -> list[PendingUpload]:
            found: list[PendingUpload] = []
            key_marker = upload_marker = None
            while True:
                page = self._client._list_multipart_uploads(
                    self.bucket, prefix=prefix, key_marker=key_marker, upload_id_marker=upload_marker
                )
                for upload in page.uploads:
                    started = upload.initiated_time or dt.datetime.now(dt.UTC)
                    found.append(PendingUpload(upload.object_name, upload.upload_id, started))
                if not page.is_truncated or not page.uploads:
                    return found
                key_marker, upload_marker = page.uploads[-1].object_name, page.uploads[-1].upload_id

        for upload in await _run(collect):
            yield upload


def _check_key(key: str) -> None:
    if not is_valid_key(key):
        raise ValueError(f"invalid object key: {key!r}")


def _checksum_headers(data: bytes, sha256: str | None = None) -> dict[str, str]:
    """The checksum headers of ``data``; ``sha256`` is its hex SHA-256 when the caller has it already."""
    raw = bytes.fromhex(sha256) if sha256 is not None else hashlib.sha256(data).digest()
    return {"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": base64.b64encode(raw).decode()}


async def _run(func, *args, key: str | None = None, locked_on_denied: bool = False):  # type: ignore[no-untyped-def]
    """Run one blocking SDK call in a thread and translate its errors into the storage tree."""
    try:
        return await asyncio.to_thread(func, *args)
    except StorageError:
        raise
    except S3Error as error:
        if error.code in _NOT_FOUND:
            raise ObjectNotFound(key or error.code) from error
        if error.code == "PreconditionFailed":
            raise ObjectExists(key or error.code) from error
        if error.code == "AccessDenied" and locked_on_denied:
            raise ObjectLocked(key or error.code) from error
        if error.code in {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}:
            raise StorageUnavailable(f"{error.code}: {error.message}") from error
        raise StorageError(f"{error.code}: {error.message}") from error
    except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as error:
        raise StorageUnavailable(str(error)) from error
