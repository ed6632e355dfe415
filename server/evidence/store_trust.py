"""Whether the object store checks what it is given, learnt by a probe once per store.

After a write, the server hashes what the store hands back before any record
says ``stored`` (the read-back): a store that acknowledges a write proves
nothing by that alone. A store that checks a write's ``x-amz-checksum-sha256``
itself (S3, MinIO) makes that read-back redundant for a file sent in one
piece: the server sends the SHA-256 it computed of the bytes it checked, and
the store refuses the write unless it received exactly those bytes.

Whether it checks is never assumed. On first use the store is probed
(``probe_checksums``, :mod:`storage.base`): it must refuse a small write with
a deliberately wrong checksum and accept the same write with the right one.
Only then is it trusted, for the life of the process. Untrusted, and kept
reading back: a store that accepts the wrong checksum (moto, as in the tests),
a store with no probe (the filesystem store, whose disk is checked by reading
back), and a store that did not answer the probe (asked again after
:data:`PROBE_RETRY_S`, not on every upload).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from typing import Any

from storage import keys
from storage.base import StorageError

log = logging.getLogger("fieldcheck.evidence")

#: After a probe the store did not answer, uploads read back without probing again for this long.
PROBE_RETRY_S = 60.0

_verdicts: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_probing: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()
_unanswered_until: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


async def checks_writes(store: Any) -> bool:
    """True only if ``store`` has refused a write with a wrong checksum and accepted it with the right one."""
    if (verdict := _verdicts.get(store)) is not None:
        return verdict
    probe = getattr(store, "probe_checksums", None)
    if probe is None or time.monotonic() < _unanswered_until.get(store, 0.0):
        return False
    lock = _probing.setdefault(store, asyncio.Lock())
    async with lock:  # the first uploads after a start wait for one probe, not one each
        if (verdict := _verdicts.get(store)) is not None:
            return verdict
        try:
            verdict = bool(await probe(keys.staging_key(uuid.uuid4().hex)))
        except StorageError as error:
            log.warning("object store checksum probe failed (%s); reading back every write, probing again in %.0f s",
                        error, PROBE_RETRY_S)
            _unanswered_until[store] = time.monotonic() + PROBE_RETRY_S
            return False
        log.info("object store %s write checksums: %s", "checks" if verdict else "does not check",
                 "stored photos are not read back" if verdict else "every stored photo is read back and hashed")
        _verdicts[store] = verdict
        return verdict
