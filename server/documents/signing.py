"""The party signs an on-site document on the phone (签收); the signature comes back as evidence.

The phone holds the team's on-site documents through pull (``service.publish``), fetches each PDF and
checks it against the record's SHA-256, shows it to the party and takes their signature on the screen.
:class:`SignDocument` then records, in one push:

- the signature image as an evidence record of the inspection (``signature``; its bytes follow through
  an upload session like a photo's, ``server.evidence``);
- a :class:`~server.documents.tables.DocumentSignature` naming the document and the SHA-256 of the exact
  PDF signed, published to the inspection's scope and audit-logged (``document.sign``).

The issued PDF is never touched. Once the signature's image is stored, :func:`signed_copy` renders the
signed copy (签收页: the original's number and SHA-256 with the signature) once, as a new write-once object
the signature row names. What may be signed is :func:`server.documents.policy.sign_refusal`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from typing import Any

from schemas import sync as sync_wire
from schemas.documents import DocumentSignature as SignatureRecord
from schemas.documents import DocumentIssue, DocumentStatus, DocumentType, SignDocument
from schemas.evidence import AttachEvidence, EvidenceStatus
from schemas.problems import ErrorCode
from schemas.vocab import EvidenceKind
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.context import Context
from server.documents import gather, policy, render
from server.documents import service as documents_service
from server.documents.tables import Document, DocumentSignature
from server.errors import NotFound, StateConflict
from server.settings import Settings
from server.evidence import service as evidence_service
from server.sync import scopes, sql
from server.sync import service as sync_service

ENTITY = "document_signature"


def to_wire(row: dict[str, Any], number: str) -> SignatureRecord:
    return SignatureRecord(
        id=row["id"], document_id=row["document"], inspection_id=row["inspection"], document_number=number,
        document_sha256=row["document_sha256"], signer_name=row["signer_name"], signed_at=row["signed_at"],
        recorded_by=row["recorded_by"], device_id=row["device"],
    )


def _applied(mutation: SignDocument) -> sync_wire.Applied:
    return sync_wire.Applied(seq=mutation.seq, entity_type=ENTITY, entity_id=mutation.id)


async def apply_sign_document(ctx: Context, actor: Actor, mutation: SignDocument) -> sync_wire.Applied:
    """Record the party's signature of one issued on-site document; idempotent by the signature's id."""
    existing = await DocumentSignature.select().where(DocumentSignature.id == mutation.id).first()
    if existing is not None:
        if existing["document"] != mutation.document_id or existing["recorded_by"] != actor.user_id:
            raise StateConflict("签名编号已被占用", "signature id already used", code=ErrorCode.DUPLICATE, field="id")
        return _applied(mutation)
    row = await documents_service.visible(actor, mutation.document_id)  # NotFound for a check the caller cannot see
    await sql.lock(documents_service.LOCK_DOCUMENTS, [str(row["inspection"])])  # against a void or correction now
    row = await Document.select().where(Document.id == mutation.document_id).first()
    successor = ""
    if row["superseded_by"] is not None:
        later = await Document.select(Document.number).where(Document.id == row["superseded_by"]).first()
        successor = later["number"] if later else ""
    refused = policy.sign_refusal(
        DocumentType(row["type"]), DocumentStatus(row["status"]),
        same_inspection=row["inspection"] == mutation.inspection_id,
        hash_matches=row["sha256"] == mutation.document_sha256,
        signed_already=await DocumentSignature.exists().where(DocumentSignature.document == row["id"]),
        successor_number=successor,
    )
    if refused is not None:
        documents_service.raise_refusal(refused)
    if await evidence_service.is_recorded(mutation.id):
        raise StateConflict("签名编号已被占用", "evidence id already used", code=ErrorCode.DUPLICATE, field="id")
    await evidence_service.apply_attach_evidence(ctx, actor, AttachEvidence(
        seq=mutation.seq, id=mutation.id, evidence_kind=EvidenceKind.SIGNATURE, inspection_id=mutation.inspection_id,
        sha256=mutation.sha256, size=mutation.size, media_type=mutation.media_type, captured_at=mutation.signed_at,
        longitude=mutation.longitude, latitude=mutation.latitude, signer_name=mutation.signer_name,
        caption=f"当事人签收《{row['title']}》{row['number']}",
    ))
    values = {
        "id": mutation.id, "document": row["id"], "inspection": row["inspection"],
        "document_sha256": row["sha256"], "signer_name": mutation.signer_name, "signed_at": mutation.signed_at,
        "recorded_by": actor.user_id, "device": actor.device_id, "created_at": dt.datetime.now(dt.UTC),
    }
    await DocumentSignature.insert(DocumentSignature(**values))
    audit_service.record(actor, "document.sign", documents_service.ENTITY, row["id"], {
        "number": row["number"], "sha256": row["sha256"], "evidence_id": str(mutation.id),
        "signature_sha256": mutation.sha256, "signer_name": mutation.signer_name,
    })
    record = to_wire(values, row["number"])
    await sync_service.publish(ENTITY, record.id, record, scope=scopes.inspection(row["inspection"]))
    return _applied(mutation)



async def signed_copy(
    actor: Actor, document_id: uuid.UUID, settings: Settings, access: gather.EvidenceAccess
) -> tuple[str, bytes]:
    """(file name, PDF) of a signed document's signed copy: rendered and stored the first time, then read back.

    Who may see the document's inspection may read it; it exists once the party's signature image is stored.
    """
    row = await documents_service.visible(actor, document_id)
    await sql.lock(documents_service.LOCK_DOCUMENTS, [str(row["inspection"])])  # one render per signature
    signature = await DocumentSignature.select().where(DocumentSignature.document == document_id).first()
    if signature is None:
        raise NotFound("该文书尚无当事人签收", "the document has no party signature", field="document_id")
    name = f"{row['number']}-签收页.pdf"
    if signature["copy_key"] is not None:
        data = await documents_service.pdf_bytes(
            access.store, {"id": signature["id"], "object_key": signature["copy_key"], "sha256": signature["copy_sha256"]})
        audit_service.record(actor, "document.signed_copy.download", documents_service.ENTITY, document_id)
        return name, data
    evidence = await evidence_service.get(actor, signature["id"])
    if evidence.status != EvidenceStatus.STORED:
        raise StateConflict("当事人签名图像尚未上传完成，稍后再试", "the signature image is not stored yet", field="document_id")
    image = await evidence_service.thumbnail(actor, access.store, signature["id"], limits=settings.evidence, slots=access.slots)
    document = documents_service.to_wire(row)
    case = await gather.load(actor, DocumentIssue(type=DocumentType.INSPECTION_RECORD, inspection_id=row["inspection"]), settings)
    content = gather.signed_copy_content(
        document, case, settings, signer_name=signature["signer_name"], signed_at=signature["signed_at"],
        signature=evidence, image=image, verify_url=documents_service.verify_url(settings, row["short_code"]),
    )
    data = await asyncio.to_thread(render.render, content, documents_service.fonts(settings), created_at=signature["signed_at"])
    sha256 = hashlib.sha256(data).hexdigest()
    key = await documents_service.store_pdf(access.store, sha256, data)
    await DocumentSignature.update({DocumentSignature.copy_sha256: sha256, DocumentSignature.copy_key: key}).where(
        DocumentSignature.id == signature["id"])
    audit_service.record(actor, "document.signed_copy", documents_service.ENTITY, document_id, {
        "sha256": sha256, "original_sha256": row["sha256"], "signature_evidence_id": str(signature["id"]),
    })
    return name, data
