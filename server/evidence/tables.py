"""Evidence metadata, stored blobs and resumable upload sessions."""

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.evidence import EvidenceStatus, UploadStatus
from schemas.vocab import EvidenceKind
from server.accounts.tables import Device, User
from server.hazards.tables import Hazard
from server.inspections.tables import Inspection
from server.violations.tables import ViolationRecord


class Blob(Table, tablename="blob"):
    """Bytes stored once, addressed by their SHA-256; a row exists only after the server verified them."""

    sha256 = Varchar(length=64, primary_key=True)
    size = BigInt()
    media_type = Varchar(length=64)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    exif_captured_at = Timestamptz(null=True, default=None)
    exif_longitude = DoublePrecision(null=True, default=None)
    exif_latitude = DoublePrecision(null=True, default=None)
    object_key = Varchar(length=256)
    locked = Boolean(default=False)
    stored_at = Timestamptz()


class Evidence(Table, tablename="evidence"):
    """A photo or signature supporting a finding; ``pending`` until its bytes arrive and verify."""

    id = UUID(primary_key=True)
    kind = Varchar(length=16, choices=EvidenceKind)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True)
    hazard = ForeignKey(references=Hazard, on_delete=OnDelete.restrict, null=True, index=True)
    violation = ForeignKey(references=ViolationRecord, on_delete=OnDelete.restrict, null=True, index=True)
    sha256 = Varchar(length=64, index=True)
    size = BigInt()
    media_type = Varchar(length=64)
    status = Varchar(length=16, choices=EvidenceStatus, index=True)
    rejection_code = Varchar(length=48, null=True, default=None)
    captured_at = Timestamptz()
    longitude = DoublePrecision(null=True, default=None)
    latitude = DoublePrecision(null=True, default=None)
    exif_captured_at = Timestamptz(null=True, default=None)
    exif_longitude = DoublePrecision(null=True, default=None)
    exif_latitude = DoublePrecision(null=True, default=None)
    exif_disagrees = Boolean(default=False)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    signer_name = Varchar(length=64, default="")
    caption = Varchar(length=500, default="")
    device = ForeignKey(references=Device, on_delete=OnDelete.restrict, null=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)


class UploadSession(Table, tablename="upload_session"):
    """A resumable upload of one blob in chunks; survives interruptions and restarts."""

    id = UUID(primary_key=True)
    sha256 = Varchar(length=64, index=True)
    size = BigInt()
    media_type = Varchar(length=64)
    chunk_bytes = Integer()
    backend_upload_id = Varchar(length=256, default="")
    status = Varchar(length=16, choices=UploadStatus, index=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz(index=True)


class UploadPart(Table, tablename="upload_part"):
    """One chunk the store acknowledged; its own hash was checked before it was stored.

    Unique on ``(session, number)`` (``m0002_composite_unique``): a re-sent chunk replaces the row.
    """

    id = UUID(primary_key=True)
    session = ForeignKey(references=UploadSession, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    size = Integer()
    sha256 = Varchar(length=64)
    token = Varchar(length=256)
    stored_at = Timestamptz()
