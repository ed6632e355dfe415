"""Where each kind of object lives in the store: the only place keys are built.

Originals are content-addressed by their SHA-256, so the same photo is stored
once however many records point at it, and a key never names anything but the
bytes it holds::

    blobs/sha256/ab/cd/abcd…(64 hex)        original, write-once and retained
    thumbs/sha256/ab/cd/abcd…(64 hex).jpg   web thumbnail (EXIF-free), rebuildable
    staging/<upload id>                     a staged upload, before its hash is checked
    audit/checkpoints/<seq, 20 digits>.json signed head of the audit chain, write-once and retained
    documents/sha256/ab/cd/abcd…(64 hex).pdf an issued enforcement document, write-once and retained
    signatures/sha256/ab/cd/abcd…(64 hex).png an officer's signature image, write-once

The two fan-out levels keep directories small on the filesystem store.
"""

from __future__ import annotations

import re

BLOB_PREFIX = "blobs/"
THUMBNAIL_PREFIX = "thumbs/"
STAGING_PREFIX = "staging/"
AUDIT_CHECKPOINT_PREFIX = "audit/checkpoints/"
DOCUMENT_PREFIX = "documents/"
SIGNATURE_PREFIX = "signatures/"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_STAGING_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


def is_sha256(value: str) -> bool:
    """True for a lower-case hex SHA-256 digest."""
    return bool(_SHA256_RE.match(value))


def is_valid_key(key: str) -> bool:
    """True for keys the stores accept: lower-case segments, no ``..``, no leading ``/``."""
    return len(key) <= 512 and bool(_KEY_RE.match(key)) and ".." not in key


def _fan_out(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ValueError(f"not a lower-case SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def blob_key(sha256: str) -> str:
    """Key of the original whose SHA-256 is ``sha256``."""
    return BLOB_PREFIX + _fan_out(sha256)


def thumbnail_key(sha256: str) -> str:
    """Key of the web thumbnail of the original ``sha256``."""
    return THUMBNAIL_PREFIX + _fan_out(sha256) + ".jpg"


def document_key(sha256: str) -> str:
    """Key of the issued document (PDF) whose SHA-256 is ``sha256``."""
    return DOCUMENT_PREFIX + _fan_out(sha256) + ".pdf"


def signature_key(sha256: str) -> str:
    """Key of an officer's signature image (PNG) whose SHA-256 is ``sha256``."""
    return SIGNATURE_PREFIX + _fan_out(sha256) + ".png"


def staging_key(staging_id: str) -> str:
    """Key a staged upload assembles into before it is verified and moved to :func:`blob_key`."""
    if not _STAGING_ID_RE.match(staging_id):
        raise ValueError(f"not a staging id: {staging_id!r}")
    return STAGING_PREFIX + staging_id


def sha256_of_blob_key(key: str) -> str | None:
    """The digest a blob key names, or ``None`` if ``key`` is not a blob key."""
    if not key.startswith(BLOB_PREFIX):
        return None
    digest = key.rsplit("/", 1)[-1]
    return digest if is_sha256(digest) and key == blob_key(digest) else None


def audit_checkpoint_key(seq: int) -> str:
    """Key of the checkpoint of the audit chain at ``seq`` entries (zero-padded, so keys sort by seq)."""
    if not 0 <= seq < 10**20:
        raise ValueError(f"not an audit sequence number: {seq!r}")
    return f"{AUDIT_CHECKPOINT_PREFIX}{seq:020d}.json"


def seq_of_audit_checkpoint_key(key: str) -> int | None:
    """The entry count a checkpoint key names, or ``None`` if ``key`` is not one."""
    name = key.removeprefix(AUDIT_CHECKPOINT_PREFIX).removesuffix(".json")
    if not key.startswith(AUDIT_CHECKPOINT_PREFIX) or len(name) != 20 or not name.isdigit():
        return None
    return int(name)
