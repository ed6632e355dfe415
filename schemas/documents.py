"""Wire types of enforcement documents (执法文书): issue, void, supersede, read, verify.

A document is issued from records the system already holds (a check, a hazard's
recheck, an enforcement action); the server renders the PDF, numbers it and keeps
it immutable. What the public verification answers (:class:`Verification`) says
no more than the paper itself: type, number, issuing body, time, status.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.problems import ErrorCode, Refusal
from schemas.evidence import ByteSize, Latitude, Longitude, MediaType, Sha256Hex

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Agency = Annotated[str, msgspec.Meta(min_length=2, max_length=100)]
SignerName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: The short code printed under the QR code: 10 characters of Crockford's base32, shown as XXXXX-XXXXX.
ShortCode = Annotated[str, msgspec.Meta(min_length=10, max_length=16, pattern="^[0-9A-Za-z-]+$")]


class DocumentType(enum.StrEnum):
    INSPECTION_RECORD = "inspection_record"  # 现场检查记录
    RECTIFICATION_ORDER = "rectification_order"  # 责令限期整改指令书
    RECHECK_OPINION = "recheck_opinion"  # 整改复查意见书
    ON_SITE_MEASURES = "on_site_measures"  # 现场处理措施决定书
    PENALTY_NOTICE = "penalty_notice"  # 行政处罚告知书
    PENALTY_DECISION_UNIT = "penalty_decision_unit"  # 行政处罚决定书（单位）
    PENALTY_DECISION_PERSON = "penalty_decision_person"  # 行政处罚决定书（个人）
    CASE_TRANSFER = "case_transfer"  # 案件移送书


class DocumentStatus(enum.StrEnum):
    ISSUED = "issued"  # 有效
    VOIDED = "voided"  # 已作废（保留文号）
    SUPERSEDED = "superseded"  # 已被更正文书取代


class StatementOutcome(enum.StrEnum):
    WAIVED = "waived"  # 当事人明确放弃陈述申辩（及听证）
    HEARD = "heard"  # 已听取当事人陈述申辩（或已举行听证）


class StatementRecord(Input, kw_only=True):
    """That the party of a 行政处罚告知书 waived or was heard, recorded on the notice: the decision need
    not wait out the 陈述申辩 period. ``note`` says how (the party's signed waiver, the 陈述申辩笔录)."""

    outcome: StatementOutcome
    note: Annotated[str, msgspec.Meta(min_length=2, max_length=2000)]


class Statement(Struct, kw_only=True):
    notice_id: uuid.UUID
    outcome: StatementOutcome
    note: str
    recorded_by: uuid.UUID
    recorded_at: dt.datetime


class OfficerSignature(Struct, kw_only=True):
    """An officer's recorded signature image (the picture itself is read from the console page)."""

    officer_id: uuid.UUID
    sha256: str
    size: int
    width: int
    height: int
    recorded_at: dt.datetime


class DocumentIssue(Input, kw_only=True):
    """Issue one document from its source record.

    ``inspection_id`` for the 现场检查记录 and the 责令限期整改指令书; ``recheck_id`` for the
    整改复查意见书; ``action_id`` for the measures, penalty and transfer documents (a penalty
    on a person also names the 三违 record in ``violation_id``); ``receiving_agency`` for a transfer.
    ``supersedes_id`` makes this a correction of an issued document of the same type and source, a
    supervisor's, with its ``correction_reason``.
    """

    type: DocumentType
    inspection_id: uuid.UUID | None = None
    recheck_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    violation_id: uuid.UUID | None = None
    receiving_agency: Agency | None = None
    supersedes_id: uuid.UUID | None = None
    correction_reason: Reason | None = None


class DocumentVoid(Input, kw_only=True):
    reason: Reason


class Document(Struct, kw_only=True):
    """An issued document as its readers see it."""

    id: uuid.UUID
    type: DocumentType
    title: str
    number: str
    status: DocumentStatus
    issuing_body: str
    inspection_id: uuid.UUID
    enterprise_id: uuid.UUID
    sha256: str
    size: int
    short_code: str
    issued_by: uuid.UUID | None
    issued_at: dt.datetime
    recheck_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    violation_id: uuid.UUID | None = None
    supersedes_id: uuid.UUID | None = None
    superseded_by_id: uuid.UUID | None = None
    voided_at: dt.datetime | None = None
    voided_by: uuid.UUID | None = None
    void_reason: str = ""


class Verification(Struct, kw_only=True):
    """What anyone holding the paper may learn: was this exact document issued, by whom, when, is it still valid."""

    found: bool
    #: True when an uploaded file's SHA-256 is the issued document's (None when only a code was given).
    matches: bool | None = None
    title: str = ""
    number: str = ""
    issuing_body: str = ""
    issued_at: dt.datetime | None = None
    status: DocumentStatus | None = None
    voided_at: dt.datetime | None = None
    superseded_by_number: str = ""
    sha256: str = ""


class DocumentSignature(Struct, kw_only=True):
    """The party's signature acknowledging one issued document, taken on a phone (签收).

    ``id`` is the id of the signature's evidence record (its image, uploaded like a photo);
    ``document_sha256`` is the SHA-256 of the exact PDF the party was shown, which is the issued one.
    """

    id: uuid.UUID
    document_id: uuid.UUID
    inspection_id: uuid.UUID
    document_number: str
    document_sha256: str
    signer_name: str
    signed_at: dt.datetime
    recorded_by: uuid.UUID | None = None
    device_id: uuid.UUID | None = None


class SignDocument(Mutation, kw_only=True, tag="sign_document"):
    """The party signs an on-site document on the phone, which shows them the issued PDF.

    ``id`` (made on the phone) is the signature's evidence id; its image follows through an upload
    session like a photo's (``sha256``, ``size``, ``media_type`` are the image's). ``document_sha256``
    names the exact PDF signed: the server refuses a document voided or superseded, one of another
    inspection, one whose bytes differ, and a second signature of the same document.
    """

    id: uuid.UUID
    document_id: uuid.UUID
    inspection_id: uuid.UUID
    document_sha256: Sha256Hex
    signer_name: SignerName
    sha256: Sha256Hex
    size: ByteSize
    media_type: MediaType = "image/png"
    signed_at: dt.datetime
    longitude: Longitude | None = None
    latitude: Latitude | None = None


def sign_refusal(
    status: DocumentStatus,
    *,
    title: str,
    on_site: bool,
    same_inspection: bool = True,
    hash_matches: bool = True,
    signed_already: bool = False,
    successor_number: str = "",
) -> Refusal | None:
    """Why the party may not sign this document on the phone now, or None.

    Only the documents handed over on site are signed there, only while in force (a voided or superseded
    one never), only the exact PDF that was issued (its SHA-256), only for its own inspection, and once.
    The server decides with every fact; the phone library asks the same before queueing.
    """
    if not same_inspection:
        return Refusal(field="document_id", message="该文书不属于本检查", message_en="the document is not of this inspection",
                       code=ErrorCode.UNKNOWN_REFERENCE)
    if not on_site:
        return Refusal(field="document_id", message=f"{title}不在现场签收", message_en="this document type is not signed on site")
    if status == DocumentStatus.VOIDED:
        return Refusal(field="document_id", message="该文书已作废，不能签收", message_en="the document was voided",
                       code=ErrorCode.STATE_CONFLICT)
    if status == DocumentStatus.SUPERSEDED:
        later = f"（{successor_number}）" if successor_number else ""
        return Refusal(field="document_id", message=f"该文书已被更正{later}，请当事人签收更正后的文书",
                       message_en="the document was superseded by a correction", code=ErrorCode.STATE_CONFLICT)
    if not hash_matches:
        return Refusal(field="document_sha256", message="签收的文件与签发的原件不一致，请重新同步后再签收",
                       message_en="the signed file is not the issued document (SHA-256 differs)",
                       code=ErrorCode.STATE_CONFLICT)
    if signed_already:
        return Refusal(field="document_id", message="该文书已由当事人签收", message_en="the document is already signed",
                       code=ErrorCode.DUPLICATE)
    return None
