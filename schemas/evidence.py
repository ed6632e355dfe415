"""Wire types of evidence: photos and signatures, and the resumable upload of their bytes.

The record and the bytes travel separately:

1. The phone queues :class:`AttachEvidence` like any other mutation (hash,
   size, capture time and place, what it supports). It syncs at once, however
   slow the network; the evidence is ``pending``.
2. The bytes go to an upload session: ``POST /api/v1/evidence/uploads`` with
   :class:`UploadCreate` opens one (or returns the open one for the same bytes,
   so a restarted phone resumes), then ``PUT …/uploads/{id}/parts/{n}`` sends
   chunk ``n`` (from 1) with its SHA-256 in the ``X-Chunk-SHA256`` header.
   :class:`UploadSession` lists the chunks the server has stored: a phone that
   lost the connection asks (``GET …/uploads/{id}``) and sends the rest.
3. When the last chunk is stored the server reads the assembled bytes back,
   computes their SHA-256 and size, and only if both match the declared ones
   (and the content checks pass) the evidence becomes ``stored``. A mismatch is
   refused (``evidence_hash_mismatch``) and the session starts over.

A file of one chunk or less may skip the session: ``PUT
/api/v1/evidence/blobs/{sha256}`` with the bytes opens the session and stores
its only chunk in one request (same checks; a larger file is refused with
``evidence_chunk_mismatch``).

Bytes already on the server (the same photo attached twice) are never sent
again: the session comes back ``complete`` at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.vocab import EvidenceKind

Sha256Hex = Annotated[str, msgspec.Meta(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
#: Sizes are bounded again by the server's setting (``EVIDENCE_MAX_BYTES``).
ByteSize = Annotated[int, msgspec.Meta(ge=1, le=2**31)]
MediaType = Annotated[str, msgspec.Meta(max_length=64, pattern="^[a-z]+/[a-z0-9.+-]+$")]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Name = Annotated[str, msgspec.Meta(max_length=64)]
Caption = Annotated[str, msgspec.Meta(max_length=500)]

#: Header carrying the hex SHA-256 of one chunk's body.
CHUNK_HASH_HEADER = "X-Chunk-SHA256"


class EvidenceStatus(enum.StrEnum):
    """Where the bytes of an evidence record are."""

    PENDING = "pending"  # the record synced; bytes not (yet) verified on the server
    STORED = "stored"  # bytes stored, hash and size verified, retained
    REJECTED = "rejected"  # bytes arrived intact but are not an acceptable image (see rejection_code)


class UploadStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Evidence(Struct, kw_only=True):
    """A photo or signature supporting an inspection, hazard or 三违 record."""

    id: uuid.UUID
    kind: EvidenceKind
    inspection_id: uuid.UUID
    hazard_id: uuid.UUID | None = None
    violation_id: uuid.UUID | None = None
    sha256: str
    size: int
    media_type: str
    status: EvidenceStatus
    captured_at: dt.datetime
    longitude: float | None = None
    latitude: float | None = None
    #: What the photo's own EXIF says, read by the server; ``exif_disagrees`` flags a gap with the app's values.
    exif_captured_at: dt.datetime | None = None
    exif_longitude: float | None = None
    exif_latitude: float | None = None
    exif_disagrees: bool = False
    width: int | None = None
    height: int | None = None
    signer_name: str = ""
    caption: str = ""
    rejection_code: str | None = None
    device_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    created_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class AttachEvidence(Mutation, kw_only=True, tag="attach_evidence"):
    """Record a photo or signature taken on the phone; its bytes follow through an upload session.

    ``id`` is made on the phone. ``media_type`` is what the app believes; the
    server keeps the type it reads from the bytes. For a signature,
    ``signer_name`` is the enterprise representative who signed.
    """

    id: uuid.UUID
    evidence_kind: EvidenceKind = EvidenceKind.PHOTO  # ``kind`` is the mutation's tag field
    inspection_id: uuid.UUID
    hazard_id: uuid.UUID | None = None
    violation_id: uuid.UUID | None = None
    sha256: Sha256Hex
    size: ByteSize
    media_type: MediaType = "image/jpeg"
    captured_at: dt.datetime
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    signer_name: Name = ""
    caption: Caption = ""


class UploadCreate(Input, kw_only=True):
    """Open (or resume) the upload of the bytes with this hash and size."""

    sha256: Sha256Hex
    size: ByteSize
    media_type: MediaType = "image/jpeg"


class UploadSession(Struct, kw_only=True):
    """An upload's state: which chunks the server holds, and what is still missing."""

    id: uuid.UUID
    sha256: str
    size: int
    chunk_bytes: int
    part_count: int
    status: UploadStatus
    # No defaults: always sent, so an empty list reads as "nothing yet", not "field missing".
    received_parts: list[int]
    received_bytes: int
    #: The caller's evidence records stored because of these bytes.
    evidence_ids: list[uuid.UUID]
    expires_at: dt.datetime | None = None


class DownloadLink(Struct, kw_only=True):
    """A short-lived link to the original bytes."""

    url: str
    expires_at: dt.datetime


class GarbageReport(Struct, kw_only=True):
    """What one garbage-collection pass removed (finished evidence is never touched)."""

    expired_sessions: int = 0
    aborted_uploads: int = 0
    removed_staging: int = 0
    removed_blobs: int = 0
    kept_locked_orphans: int = 0
    removed_thumbnails: int = 0
