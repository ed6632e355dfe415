"""Issued documents, the counters that number them, a notice's 陈述申辩 record and officers' signatures."""

from piccolo.columns import UUID, BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.documents import DocumentStatus, DocumentType, StatementOutcome
from server.accounts.tables import User
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise


class Document(Table, tablename="document"):
    """One issued document; its PDF lives write-once in the object store under ``object_key``.

    ``(issuing_abbr, series, year, seq)`` is unique (m0015): a number is never given twice, and a
    voided document keeps its own.
    """

    id = UUID(primary_key=True)
    type = Varchar(length=32, choices=DocumentType, index=True)
    title = Varchar(length=64)
    issuing_body = Varchar(length=100)
    issuing_abbr = Varchar(length=16)
    series = Varchar(length=8)
    year = Integer()
    seq = Integer()
    number = Varchar(length=64)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True, null=False)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True, null=False)
    department = UUID(null=True, default=None)
    recheck = UUID(null=True, default=None)
    action = UUID(null=True, default=None)
    violation = UUID(null=True, default=None)
    source_key = Varchar(length=120, index=True)
    sha256 = Varchar(length=64, unique=True)
    size = BigInt()
    object_key = Varchar(length=256)
    short_code = Varchar(length=10, unique=True)
    status = Varchar(length=16, choices=DocumentStatus, index=True)
    issued_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    issued_at = Timestamptz()
    supersedes = UUID(null=True, default=None)
    superseded_by = UUID(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)
    voided_by = UUID(null=True, default=None)
    void_reason = Text(default="")


class DocumentCounter(Table, tablename="document_counter"):
    """The last number given in one series of one issuing body in one year; unique on the three (m0015)."""

    id = UUID(primary_key=True)
    issuing_abbr = Varchar(length=16)
    series = Varchar(length=8)
    year = Integer()
    last_seq = Integer(default=0)


class DocumentSignature(Table, tablename="document_signature"):
    """The party's signature of one issued document (签收), taken on a phone; one per document.

    ``id`` is the signature's evidence record (the image, uploaded like a photo); ``document_sha256``
    is the hash of the PDF the party signed, which was the issued one when it was recorded.
    """

    id = UUID(primary_key=True)
    document = ForeignKey(references=Document, on_delete=OnDelete.restrict, unique=True, null=False)
    inspection = UUID()
    document_sha256 = Varchar(length=64)
    signer_name = Varchar(length=64)
    signed_at = Timestamptz()
    recorded_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    device = UUID(null=True, default=None)
    created_at = Timestamptz()
    #: The signed copy (签收页: the original's number and SHA-256 with the party's signature), rendered once
    #: when first asked for after the image is stored; write-once in the object store like the original.
    copy_sha256 = Varchar(length=64, null=True, default=None)
    copy_key = Varchar(length=256, null=True, default=None)


class PenaltyStatement(Table, tablename="penalty_statement"):
    """That the party of a 行政处罚告知书 waived its 陈述申辩 (and 听证) or was heard: the decision need not
    wait out the period (``policy.statement_refusal``). One per notice (unique, m0024)."""

    id = UUID(primary_key=True)
    notice = ForeignKey(references=Document, on_delete=OnDelete.restrict, unique=True, null=False)
    outcome = Varchar(length=16, choices=StatementOutcome)
    note = Text(default="")
    recorded_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=False)
    recorded_at = Timestamptz()


class OfficerSignature(Table, tablename="officer_signature"):
    """An officer's own signature image, kept in the object store under its SHA-256; documents that carry
    officers' signatures embed it. One per officer (unique, m0024): recording again replaces it."""

    id = UUID(primary_key=True)
    officer = ForeignKey(references=User, on_delete=OnDelete.restrict, unique=True, null=False)
    object_key = Varchar(length=256)
    sha256 = Varchar(length=64)
    size = Integer()
    width = Integer()
    height = Integer()
    recorded_at = Timestamptz()
