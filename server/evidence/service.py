"""Evidence rules: records that sync, bytes that arrive in verified chunks, originals that never change.

Record and bytes (see ``schemas/evidence.py`` for the wire flow)
    :func:`apply_attach_evidence` (a sync mutation) creates the record,
    always ``pending``. The bytes arrive through an upload session
    (:func:`open_upload`, :func:`put_part`, :func:`complete_upload`;
    :func:`upload_whole` does all three in one call for a file of one chunk).
    When every chunk is stored the server reads the assembled object back,
    hashes it and compares hash and size with the declared ones (a file of one
    chunk on a store that checks write checksums itself is not read back: see
    :mod:`server.evidence.store_trust`); only then does
    a :class:`~server.evidence.tables.Blob` row exist and the uploader's pending
    records with that hash become ``stored``.

Proof of possession
    A hash is not a secret (it travels in sync pulls, audit entries, exports),
    so naming one proves nothing: a record becomes ``stored`` only when its
    creator has sent bytes the server hashed itself, even when the same bytes
    are stored already. Storage is deduplicated (one blob per hash), uploads are
    not; otherwise anyone who learnt a hash could read the photo behind it
    through evidence of their own.

Why upload calls return an :class:`UploadOutcome` instead of raising
    A refused upload must leave a trace: a corrupt assembly resets the
    session's chunks (the phone starts over), a non-image marks its records
    ``rejected``. Raising inside the caller's transaction would roll that back
    while the store's side (an aborted multipart upload) stays done. So the
    service records the refusal and returns it in ``refusal``; the controller
    commits, then raises it.

Immutability
    Originals live under content-addressed keys (``storage.keys``), written
    once with ``lock=True`` (S3 object lock where the bucket has it, read-only
    files on disk). No endpoint overwrites or deletes them; garbage collection
    (:func:`collect_garbage`) removes only unfinished uploads, staging objects
    and blobs no record points at, and never a retained object.

Who may see what
    Evidence is visible to whoever may see its inspection
    (``inspection_records.get``); attaching needs write access to it.
    Downloads are streamed by the API with ``nosniff`` and an attachment
    disposition; short-lived presigned URLs only where
    ``EVIDENCE_PRESIGNED_DOWNLOADS`` asks for them (the store then sets the
    type and disposition, but cannot send ``nosniff``).

The inspections' signing runs :func:`ensure_none_pending` (refused while
evidence is pending, code ``evidence_pending``): this module registers it as
their ``evidence`` submit guard, so inspections never imports evidence. Other
domains call :func:`pending_count` and read :class:`schemas.evidence.Evidence` records.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import IO, Any

from litestar import Litestar

from schemas import sync as sync_wire
from schemas.evidence import (
    AttachEvidence,
    Evidence,
    EvidenceStatus,
    GarbageReport,
    UploadCreate,
    UploadSession,
    UploadStatus,
)
from schemas.problems import ErrorCode
from schemas.vocab import EvidenceKind
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.context import Context
from server.errors import (
    FieldcheckError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StateConflict,
    Unavailable,
)
from server.evidence import policy, store_trust
from server.evidence.tables import Blob, UploadPart
from server.evidence.tables import Evidence as EvidenceRow
from server.evidence.tables import UploadSession as SessionRow
from server.hazards import records as hazard_records
from server.inspections import access
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections import records as inspection_records
from server.inspections.access import Write
from server.object_store import build_store
from server.settings import EvidenceSettings, Settings
from server.sync import scopes
from server.sync import service as sync_service
from server.violations import service as violations_service
from storage import keys
from storage.base import ObjectExists, ObjectLocked, ObjectNotFound, ObjectStore, StorageError, StoredPart

log = logging.getLogger("fieldcheck.evidence")

#: Read-back copies stay in memory up to this size, then go to a temporary file (memory stays flat).
_SPOOL_BYTES = 1024 * 1024
#: Lifetime of a presigned download link.
DOWNLOAD_TTL = dt.timedelta(minutes=5)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the store ------------------------------------------------------------------


def install(app: Litestar, settings: Settings) -> ObjectStore:
    """Give ``app`` its object store (``app.state.evidence_store``), created bucket, health check and
    the slots of thumbnail making (``app.state.thumbnail_slots``)."""
    store = build_store(settings)
    app.state.evidence_store = store
    app.state.thumbnail_slots = asyncio.Semaphore(settings.evidence.thumbnails_at_once)

    async def ensure_bucket() -> None:
        if hasattr(store, "ensure_bucket"):
            await store.ensure_bucket()

    async def check_store() -> None:
        async for _ in store.list(keys.STAGING_PREFIX + "health-"):
            break

    app.on_startup.append(ensure_bucket)
    app.state.health_checks["object_store"] = check_store
    return store


# --- records ----------------------------------------------------------------------


def _to_wire(row: dict[str, Any]) -> Evidence:
    return Evidence(
        id=row["id"],
        kind=EvidenceKind(row["kind"]),
        inspection_id=row["inspection"],
        hazard_id=row["hazard"],
        violation_id=row["violation"],
        sha256=row["sha256"],
        size=row["size"],
        media_type=row["media_type"],
        status=EvidenceStatus(row["status"]),
        captured_at=row["captured_at"],
        longitude=row["longitude"],
        latitude=row["latitude"],
        exif_captured_at=row["exif_captured_at"],
        exif_longitude=row["exif_longitude"],
        exif_latitude=row["exif_latitude"],
        exif_disagrees=row["exif_disagrees"],
        width=row["width"],
        height=row["height"],
        signer_name=row["signer_name"],
        caption=row["caption"],
        rejection_code=row["rejection_code"],
        device_id=row["device"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


async def _publish(row: dict[str, Any]) -> Evidence:
    record = _to_wire(row)
    await sync_service.publish("evidence", record.id, record, scope=scopes.inspection(record.inspection_id))
    return record


async def _check_write(actor: Actor, inspection_id: uuid.UUID) -> None:
    await access.writable(actor, inspection_id, Write.EVIDENCE)


async def _check_reference(
    belongs_to: Callable[[uuid.UUID, uuid.UUID], Awaitable[bool]], row_id: uuid.UUID | None, inspection_id: uuid.UUID, field: str
) -> None:
    """Refuse a hazard or 三违 that does not exist or is of another check (its owner's ``belongs_to`` decides)."""
    if row_id is not None and not await belongs_to(row_id, inspection_id):
        raise InvalidInput("关联的记录不存在或不属于该检查", f"unknown {field}", code=ErrorCode.UNKNOWN_REFERENCE, field=field)


def _stored_values(blob: dict[str, Any], captured_at: dt.datetime, latitude: float | None, longitude: float | None) -> dict:
    facts = policy.ImageFacts(
        media_type=blob["media_type"],
        width=blob["width"] or 0,
        height=blob["height"] or 0,
        exif_captured_at=blob["exif_captured_at"],
        exif_latitude=blob["exif_latitude"],
        exif_longitude=blob["exif_longitude"],
    )
    return {
        "status": EvidenceStatus.STORED,
        "media_type": blob["media_type"],
        "width": blob["width"],
        "height": blob["height"],
        "exif_captured_at": blob["exif_captured_at"],
        "exif_latitude": blob["exif_latitude"],
        "exif_longitude": blob["exif_longitude"],
        "exif_disagrees": policy.disagrees(captured_at=captured_at, latitude=latitude, longitude=longitude, facts=facts),
        "completed_at": _now(),
    }


async def apply_attach_evidence(ctx: Context, actor: Actor, mutation: AttachEvidence) -> sync_wire.Applied:
    """Record a photo or signature, ``pending`` until the caller uploads its bytes (even ones stored already).

    Append-only and idempotent by ``id``: the same mutation applied again
    returns the same record; a different one under a used id is refused.
    """
    limits = ctx.settings.evidence
    existing = await EvidenceRow.select().where(EvidenceRow.id == mutation.id).first()
    if existing is not None:
        same = existing["sha256"] == mutation.sha256 and existing["inspection"] == mutation.inspection_id
        if not same or existing["created_by"] != actor.user_id:
            raise StateConflict("证据编号已被占用", "evidence id already used", code=ErrorCode.DUPLICATE, field="id")
        return sync_wire.Applied(seq=mutation.seq, entity_type="evidence", entity_id=mutation.id)
    policy.check_size(mutation.size, limits.max_bytes)
    await _check_write(actor, mutation.inspection_id)
    await _check_reference(hazard_records.belongs_to, mutation.hazard_id, mutation.inspection_id, "hazard_id")
    await _check_reference(violations_service.belongs_to, mutation.violation_id, mutation.inspection_id, "violation_id")

    values: dict[str, Any] = {
        "id": mutation.id,
        "kind": mutation.evidence_kind,
        "inspection": mutation.inspection_id,
        "hazard": mutation.hazard_id,
        "violation": mutation.violation_id,
        "sha256": mutation.sha256,
        "size": mutation.size,
        "media_type": mutation.media_type,
        "status": EvidenceStatus.PENDING,
        "captured_at": mutation.captured_at,
        "longitude": mutation.longitude,
        "latitude": mutation.latitude,
        "signer_name": mutation.signer_name,
        "caption": mutation.caption,
        "device": actor.device_id,
        "created_by": actor.user_id,
        "created_at": _now(),
    }
    await EvidenceRow.insert(EvidenceRow(**values))
    row = await EvidenceRow.select().where(EvidenceRow.id == mutation.id).first()
    audit_service.record(actor, "evidence.attach", "evidence", mutation.id, mutation)
    await _publish(row)
    # The hazard and the 三违 list their evidence: phones must see the new one there too.
    if mutation.hazard_id is not None:
        await hazard_records.republish(mutation.hazard_id, ctx.settings, ctx.now())
    if mutation.violation_id is not None:
        await violations_service.republish(mutation.violation_id)
    return sync_wire.Applied(seq=mutation.seq, entity_type="evidence", entity_id=mutation.id)


async def _ids_by_owner(owner: Any, owner_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The evidence ids attached to each of ``owner_ids`` through the column ``owner`` (hazard or violation)."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    if owner_ids:
        for r in await EvidenceRow.select(EvidenceRow.id, owner).where(owner.is_in(owner_ids)):
            out.setdefault(r[owner._meta.name], []).append(r["id"])
    return out


async def hazard_evidence_ids(hazard_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """What each hazard lists as its photos (registered with ``server.hazards.records``)."""
    return await _ids_by_owner(EvidenceRow.hazard, hazard_ids)


async def violation_evidence_ids(violation_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """What each 三违 lists as its photos (registered with ``server.violations.service``)."""
    return await _ids_by_owner(EvidenceRow.violation, violation_ids)


hazard_records.EVIDENCE_IDS.register("evidence", hazard_evidence_ids)
violations_service.EVIDENCE_IDS.register("evidence", violation_evidence_ids)


async def is_recorded(evidence_id: uuid.UUID) -> bool:
    """Whether an evidence record already has this id (a phone made it; ids are never reused)."""
    return await EvidenceRow.exists().where(EvidenceRow.id == evidence_id)


async def pending_count(inspection_id: uuid.UUID) -> int:
    """How many evidence records of the inspection still wait for their bytes (submit needs 0)."""
    return await EvidenceRow.count().where(
        EvidenceRow.inspection == inspection_id, EvidenceRow.status == EvidenceStatus.PENDING
    )


async def ensure_none_pending(inspection_id: uuid.UUID) -> None:
    """Refuse (``evidence_pending``) while any evidence of the inspection waits for its bytes; for submit."""
    count = await pending_count(inspection_id)
    if count:
        raise StateConflict(
            f"还有 {count} 份证据（照片/签名）未上传完成，上传后才能提交",
            f"{count} evidence file(s) not uploaded yet",
            code=ErrorCode.EVIDENCE_PENDING,
            field="inspection_id",
        )


inspection_lifecycle.register_submit_guard("evidence", ensure_none_pending)


async def _visible_row(actor: Actor, evidence_id: uuid.UUID) -> dict[str, Any]:
    row = await EvidenceRow.select().where(EvidenceRow.id == evidence_id).first()
    if row is None:
        raise NotFound("证据不存在", "evidence not found")
    try:
        await inspection_records.get(actor, row["inspection"])
    except (NotFound, PermissionDenied):
        raise NotFound("证据不存在", "evidence not found") from None
    return row


async def get(actor: Actor, evidence_id: uuid.UUID) -> Evidence:
    """One evidence record, if the actor may see its inspection."""
    return _to_wire(await _visible_row(actor, evidence_id))


async def list_for_inspection(actor: Actor, inspection_id: uuid.UUID) -> list[Evidence]:
    """The evidence of one inspection, oldest first."""
    await inspection_records.get(actor, inspection_id)
    rows = await EvidenceRow.select().where(EvidenceRow.inspection == inspection_id).order_by(EvidenceRow.created_at)
    return [_to_wire(r) for r in rows]


# --- uploads ----------------------------------------------------------------------


@dataclasses.dataclass
class UploadOutcome:
    """A session's state after a call, and the refusal to raise once the transaction committed."""

    session: UploadSession
    refusal: FieldcheckError | None = None


async def _session_wire(
    row: dict[str, Any], *, gc_after_s: int, evidence_ids: Sequence[uuid.UUID] = (), parts: list[dict] | None = None
) -> UploadSession:
    """The session as the phone sees it; ``parts`` when the caller knows them (none: a session it just made or emptied)."""
    if parts is None:
        parts = await UploadPart.select(UploadPart.number, UploadPart.size).where(
            UploadPart.session == row["id"]
        ).order_by(UploadPart.number)
    return UploadSession(
        id=row["id"],
        sha256=row["sha256"],
        size=row["size"],
        chunk_bytes=row["chunk_bytes"],
        part_count=policy.part_count(row["size"], row["chunk_bytes"]),
        status=UploadStatus(row["status"]),
        received_parts=[p["number"] for p in parts],
        received_bytes=sum(p["size"] for p in parts),
        evidence_ids=list(evidence_ids),
        expires_at=row["updated_at"] + dt.timedelta(seconds=gc_after_s) if row["status"] == UploadStatus.OPEN else None,
    )


async def open_upload(actor: Actor, body: UploadCreate, *, limits: EvidenceSettings) -> UploadSession:
    """Open the upload of these bytes, or return the caller's open one (resume).

    ``complete`` only when none of the caller's records with this hash waits
    for bytes and they are stored: a blob stored by someone else is no proof.
    """
    row, fresh, ids = await _open(actor, body, limits=limits)
    return await _session_wire(row, gc_after_s=limits.gc_after_s, evidence_ids=ids, parts=[] if fresh else None)


async def _open(
    actor: Actor, body: UploadCreate, *, limits: EvidenceSettings
) -> tuple[dict[str, Any], bool, list[uuid.UUID]]:
    """:func:`open_upload`'s session row, whether this transaction made it, and the caller's stored records."""
    policy.check_size(body.size, limits.max_bytes)
    claims = await EvidenceRow.select(EvidenceRow.id, EvidenceRow.size, EvidenceRow.status).where(
        EvidenceRow.sha256 == body.sha256, EvidenceRow.created_by == actor.user_id
    )
    if not claims:
        raise NotFound(
            "没有与该文件对应的证据记录，请先同步", "no evidence record of yours names these bytes; sync it first",
            field="sha256",
        )
    if any(c["size"] != body.size for c in claims):
        raise InvalidInput(
            "文件大小与证据记录不符", "size differs from the evidence record",
            code=ErrorCode.EVIDENCE_HASH_MISMATCH, field="size",
        )
    now = _now()
    waiting = any(c["status"] == EvidenceStatus.PENDING for c in claims)
    stored = not waiting and await Blob.exists().where(Blob.sha256 == body.sha256)
    status = UploadStatus.COMPLETE if stored else UploadStatus.OPEN
    existing = (
        await SessionRow.select()
        .where(SessionRow.sha256 == body.sha256, SessionRow.created_by == actor.user_id, SessionRow.status == status)
        .order_by(SessionRow.created_at, ascending=False)
        .first()
    )
    fresh = existing is None
    if existing is None:
        existing = {
            "id": uuid.uuid4(),
            "sha256": body.sha256,
            "size": body.size,
            "media_type": body.media_type,
            "chunk_bytes": limits.chunk_bytes,
            "backend_upload_id": "",
            "status": status,
            "created_by": actor.user_id,
            "created_at": now,
            "updated_at": now,
        }
        await SessionRow.insert(SessionRow(**existing))
    return existing, fresh, [c["id"] for c in claims if c["status"] == EvidenceStatus.STORED]


async def _locked_session(actor: Actor, session_id: uuid.UUID) -> dict[str, Any]:
    query = SessionRow.select().where(SessionRow.id == session_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")  # one writer per session: parts and completion never interleave
    row = await query.first()
    if row is None or row["created_by"] != actor.user_id:
        raise NotFound("上传会话不存在", "upload session not found")
    return row


async def _writable_session(
    actor: Actor, session_id: uuid.UUID, *, limits: EvidenceSettings
) -> tuple[dict[str, Any], UploadOutcome | None]:
    """The locked open session; or, for a complete one, the outcome a retry gets back unchanged."""
    row = await _locked_session(actor, session_id)
    if row["status"] == UploadStatus.COMPLETE:
        return row, UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s))
    if row["status"] != UploadStatus.OPEN:
        raise StateConflict("上传会话已结束，请重新开始上传", f"upload session is {row['status']}")
    return row, None


async def get_upload(actor: Actor, session_id: uuid.UUID, *, limits: EvidenceSettings) -> UploadSession:
    """A session's state: the chunks already stored, so a phone resumes with the next one."""
    row = await SessionRow.select().where(SessionRow.id == session_id).first()
    if row is None or row["created_by"] != actor.user_id:
        raise NotFound("上传会话不存在", "upload session not found")
    return await _session_wire(row, gc_after_s=limits.gc_after_s)


async def put_part(
    actor: Actor,
    store: ObjectStore,
    session_id: uuid.UUID,
    number: int,
    data: bytes,
    chunk_sha256: str,
    *,
    limits: EvidenceSettings,
) -> UploadOutcome:
    """Store chunk ``number`` after checking its length and hash; finish the upload when it was the last."""
    row, done = await _writable_session(actor, session_id, limits=limits)
    if done is not None:
        return done
    return await _store_part(actor, store, row, number, data, chunk_sha256, limits=limits)


async def _store_part(
    actor: Actor, store: ObjectStore, row: dict[str, Any], number: int, data: bytes, chunk_sha256: str, *,
    limits: EvidenceSettings,
) -> UploadOutcome:
    """:func:`put_part` on the open session ``row``, locked by this transaction (or made by it)."""
    expected = policy.expected_part_size(row["size"], row["chunk_bytes"], number)
    if len(data) != expected:
        raise InvalidInput(
            f"分片 {number} 长度应为 {expected} 字节，实际 {len(data)} 字节",
            f"chunk {number} must be {expected} bytes, got {len(data)}",
            code=ErrorCode.EVIDENCE_CHUNK_MISMATCH, field="body",
        )
    digest = await asyncio.to_thread(_sha256_hex, data)  # megabytes: hashed off the event loop (hashlib frees the GIL)
    if digest != chunk_sha256.lower():
        raise InvalidInput(
            f"分片 {number} 内容校验失败（传输中损坏），请重新发送该分片",
            f"chunk {number} does not match its SHA-256; send it again",
            code=ErrorCode.EVIDENCE_CHUNK_MISMATCH, field="body",
        )
    count = policy.part_count(row["size"], row["chunk_bytes"])
    if count == 1:
        return await _finish_single(actor, store, row, data, digest, limits=limits)
    staging = keys.staging_key(row["id"].hex)
    if not row["backend_upload_id"]:
        await _open_backend_upload(store, row)
    try:
        stored = await _store_call(store.put_part(staging, row["backend_upload_id"], number, data))
    except ObjectNotFound:
        # The store lost the upload (restarted without it, or aborted it): the chunks it held are gone too.
        # Start a new one with this chunk as its first; the session then names the chunks the phone must resend.
        log.warning("upload session %s: the store lost its multipart upload; starting a new one", row["id"])
        await _reset_parts(store, row)
        await _open_backend_upload(store, row)
        stored = await _store_call(store.put_part(staging, row["backend_upload_id"], number, data))
    await UploadPart.delete().where(UploadPart.session == row["id"], UploadPart.number == number)
    await UploadPart.insert(
        UploadPart(
            id=uuid.uuid4(), session=row["id"], number=number, size=len(data), sha256=digest,
            token=stored.token, stored_at=_now(),
        )
    )
    await SessionRow.update({SessionRow.updated_at: _now()}).where(SessionRow.id == row["id"])
    if await UploadPart.count().where(UploadPart.session == row["id"]) == count:
        return await _finish_multipart(actor, store, row, limits=limits)
    return UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s))


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _open_backend_upload(store: ObjectStore, row: dict[str, Any]) -> None:
    row["backend_upload_id"] = await _store_call(
        store.create_upload(keys.staging_key(row["id"].hex), content_type=row["media_type"])
    )
    await SessionRow.update({SessionRow.backend_upload_id: row["backend_upload_id"]}).where(SessionRow.id == row["id"])


async def upload_whole(
    actor: Actor, store: ObjectStore, sha256: str, data: bytes, *, limits: EvidenceSettings
) -> UploadOutcome:
    """A file of one chunk or less in a single request: open the session and store its only chunk.

    Same checks as the chunked path (it *is* that path, in one round trip). A
    larger file is refused with ``evidence_chunk_mismatch``: use a session.
    """
    row, fresh, ids = await _open(actor, UploadCreate(sha256=sha256, size=len(data)), limits=limits)
    if row["status"] != UploadStatus.OPEN:
        return UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s, evidence_ids=ids))
    if policy.part_count(row["size"], row["chunk_bytes"]) != 1:
        raise InvalidInput(
            f"文件超过 {limits.chunk_bytes} 字节，请分片上传", "file is larger than one chunk: use an upload session",
            code=ErrorCode.EVIDENCE_CHUNK_MISMATCH, field="body",
        )
    if fresh:  # made by this transaction: no one else can see it, so there is nothing to lock or re-read
        return await _store_part(actor, store, row, 1, data, sha256, limits=limits)
    return await put_part(actor, store, row["id"], 1, data, sha256, limits=limits)


async def complete_upload(
    actor: Actor, store: ObjectStore, session_id: uuid.UUID, *, limits: EvidenceSettings
) -> UploadOutcome:
    """Finish an upload whose chunks are all stored (idempotent: a complete session is returned as is)."""
    row, done = await _writable_session(actor, session_id, limits=limits)
    if done is not None:
        return done
    count = policy.part_count(row["size"], row["chunk_bytes"])
    have = {p["number"] for p in await UploadPart.select(UploadPart.number).where(UploadPart.session == row["id"])}
    missing = [n for n in range(1, count + 1) if n not in have]
    if missing or count == 1:
        raise StateConflict(
            f"还有 {len(missing) or 1} 个分片未上传", f"chunks missing: {missing or [1]}", field="received_parts"
        )
    return await _finish_multipart(actor, store, row, limits=limits)


async def _finish_single(
    actor: Actor, store: ObjectStore, row: dict[str, Any], data: bytes, digest: str, *, limits: EvidenceSettings
) -> UploadOutcome:
    """One chunk (``digest`` is its SHA-256) is the whole file: check it in memory, store it once, read it back
    and verify (unless the store checks the write itself, :mod:`server.evidence.store_trust`)."""
    if digest != row["sha256"]:
        return await _refuse_mismatch(store, row, limits=limits)
    try:
        facts = await asyncio.to_thread(policy.inspect_image, data, max_pixels=limits.max_pixels)
    except FieldcheckError as refusal:
        return await _refuse_content(actor, row, refusal, limits=limits)
    key = keys.blob_key(row["sha256"])
    if not await Blob.exists().where(Blob.sha256 == row["sha256"]):
        checked = await store_trust.checks_writes(store)
        try:
            # The store is sent the SHA-256 of the bytes hashed above; one that checks it refuses any other bytes.
            await _store_call(store.put(key, data, content_type=facts.media_type, lock=True, sha256=digest))
        except ObjectExists:
            checked = False  # stored by a concurrent upload of the same bytes; verified below like ours
        if not checked:
            digest, size = await _hash_stored(store, key)
            if (digest, size) != (row["sha256"], row["size"]):
                raise Unavailable("对象存储中的文件校验失败，请稍后重试", "stored object failed verification")
    return await _record_blob(actor, row, facts, key, limits=limits)


async def _finish_multipart(
    actor: Actor, store: ObjectStore, row: dict[str, Any], *, limits: EvidenceSettings
) -> UploadOutcome:
    """Join the chunks in the store, read the result back, verify hash and size, then retain it."""
    staging = keys.staging_key(row["id"].hex)
    parts = await UploadPart.select(UploadPart.number, UploadPart.token).where(UploadPart.session == row["id"]).order_by(
        UploadPart.number
    )
    try:
        await _store_call(
            store.complete_upload(staging, row["backend_upload_id"], [StoredPart(p["number"], p["token"]) for p in parts])
        )
    except StorageError:
        # The store lost the upload (expired, aborted): start over rather than wedge the phone.
        return await _refuse_mismatch(store, row, limits=limits)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        digest, size = await _hash_stored(store, staging, spool)
        if (digest, size) != (row["sha256"], row["size"]):
            await _discard(store, staging)
            return await _refuse_mismatch(store, row, limits=limits, staged=False)
        try:
            facts = await asyncio.to_thread(policy.inspect_image, spool, max_pixels=limits.max_pixels)
        except FieldcheckError as refusal:
            await _discard(store, staging)
            return await _refuse_content(actor, row, refusal, limits=limits)
    key = keys.blob_key(row["sha256"])
    try:
        await _store_call(store.copy(staging, key, lock=True))
    except ObjectExists:
        pass  # the same bytes were stored by another session; ours are identical (same hash)
    await _discard(store, staging)
    return await _record_blob(actor, row, facts, key, limits=limits)


async def _hash_stored(store: ObjectStore, key: str, spool: IO[bytes] | None = None) -> tuple[str, int]:
    """SHA-256 and size of what the store holds under ``key`` (copied into ``spool`` if given)."""
    digest = hashlib.sha256()
    size = 0
    async for block in _store_stream(store, key):
        digest.update(block)
        size += len(block)
        if spool is not None:
            spool.write(block)
    return digest.hexdigest(), size


async def _store_stream(store: ObjectStore, key: str) -> AsyncIterator[bytes]:
    try:
        async for block in store.stream(key):
            yield block
    except ObjectNotFound:
        raise
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error


async def _store_call(awaitable: Any) -> Any:
    try:
        return await awaitable
    except (ObjectExists, ObjectNotFound, ObjectLocked):
        raise
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error


async def _discard(store: ObjectStore, key: str) -> None:
    try:
        await store.delete(key)
    except StorageError:
        pass  # left for garbage collection


async def _reset_parts(store: ObjectStore, row: dict[str, Any], *, staged: bool = True) -> None:
    if staged and row["backend_upload_id"]:
        try:
            await store.abort_upload(keys.staging_key(row["id"].hex), row["backend_upload_id"])
        except StorageError:
            pass  # garbage collection aborts it later
    await UploadPart.delete().where(UploadPart.session == row["id"])
    await SessionRow.update({SessionRow.backend_upload_id: "", SessionRow.updated_at: _now()}).where(
        SessionRow.id == row["id"]
    )
    row["backend_upload_id"] = ""


async def _refuse_mismatch(
    store: ObjectStore, row: dict[str, Any], *, limits: EvidenceSettings, staged: bool = True
) -> UploadOutcome:
    await _reset_parts(store, row, staged=staged)
    refusal = InvalidInput(
        "服务器收到的文件与声明的 SHA-256 或大小不符，已丢弃，请从头重新上传",
        "stored bytes do not match the declared SHA-256 and size; discarded, upload again",
        code=ErrorCode.EVIDENCE_HASH_MISMATCH,
        field="sha256",
    )
    return UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s), refusal)


async def _refuse_content(
    actor: Actor, row: dict[str, Any], refusal: FieldcheckError, *, limits: EvidenceSettings
) -> UploadOutcome:
    """Bytes that match their hash but are not an acceptable image: their records are rejected for good."""
    await UploadPart.delete().where(UploadPart.session == row["id"])
    await SessionRow.update({SessionRow.status: UploadStatus.REJECTED, SessionRow.updated_at: _now()}).where(
        SessionRow.id == row["id"]
    )
    row["status"] = UploadStatus.REJECTED
    pending = await EvidenceRow.select().where(
        EvidenceRow.sha256 == row["sha256"], EvidenceRow.status == EvidenceStatus.PENDING
    )
    for evidence in pending:
        await EvidenceRow.update(
            {EvidenceRow.status: EvidenceStatus.REJECTED, EvidenceRow.rejection_code: str(refusal.code)}
        ).where(EvidenceRow.id == evidence["id"])
        audit_service.record(actor, "evidence.reject", "evidence", evidence["id"], {"code": str(refusal.code)})
        evidence.update(status=EvidenceStatus.REJECTED, rejection_code=str(refusal.code))
        await _publish(evidence)
    return UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s), refusal)


async def _record_blob(
    actor: Actor, row: dict[str, Any], facts: policy.ImageFacts, key: str, *, limits: EvidenceSettings
) -> UploadOutcome:
    """The bytes are verified and retained: remember them and mark the uploader's pending records with this hash stored.

    Only the uploader's: another user's record naming the same hash waits for
    that user's own upload (proof of possession, see the module docstring).
    """
    await Blob.insert(
        Blob(
            sha256=row["sha256"],
            size=row["size"],
            media_type=facts.media_type,
            width=facts.width,
            height=facts.height,
            exif_captured_at=facts.exif_captured_at,
            exif_latitude=facts.exif_latitude,
            exif_longitude=facts.exif_longitude,
            object_key=key,
            locked=True,
            stored_at=_now(),
        )
    ).on_conflict(action="DO NOTHING")
    blob = await Blob.select().where(Blob.sha256 == row["sha256"]).first()
    await UploadPart.delete().where(UploadPart.session == row["id"])
    await SessionRow.update({SessionRow.status: UploadStatus.COMPLETE, SessionRow.updated_at: _now()}).where(
        SessionRow.id == row["id"]
    )
    row["status"] = UploadStatus.COMPLETE
    pending = await EvidenceRow.select().where(
        EvidenceRow.sha256 == row["sha256"],
        EvidenceRow.status == EvidenceStatus.PENDING,
        EvidenceRow.created_by == actor.user_id,
    )
    mine = []
    for evidence in pending:
        values = _stored_values(blob, evidence["captured_at"], evidence["latitude"], evidence["longitude"])
        await EvidenceRow.update({getattr(EvidenceRow, k): v for k, v in values.items()}).where(
            EvidenceRow.id == evidence["id"]
        )
        audit_service.record(
            actor, "evidence.store", "evidence", evidence["id"],
            {"sha256": row["sha256"], "size": row["size"], "exif_disagrees": values["exif_disagrees"]},
        )
        evidence.update(values)
        await _publish(evidence)
        mine.append(evidence["id"])
    return UploadOutcome(await _session_wire(row, gc_after_s=limits.gc_after_s, evidence_ids=mine, parts=[]))


# --- downloads --------------------------------------------------------------------


@dataclasses.dataclass
class Download:
    """Where the bytes come from: a presigned ``url``, or ``chunks`` streamed by the API."""

    media_type: str
    size: int
    filename: str
    url: str | None = None
    chunks: AsyncIterator[bytes] | None = None


def _filename(row: dict[str, Any], suffix: str = "") -> str:
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic", "image/heif": "heif"}
    return f"{row['kind']}-{row['id']}{suffix}.{extension.get(row['media_type'], 'bin')}"


async def _stored_row(actor: Actor, evidence_id: uuid.UUID) -> dict[str, Any]:
    row = await _visible_row(actor, evidence_id)
    if row["status"] != EvidenceStatus.STORED:
        raise StateConflict("证据文件尚未上传完成", "evidence bytes are not stored", code=ErrorCode.EVIDENCE_PENDING)
    return row


async def download(actor: Actor, store: ObjectStore, evidence_id: uuid.UUID, *, limits: EvidenceSettings) -> Download:
    """The original, unchanged: streamed by the API, or a short-lived presigned URL if the settings ask for those."""
    row = await _stored_row(actor, evidence_id)
    key = keys.blob_key(row["sha256"])
    name = _filename(row)
    audit_service.record(actor, "evidence.download", "evidence", evidence_id)
    url = None
    if limits.presigned_downloads:
        url = await _store_call(store.presign_get(key, expires=DOWNLOAD_TTL, filename=name, content_type=row["media_type"]))
    if url is not None:
        return Download(media_type=row["media_type"], size=row["size"], filename=name, url=url)
    return Download(media_type=row["media_type"], size=row["size"], filename=name, chunks=_store_stream(store, key))


async def thumbnail(
    actor: Actor, store: ObjectStore, evidence_id: uuid.UUID, *, limits: EvidenceSettings, slots: asyncio.Semaphore
) -> bytes:
    """The EXIF-free web thumbnail, made from the original on first request and kept.

    At most ``slots`` are made at once (``EVIDENCE_THUMBNAILS_AT_ONCE``): decoding a large WebP or
    HEIC photo takes its full size in memory, and a page of thumbnails must not add those up.
    """
    row = await _stored_row(actor, evidence_id)
    key = keys.thumbnail_key(row["sha256"])
    if (kept := await _kept_thumbnail(store, key)) is not None:
        return kept
    async with slots:
        if (kept := await _kept_thumbnail(store, key)) is not None:
            return kept  # made while this request waited
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            await _hash_stored(store, keys.blob_key(row["sha256"]), spool)
            data = await asyncio.to_thread(policy.make_thumbnail, spool, max_pixels=limits.max_pixels)
        try:
            await _store_call(store.put(key, data, content_type="image/jpeg"))
        except ObjectExists:
            pass  # made by a concurrent request; identical
    return data


async def _kept_thumbnail(store: ObjectStore, key: str) -> bytes | None:
    try:
        return await store.get(key)
    except ObjectNotFound:
        return None
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error


# --- garbage collection -----------------------------------------------------------


async def collect_garbage(store: ObjectStore, *, older_than: dt.timedelta, now: dt.datetime | None = None) -> GarbageReport:
    """Remove unfinished uploads and unreferenced objects older than ``older_than``; never finished evidence.

    Runs in the caller's transaction (the session rows it expires). Safe to
    run while uploads are going on: everything younger than the cutoff stays.
    """
    now = now or _now()
    cutoff = now - older_than
    report = GarbageReport()
    stale = await SessionRow.select().where(SessionRow.status == UploadStatus.OPEN, SessionRow.updated_at < cutoff)
    for row in stale:
        await _reset_parts(store, row)
        await SessionRow.update({SessionRow.status: UploadStatus.EXPIRED}).where(SessionRow.id == row["id"])
        report.expired_sessions += 1
    live = {
        r["backend_upload_id"]
        for r in await SessionRow.select(SessionRow.backend_upload_id).where(SessionRow.status == UploadStatus.OPEN)
    }
    async for upload in store.list_uploads(keys.STAGING_PREFIX):
        if upload.upload_id not in live and upload.started_at < cutoff:
            await store.abort_upload(upload.key, upload.upload_id)
            report.aborted_uploads += 1
    async for info in store.list(keys.STAGING_PREFIX):
        if info.modified_at < cutoff:
            await _discard(store, info.key)
            report.removed_staging += 1
    async for info in store.list(keys.BLOB_PREFIX):
        digest = keys.sha256_of_blob_key(info.key)
        if digest is None or info.modified_at >= cutoff or await Blob.exists().where(Blob.sha256 == digest):
            continue
        try:
            await store.delete(info.key)
            report.removed_blobs += 1
        except ObjectLocked:
            report.kept_locked_orphans += 1  # retained by the store; it expires on its own
    async for info in store.list(keys.THUMBNAIL_PREFIX):
        digest = info.key.rsplit("/", 1)[-1].removesuffix(".jpg")
        if info.modified_at < cutoff and keys.is_sha256(digest) and not await Blob.exists().where(Blob.sha256 == digest):
            await _discard(store, info.key)
            report.removed_thumbnails += 1
    return report
