"""The object-store seam: one small async Protocol and its errors.

Every backend (``storage.minio`` for MinIO/S3, ``storage.filesystem`` for the
embedded default) implements :class:`ObjectStore`. Callers never see an SDK
type or an ``OSError``; they see :class:`ObjectInfo` and this error tree::

    StorageError                  any failure of the store
    ├── ObjectNotFound            no object (or no upload) under that key
    ├── ObjectExists              a write-once key was written already
    ├── ObjectLocked              retention / write-once forbids the delete
    └── StorageUnavailable        the store did not answer; retry later

Contract every backend keeps (``tests/storage`` runs the same suite on both):

- ``put`` is write-once: a second ``put`` to the same key raises
  :class:`ObjectExists` and leaves the first object untouched. With
  ``lock=True`` the object is also retained (S3 object lock where the bucket
  has it; a read-only file on disk), so ``delete`` raises :class:`ObjectLocked`.
- Staged uploads (``create_upload`` / ``put_part`` / ``complete_upload``) are
  how large files arrive in pieces. A part may be sent again and replaces the
  earlier copy; nothing is visible under the key until ``complete_upload``.
  Parts are numbered from 1 and every part except the last is at least
  :data:`MIN_PART_BYTES` long (the S3 rule, kept by both backends).
- ``presign_get`` returns ``None`` when the backend cannot hand out URLs;
  the caller then streams with ``stream``. A URL it returns makes the store
  answer with the given content type, :func:`attachment_disposition` and
  ``Cache-Control: private, no-store``; S3 cannot add
  ``X-Content-Type-Options: nosniff``, which is why the API streams by default.
- Stores are not trusted to verify content: callers hash what they read back,
  unless the store has shown it checks a write's checksum itself. A store that
  can show it has ``probe_checksums(key) -> bool`` (``storage.minio``): it
  writes a probe object under ``key`` with a wrong checksum and must refuse it
  (see ``server.evidence.store_trust``). ``put`` may then be given the
  caller's ``sha256`` (hex) of ``data``, sent as the checksum the store checks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import quote

#: S3's lower bound on every part but the last of a multipart upload.
MIN_PART_BYTES = 5 * 1024 * 1024

#: Default read size of :meth:`ObjectStore.stream`.
STREAM_CHUNK_BYTES = 1024 * 1024


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def attachment_disposition(filename: str) -> str:
    """``Content-Disposition`` for a download saved as ``filename``, never shown inline (RFC 6266 / 5987).

    The plain ``filename`` keeps only letters, digits, ``.``, ``_`` and ``-``, so
    no quote, semicolon, slash or control character can break out of the header
    or into a path; ``filename*`` carries the exact name, percent-encoded.
    """
    return _disposition("attachment", filename)


def inline_disposition(filename: str) -> str:
    """``Content-Disposition`` for a file the browser shows itself (a PDF to print), saved as ``filename``."""
    return _disposition("inline", filename)


def _disposition(kind: str, filename: str) -> str:
    plain = _UNSAFE_FILENAME.sub("_", filename).strip("._") or "download"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


class StorageError(Exception):
    """Base of every error raised by an object store."""


class ObjectNotFound(StorageError):
    """Raised when no object (or no staged upload) exists under the key."""


class ObjectExists(StorageError):
    """Raised when a write-once key already holds an object."""


class ObjectLocked(StorageError):
    """Raised when retention or write-once protection forbids a delete."""


class StorageUnavailable(StorageError):
    """Raised when the store cannot be reached or fails; the same call may work later."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows about one object."""

    key: str
    size: int
    modified_at: dt.datetime
    content_type: str | None = None
    #: End of retention (S3 object lock); ``None`` when not retained by date.
    locked_until: dt.datetime | None = None
    #: True when the store refuses to delete the object (retained or write-once locked).
    locked: bool = False


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One part of a staged upload, as the store acknowledged it."""

    number: int
    token: str  # the S3 ETag; the filesystem store's part size and digest


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A staged upload the store still holds (used by garbage collection)."""

    key: str
    upload_id: str
    started_at: dt.datetime


@runtime_checkable
class ObjectStore(Protocol):
    """Async object storage for evidence bytes (see the module docstring for the contract)."""

    async def put(
        self, key: str, data: bytes, *, content_type: str, lock: bool = False, sha256: str | None = None
    ) -> ObjectInfo:
        """Write ``data`` under a new key; :class:`ObjectExists` if the key is taken.

        ``sha256``: the hex SHA-256 of ``data`` when the caller has it (a store that checks checksums sends it;
        the others ignore it)."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole object; for small objects (thumbnails) only."""
        ...

    def stream(self, key: str, *, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The object's bytes in pieces of at most ``chunk_bytes``."""
        ...

    async def stat(self, key: str) -> ObjectInfo:
        """Size, date and lock state, without the bytes."""
        ...

    async def delete(self, key: str) -> None:
        """Remove an unlocked object; :class:`ObjectLocked` if it is retained."""
        ...

    async def presign_get(
        self, key: str, *, expires: dt.timedelta, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A short-lived download URL, or ``None`` when the backend cannot make one."""
        ...

    async def copy(self, source: str, key: str, *, lock: bool = False) -> ObjectInfo:
        """Copy ``source`` to a new write-once ``key`` (server-side where possible)."""
        ...

    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``."""
        ...

    async def create_upload(self, key: str, *, content_type: str) -> str:
        """Start a staged upload to ``key``; returns its upload id."""
        ...

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> StoredPart:
        """Store part ``number`` (from 1) of an upload, replacing an earlier copy."""
        ...

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> ObjectInfo:
        """Join ``parts`` in order into the object under ``key``."""
        ...

    async def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop a staged upload and its parts; a no-op if it is already gone."""
        ...

    def list_uploads(self, prefix: str) -> AsyncIterator[PendingUpload]:
        """Staged uploads not yet completed or aborted, under ``prefix``."""
        ...
