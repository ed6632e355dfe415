"""The embedded object store: plain files under one folder, written once.

Layout under ``root``: each object is the file ``root/<key>``; staged uploads
keep their parts in ``root/.uploads/<upload id>/``; every write goes to a
temporary file in ``root/.tmp/`` first, is flushed to disk, then hard-linked
into place. ``link`` fails when the name exists, which is what makes ``put``
write-once without a race. A locked object is a read-only file (mode 0444);
``delete`` refuses it. Disk calls run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import shutil
import stat as stat_module
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from storage.base import (
    MIN_PART_BYTES,
    STREAM_CHUNK_BYTES,
    ObjectExists,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    PendingUpload,
    StorageError,
    StorageUnavailable,
    StoredPart,
)
from storage.keys import is_valid_key

_LOCKED_MODE = 0o444
_OPEN_MODE = 0o644
_COPY_BYTES = 1024 * 1024


class FilesystemStore:
    """:class:`storage.base.ObjectStore` on a local folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / ".tmp"
        self._uploads = self.root / ".uploads"
        for folder in (self.root, self._tmp, self._uploads):
            folder.mkdir(parents=True, exist_ok=True)

    # -- paths ---------------------------------------------------------------

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise ValueError(f"invalid object key: {key!r}")
        return self.root / key

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum() or len(upload_id) != 32:
            raise ObjectNotFound(f"no upload {upload_id!r}")
        return self._uploads / upload_id

    # -- blocking helpers (run in a thread) ------------------------------------

    def _write_tmp(self, chunks: list[bytes] | tuple[bytes, ...]) -> Path:
        tmp = self._tmp / uuid.uuid4().hex
        with open(tmp, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return tmp

    def _publish(self, tmp: Path, key: str, lock: bool) -> ObjectInfo:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(tmp, _LOCKED_MODE if lock else _OPEN_MODE)
            os.link(tmp, target)
        except FileExistsError:
            raise ObjectExists(key) from None
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return self._stat(key)

    def _stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        if not stat_module.S_ISREG(st.st_mode):
            raise ObjectNotFound(key)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            modified_at=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
            locked=not st.st_mode & stat_module.S_IWUSR,
        )

    def _put(self, key: str, data: bytes, lock: bool) -> ObjectInfo:
        target = self._path(key)
        if target.exists():  # cheap early answer; _publish's link is the real guard
            raise ObjectExists(key)
        return self._publish(self._write_tmp((data,)), key, lock)

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def _open(self, key: str):  # type: ignore[no-untyped-def]
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def _delete(self, key: str) -> None:
        info = self._stat(key)
        if info.locked:
            raise ObjectLocked(key)
        self._path(key).unlink(missing_ok=True)

    def _copy(self, source: str, key: str, lock: bool) -> ObjectInfo:
        if self._path(key).exists():
            raise ObjectExists(key)
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with open(self._path(source), "rb") as src, open(tmp, "xb") as out:
                shutil.copyfileobj(src, out, _COPY_BYTES)
                out.flush()
                os.fsync(out.fileno())
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise ObjectNotFound(source) from None
        return self._publish(tmp, key, lock)

    def _list(self, prefix: str) -> list[ObjectInfo]:
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and is_valid_key(key):
                    try:
                        found.append(self._stat(key))
                    except ObjectNotFound:
                        continue  # removed while we walked
        return sorted(found, key=lambda info: info.key)

    def _create_upload(self, key: str) -> str:
        self._path(key)  # validates the key
        upload_id = uuid.uuid4().hex
        folder = self._uploads / upload_id
        folder.mkdir()
        (folder / "key").write_text(key)
        return upload_id

    def _upload_key(self, upload_id: str) -> tuple[Path, str]:
        folder = self._upload_dir(upload_id)
        try:
            return folder, (folder / "key").read_text()
        except FileNotFoundError:
            raise ObjectNotFound(f"no upload {upload_id}") from None

    def _put_part(self, key: str, upload_id: str, number: int, data: bytes) -> StoredPart:
        folder, upload_key = self._upload_key(upload_id)
        if upload_key != key or not 1 <= number <= 10_000:
            raise ObjectNotFound(f"no part {number} of upload {upload_id} for {key}")
        tmp = self._write_tmp((data,))
        os.replace(tmp, folder / f"{number:05d}.part")  # a re-sent part replaces the old copy
        return StoredPart(number=number, token=hashlib.sha256(data).hexdigest())

    def _complete(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> ObjectInfo:
        folder, upload_key = self._upload_key(upload_id)
        if upload_key != key:
            raise ObjectNotFound(f"upload {upload_id} is not for {key}")
        if [p.number for p in parts] != list(range(1, len(parts) + 1)) or not parts:
            raise StorageError("parts must be numbered 1..n without gaps")
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with open(tmp, "xb") as out:
                for index, part in enumerate(parts):
                    digest = hashlib.sha256()
                    size = 0
                    try:
                        with open(folder / f"{part.number:05d}.part", "rb") as src:
                            while block := src.read(_COPY_BYTES):
                                digest.update(block)
                                out.write(block)
                                size += len(block)
                    except FileNotFoundError:
                        raise StorageError(f"part {part.number} of upload {upload_id} is missing") from None
                    if digest.hexdigest() != part.token:
                        raise StorageError(f"part {part.number} of upload {upload_id} does not match its token")
                    if size < MIN_PART_BYTES and index < len(parts) - 1:
                        raise StorageError(f"part {part.number} is smaller than {MIN_PART_BYTES} bytes")
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        info = self._publish(tmp, key, lock=False)
        shutil.rmtree(folder, ignore_errors=True)
        return info

    def _abort(self, upload_id: str) -> None:
        try:
            folder = self._upload_dir(upload_id)
        except ObjectNotFound:
            return
        shutil.rmtree(folder, ignore_errors=True)

    def _list_uploads(self, prefix: str) -> list[PendingUpload]:
        pending = []
        for folder in self._uploads.iterdir():
            try:
                key = (folder / "key").read_text()
                started = (folder / "key").stat().st_mtime
            except (FileNotFoundError, NotADirectoryError):
                continue
            if key.startswith(prefix):
                pending.append(PendingUpload(key, folder.name, dt.datetime.fromtimestamp(started, dt.UTC)))
        return pending

    # -- the Protocol --------------------------------------------------------

    async def put(
        self, key: str, data: bytes, *, content_type: str, lock: bool = False, sha256: str | None = None
    ) -> ObjectInfo:
        return await _run(self._put, key, data, lock)

    async def get(self, key: str) -> bytes:
        return await _run(self._read, key)

    async def stream(self, key: str, *, chunk_bytes: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        handle = await _run(self._open, key)
        try:
            while block := await _run(handle.read, chunk_bytes):
                yield block
        finally:
            handle.close()

    async def stat(self, key: str) -> ObjectInfo:
        return await _run(self._stat, key)

    async def delete(self, key: str) -> None:
        await _run(self._delete, key)

    async def presign_get(
        self, key: str, *, expires: dt.timedelta, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        return None  # files are streamed by the API

    async def copy(self, source: str, key: str, *, lock: bool = False) -> ObjectInfo:
        return await _run(self._copy, source, key, lock)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        for info in await _run(self._list, prefix):
            yield info

    async def create_upload(self, key: str, *, content_type: str) -> str:
        return await _run(self._create_upload, key)

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> StoredPart:
        return await _run(self._put_part, key, upload_id, number, data)

    async def complete_upload(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> ObjectInfo:
        return await _run(self._complete, key, upload_id, list(parts))

    async def abort_upload(self, key: str, upload_id: str) -> None:
        await _run(self._abort, upload_id)

    async def list_uploads(self, prefix: str) -> AsyncIterator[PendingUpload]:
        for upload in await _run(self._list_uploads, prefix):
            yield upload


async def _run(func, *args):  # type: ignore[no-untyped-def]
    try:
        return await asyncio.to_thread(func, *args)
    except StorageError:
        raise
    except OSError as error:
        raise StorageUnavailable(f"filesystem store: {error}") from error


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
