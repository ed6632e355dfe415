"""Reading back what the documents domain stored under its hash: a changed object is an error, never used."""

from __future__ import annotations

import hashlib

from server.errors import Unavailable
from storage.base import ObjectStore, StorageError


async def read_checked(store: ObjectStore, key: str, sha256: str, *, what: str, what_en: str) -> bytes:
    """The object at ``key`` if its SHA-256 is ``sha256``; 503 naming ``what`` otherwise."""
    try:
        data = await store.get(key)
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unavailable(f"{what}校验失败，请联系管理员", f"stored {what_en} does not match its hash")
    return data
