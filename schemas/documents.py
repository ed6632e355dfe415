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

from schemas.base import Input, Struct

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Agency = Annotated[str, msgspec.Meta(min_length=2, max_length=100)]
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


class DocumentIssue(Input, kw_only=True):
    """Issue one document from its source record.

    ``inspection_id`` for the 现场检查记录 and the 责令限期整改指令书; ``recheck_id`` for the
    整改复查意见书; ``action_id`` for the measures, penalty and transfer documents (a penalty
    on a person also names the 三违 record in ``violation_id``); ``receiving_agency`` for a transfer.
    ``supersedes_id`` makes this a correction of an issued document of the same type and source.
    """

    type: DocumentType
    inspection_id: uuid.UUID | None = None
    recheck_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    violation_id: uuid.UUID | None = None
    receiving_agency: Agency | None = None
    supersedes_id: uuid.UUID | None = None


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
