"""Enforcement documents: issue (render, number, store write-once, audit), void, supersede, read, verify.

    issue ──▶ issued ──void(reason)──▶ voided        (keeps its number; the verify page says so)
                 └──issue(supersedes_id)──▶ superseded (the correction names it; its own number stays)

Who may issue which type and what must exist first is :mod:`server.documents.policy`; the records come
from the other domains' services (:mod:`server.documents.gather`), read as the issuing actor. The caller
owns the transaction. The PDF goes to the object store under its SHA-256 (write-once, retained where the
store has object lock) before the row is written; the number is taken in the same transaction, so a
failure anywhere leaves no number used.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar

from schemas import documents as wire
from schemas.documents import DocumentStatus, DocumentType
from schemas.problems import ErrorCode, Refusal
from schemas.vocab import EnforcementKind, Role
from server import database, localtime
from server.accounts.policy import Actor, may_manage_department
from server.audit import service as audit_service
from server.documents import fonts as prepared_fonts
from server.documents import gather, numbering, policy, render, signatures
from server.documents.verify_limit import VerifyLimiter
from server.documents.checked_read import read_checked
from server.documents.tables import Document, PenaltyStatement
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict, Unavailable
from server.enforcement import service as enforcement_service
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import rechecks as hazard_rechecks
from server.inspections import records as inspection_records
from server.violations import service as violations_service
from server.settings import Settings
from server.sync import scopes, sql
from server.sync import service as sync_service
from storage import keys
from storage.base import ObjectExists, ObjectStore, StorageError

ENTITY = "document"
#: Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper is not misread.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
LOCK_DOCUMENTS = 0x444F
#: How long an issuing transaction may wait its turn behind others on PostgreSQL (seconds).
ISSUE_QUEUE_S = 300


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def new_short_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """A code as typed: any case, with or without the dash, O for 0 and I/L for 1."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def shown_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def fonts(settings: Settings) -> render.Fonts:
    """The embedded fonts; a missing file is the installation's fault (503), never a document without them."""
    chosen = render.Fonts(body=settings.documents.body_font, heading=settings.documents.heading_font)
    for path in (chosen.body, chosen.heading):
        if not Path(path).is_file():
            raise Unavailable("文书字体未安装，暂不能签发文书（见 .ci/document-deps）", f"document font missing: {path}")
    return chosen


def install(app: Litestar, settings: Settings) -> None:
    """Prepare the document fonts in the background at start-up (see :mod:`server.documents.fonts`), and
    the public verify endpoints' per-address limit (``app.state.verify_limiter``)."""
    app.state.verify_limiter = VerifyLimiter(settings.documents.verify_per_minute)
    chosen = render.Fonts(body=settings.documents.body_font, heading=settings.documents.heading_font)

    async def warm() -> None:
        app.state.document_fonts_ready = asyncio.get_running_loop().run_in_executor(None, prepared_fonts.warm, chosen)

    app.on_startup.append(warm)


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.documents.public_url.rstrip('/')}/verify/{code}"


def to_wire(row: dict[str, Any]) -> wire.Document:
    return wire.Document(
        id=row["id"],
        type=DocumentType(row["type"]),
        title=row["title"],
        number=row["number"],
        status=DocumentStatus(row["status"]),
        issuing_body=row["issuing_body"],
        inspection_id=row["inspection"],
        enterprise_id=row["enterprise"],
        sha256=row["sha256"],
        size=row["size"],
        short_code=shown_code(row["short_code"]),
        issued_by=row["issued_by"],
        issued_at=row["issued_at"],
        recheck_id=row["recheck"],
        action_id=row["action"],
        violation_id=row["violation"],
        supersedes_id=row["supersedes"],
        superseded_by_id=row["superseded_by"],
        voided_at=row["voided_at"],
        voided_by=row["voided_by"],
        void_reason=row["void_reason"],
    )


async def publish(row: dict[str, Any]) -> None:
    """Put a document handed over on site on its team's phones (the inspection's scope), in its current state.

    Its PDF is fetched from ``GET /api/v1/documents/{id}/pdf`` by whoever may see the inspection.
    """
    if policy.SPECS[DocumentType(row["type"])].on_site:
        await sync_service.publish(ENTITY, row["id"], to_wire(row), scope=scopes.inspection(row["inspection"]))


async def _republish(document_id: uuid.UUID) -> dict[str, Any]:
    row = await Document.select().where(Document.id == document_id).first()
    await publish(row)
    return row


def raise_refusal(refusal: Refusal) -> None:
    if refusal.code in (ErrorCode.INVALID_INPUT, ErrorCode.UNKNOWN_REFERENCE):
        raise InvalidInput.of(refusal)
    raise StateConflict.of(refusal)


async def _case_rows(inspection_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Document.select().where(Document.inspection == inspection_id).order_by(Document.issued_at)


async def store_pdf(store: ObjectStore, sha256: str, pdf: bytes) -> str:
    key = keys.document_key(sha256)
    try:
        await store.put(key, pdf, content_type="application/pdf", lock=True)
    except ObjectExists:
        pass  # the same bytes are already kept (a render of a rolled-back attempt); content-addressed
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error
    return key


# --- issuing -------------------------------------------------------------------------------------

_sqlite_turn = asyncio.Lock()


@contextlib.asynccontextmanager
async def issuing_turn() -> AsyncIterator[None]:
    """Take turns before opening an issuing transaction on SQLite (a no-op on PostgreSQL).

    Rendering happens inside the transaction (the number is printed on the page), and on SQLite that
    transaction holds the one database-wide write lock; issuers queued in SQLite's busy handler would time
    out ("database is locked"), so in the embedded mode (one process) they queue here instead.
    """
    if database.is_postgres():
        yield
        return
    async with _sqlite_turn:
        yield



@dataclass
class Prepared:
    """A document about to be issued: its case as the actor reads it, and what the rules look at."""

    case: gather.Case
    facts: policy.Facts
    live_rows: list[dict[str, Any]]
    old: dict[str, Any] | None


async def _prepare(
    actor: Actor, request: wire.DocumentIssue, settings: Settings, now: dt.datetime, *, lock: bool,
    like: gather.Case | None = None,
) -> Prepared:
    """Who may issue it (PermissionDenied, NotFound) and the facts the rules need; ``lock`` takes the case's
    turn first, so the facts still hold at commit (issuing), without it they are what a page shows."""
    if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        raise PermissionDenied("当前角色不能签发执法文书", "this role does not issue documents", field="type")
    case = await gather.load(actor, request, settings, like=like)
    team = set(case.recheck.assignee_ids) if case.recheck is not None else set(case.inspection.inspector_ids)
    manages = may_manage_department(actor, case.inspection.department_id)
    if not policy.may_issue(request.type, actor.role, on_team=actor.user_id in team, manages_department=manages):
        raise PermissionDenied(
            f"无权签发{policy.SPECS[request.type].title}", "may not issue this document type", field="type"
        )
    if request.supersedes_id is not None:
        if not policy.may_void(actor.role, manages_department=manages):
            raise PermissionDenied("只有本科室负责人可以更正文书", "only a supervisor of the department corrects documents",
                                   field="supersedes_id")
        if not (request.correction_reason or "").strip():
            raise InvalidInput("更正文书须说明理由", "a correction states its reason", field="correction_reason")
    if lock:
        # One issuer per case at a time: the live-document check must still hold at commit. Each holder
        # renders its PDF under the lock (the number is on the page), so a burst queues for longer than an
        # ordinary statement may take; the wait, and only this transaction's, is allowed ISSUE_QUEUE_S.
        if database.is_postgres():
            await Document.raw(f"SET LOCAL statement_timeout = '{ISSUE_QUEUE_S}s'")
        await sql.lock(LOCK_DOCUMENTS, [str(case.inspection.id)])
    rows = await _case_rows(case.inspection.id)
    live_rows = [r for r in rows if r["status"] == DocumentStatus.ISSUED]
    old = None
    if request.supersedes_id is not None:
        old = next((r for r in rows if r["id"] == request.supersedes_id), None)
        if old is None:
            raise InvalidInput("被更正的文书不存在或不属于本案", "unknown document to supersede",
                               code=ErrorCode.UNKNOWN_REFERENCE, field="supersedes_id")
    facts = gather.facts(
        request, case,
        live=frozenset((DocumentType(r["type"]), r["source_key"]) for r in live_rows),
        supersedes=(DocumentType(old["type"]), old["source_key"], DocumentStatus(old["status"])) if old else None,
        statement=await _statement_period(request, case, live_rows, settings, now),
    )
    return Prepared(case=case, facts=facts, live_rows=live_rows, old=old)


async def issue(
    actor: Actor,
    request: wire.DocumentIssue,
    settings: Settings,
    access: gather.EvidenceAccess,
    *,
    now: dt.datetime | None = None,
) -> wire.Document:
    """Issue one document from its records, if the actor may and its prerequisites are met.

    A correction (``supersedes_id``) is a supervisor's, like voiding, and says why (``correction_reason``).
    """
    now = _now(now)
    prepared = await _prepare(actor, request, settings, now, lock=True)
    case, facts, live_rows, old = prepared.case, prepared.facts, prepared.live_rows, prepared.old
    refused = policy.refusal(request.type, facts)
    if refused is not None:
        raise_refusal(refused)
    await gather.load_images(actor, case, gather.embedded_evidence(request.type, case), access, settings)
    if policy.SPECS[request.type].officer_signatures:
        case.officer_signatures = await signatures.images(access.store, list(case.officer_ids))

    chosen_fonts = fonts(settings)
    spec = policy.SPECS[request.type]
    abbr = settings.documents.issuing_abbr
    year = policy.local_year(now, localtime.zone(settings.hazards.timezone))
    seq = await numbering.take(abbr, spec.series, year)
    number = policy.number(abbr, spec.series, year, seq)
    code = new_short_code()
    prior = {DocumentType(r["type"]): r["number"] for r in live_rows}
    content = gather.content(
        request, case, settings, number=number, issued_at=now, short_code=shown_code(code),
        verify_url=verify_url(settings, code), prior_numbers=prior,
        supersedes_number=old["number"] if old else "",
    )
    pdf = await asyncio.to_thread(render.render, content, chosen_fonts, created_at=now)
    sha256 = hashlib.sha256(pdf).hexdigest()
    object_key = await store_pdf(access.store, sha256, pdf)
    document_id = uuid.uuid4()
    await Document.insert(
        Document(
            id=document_id, type=request.type, title=spec.title, issuing_body=settings.documents.issuing_body,
            issuing_abbr=abbr, series=spec.series, year=year, seq=seq, number=number,
            inspection=case.inspection.id, enterprise=case.enterprise.id, department=case.inspection.department_id,
            recheck=request.recheck_id, action=request.action_id, violation=request.violation_id,
            source_key=facts.source_key, sha256=sha256, size=len(pdf), object_key=object_key, short_code=code,
            status=DocumentStatus.ISSUED, issued_by=actor.user_id, issued_at=now,
            supersedes=old["id"] if old else None,
        )
    )
    if old is not None:
        await Document.update({Document.status: DocumentStatus.SUPERSEDED, Document.superseded_by: document_id}).where(
            Document.id == old["id"]
        )
        audit_service.record(actor, "document.supersede", ENTITY, old["id"],
                             {"superseded_by": str(document_id), "number": number, "reason": request.correction_reason})
        await _republish(old["id"])
    audit_service.record(
        actor, "document.issue", ENTITY, document_id,
        {"type": request.type, "number": number, "sha256": sha256, "size": len(pdf), "inspection_id": str(case.inspection.id),
         "source": facts.source_key, "supersedes": str(old["id"]) if old else None,
         "correction_reason": request.correction_reason},
    )
    return to_wire(await _republish(document_id))


async def _statement_period(
    request: wire.DocumentIssue, case: gather.Case, live_rows: list[dict[str, Any]], settings: Settings, now: dt.datetime
) -> policy.StatementPeriod | None:
    """For a penalty decision: the live notice to the same party, when it was served and whether the party's
    waiver or hearing is recorded on it (None for other types, or with no live notice)."""
    if request.type not in policy.PENALTY_DECISIONS:
        return None
    key = gather.source_key(request, case)
    notice = next((r for r in live_rows if r["type"] == DocumentType.PENALTY_NOTICE and r["source_key"] == key), None)
    if notice is None:
        return None
    tz = localtime.zone(settings.hazards.timezone)
    recorded = await PenaltyStatement.exists().where(PenaltyStatement.notice == notice["id"])
    amount = (case.action.amount_yuan or 0) if case.action else 0
    return policy.StatementPeriod(
        served_on=notice["issued_at"].astimezone(tz).date(), today=now.astimezone(tz).date(),
        hearing=policy.hearing_right(amount, person=request.violation_id is not None), closed=recorded,
        calendar=calendar(settings),
    )


def calendar(settings: Settings) -> policy.Calendar:
    return policy.Calendar(holidays=settings.documents.holiday_dates,
                           working_weekend_days=settings.documents.working_weekend_dates)


# --- what may be issued next ---------------------------------------------------------------------


#: Stands for the receiving agency the person types with the transfer's button (never issued).
_AGENCY_ASKED = "（接收机关）"


@dataclass(frozen=True)
class Option:
    """A document the actor could issue on this case: ``refusal`` says what is still missing ("" = ready)."""

    request: wire.DocumentIssue
    title: str
    #: Whom or what it concerns, for the button (the unit, a person, a recheck).
    about: str
    refusal: str = ""


async def _candidates(actor: Actor, inspection_id: uuid.UUID, settings: Settings) -> list[tuple[wire.DocumentIssue, str]]:
    """Every document the case's records could give, one per type and source."""
    inspection = await inspection_records.get(actor, inspection_id)
    out = [(wire.DocumentIssue(type=DocumentType.INSPECTION_RECORD, inspection_id=inspection_id), "本次检查"),
           (wire.DocumentIssue(type=DocumentType.RECTIFICATION_ORDER, inspection_id=inspection_id), "本次检查的隐患")]
    for hazard in await hazard_lifecycle.list_for_inspection(actor, inspection_id, settings):
        for recheck in await hazard_rechecks.list_rechecks(actor, today=localtime.local_date(_now(None), settings.hazards.timezone), hazard_id=hazard.id):
            out.append((wire.DocumentIssue(type=DocumentType.RECHECK_OPINION, recheck_id=recheck.id), f"隐患复查：{hazard.description}"))
    violations = await violations_service.list_for_inspection(actor, inspection_id)
    for action in await enforcement_service.list_actions(actor, enterprise_id=inspection.enterprise_id):
        if action.inspection_id != inspection_id:
            continue
        if action.kind == EnforcementKind.SUSPENSION:
            out.append((wire.DocumentIssue(type=DocumentType.ON_SITE_MEASURES, action_id=action.id), "停产停业整顿"))
        elif action.kind == EnforcementKind.JUDICIAL_TRANSFER:
            out.append((wire.DocumentIssue(type=DocumentType.CASE_TRANSFER, action_id=action.id,
                                           receiving_agency=action.receiving_agency or None), "移送司法"))
        elif action.kind == EnforcementKind.FINE:
            fine = f"罚款 {action.amount_yuan or 0} 元"
            out.append((wire.DocumentIssue(type=DocumentType.PENALTY_NOTICE, action_id=action.id), f"{fine}（单位）"))
            out.append((wire.DocumentIssue(type=DocumentType.PENALTY_DECISION_UNIT, action_id=action.id), f"{fine}（单位）"))
            for v in violations:
                for t in (DocumentType.PENALTY_NOTICE, DocumentType.PENALTY_DECISION_PERSON):
                    out.append((wire.DocumentIssue(type=t, action_id=action.id, violation_id=v.id), f"{fine}（{v.person_name}）"))
    return out


async def next_documents(actor: Actor, inspection_id: uuid.UUID, settings: Settings, *,
                         now: dt.datetime | None = None) -> list[Option]:
    """What the actor may issue on this case now, and what waits for a prerequisite (naming it), by the same
    rules :func:`issue` applies; types the actor may never issue here, and documents already in force, are left out."""
    now = _now(now)
    if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        return []
    options = []
    like: gather.Case | None = None  # the check's records, read once for every candidate of the check itself
    for request, about in await _candidates(actor, inspection_id, settings):
        title = policy.SPECS[request.type].title
        checked = request
        if request.type == DocumentType.CASE_TRANSFER and not request.receiving_agency:
            # the page asks for the receiving agency with the button; judge the rest as if it were given
            checked = msgspec.structs.replace(request, receiving_agency=_AGENCY_ASKED)
        try:
            prepared = await _prepare(actor, checked, settings, now, lock=False, like=like)
        except PermissionDenied:
            continue
        except (NotFound, InvalidInput, StateConflict) as refused:
            options.append(Option(request, title, about, refusal=refused.message))
            continue
        if prepared.case.recheck is None:
            like = prepared.case
        refusal = policy.refusal(checked.type, prepared.facts)
        if refusal is not None and refusal.code == ErrorCode.DUPLICATE:
            continue
        options.append(Option(request, title, about, refusal=refusal.message if refusal else ""))
    return options


# --- the party's statement ------------------------------------------------------------------------


def _statement_wire(row: dict[str, Any]) -> wire.Statement:
    return wire.Statement(notice_id=row["notice"], outcome=wire.StatementOutcome(row["outcome"]), note=row["note"],
                          recorded_by=row["recorded_by"], recorded_at=row["recorded_at"])


async def record_statement(
    actor: Actor, notice_id: uuid.UUID, data: wire.StatementRecord, *, now: dt.datetime | None = None
) -> wire.Statement:
    """Record on a live 行政处罚告知书 that its party waived 陈述申辩 (and 听证) or was heard; once per notice."""
    now = _now(now)
    row = await visible(actor, notice_id)
    inspection = await inspection_records.get(actor, row["inspection"])
    if not policy.may_record_statement(actor.role, on_team=actor.user_id in set(inspection.inspector_ids),
                                       manages_department=may_manage_department(actor, row["department"])):
        raise PermissionDenied("只有本案执法人员或本科室负责人可以登记陈述申辩", "may not record the party's statement",
                               field="outcome")
    await sql.lock(LOCK_DOCUMENTS, [str(row["inspection"])])
    row = await Document.select().where(Document.id == notice_id).first()
    if row["type"] != DocumentType.PENALTY_NOTICE:
        raise InvalidInput("陈述申辩只能登记在行政处罚告知书上", "only a penalty notice takes a statement record",
                           field="notice_id")
    if row["status"] != DocumentStatus.ISSUED:
        raise StateConflict("该告知书已作废或已被更正", "the notice is no longer in force", field="status")
    if await PenaltyStatement.exists().where(PenaltyStatement.notice == notice_id):
        raise StateConflict("该告知书已登记陈述申辩情况", "a statement is already recorded on this notice",
                            code=ErrorCode.DUPLICATE, field="outcome")
    await PenaltyStatement.insert(PenaltyStatement(
        id=uuid.uuid4(), notice=notice_id, outcome=data.outcome, note=data.note.strip(), recorded_by=actor.user_id,
        recorded_at=now))
    audit_service.record(actor, "document.statement", ENTITY, notice_id,
                         {"number": row["number"], "outcome": data.outcome, "note": data.note.strip()})
    return _statement_wire(await PenaltyStatement.select().where(PenaltyStatement.notice == notice_id).first())


async def statements_for_inspection(actor: Actor, inspection_id: uuid.UUID) -> dict[uuid.UUID, wire.Statement]:
    """The statement records on the case's notices, by notice id."""
    await inspection_records.get(actor, inspection_id)
    ids = [r["id"] for r in await _case_rows(inspection_id) if r["type"] == DocumentType.PENALTY_NOTICE]
    if not ids:
        return {}
    rows = await PenaltyStatement.select().where(PenaltyStatement.notice.is_in(ids))
    return {r["notice"]: _statement_wire(r) for r in rows}


def decision_possible_from(settings: Settings, notice: wire.Document, amount_yuan: int) -> dt.date:
    """The first bureau-local day a decision on this notice's party may be made without a waiver."""
    amount = amount_yuan
    tz = localtime.zone(settings.hazards.timezone)
    return policy.decision_possible_from(
        notice.issued_at.astimezone(tz).date(), hearing=policy.hearing_right(amount, person=notice.violation_id is not None),
        calendar=calendar(settings))


# --- voiding -------------------------------------------------------------------------------------


async def void(actor: Actor, document_id: uuid.UUID, data: wire.DocumentVoid, *, now: dt.datetime | None = None) -> wire.Document:
    """A supervisor of the case's department voids an issued document; it keeps its number."""
    now = _now(now)
    row = await visible(actor, document_id)
    if not policy.may_void(actor.role, manages_department=may_manage_department(actor, row["department"])):
        raise PermissionDenied("只有本科室负责人可以作废文书", "only a supervisor of the department voids documents", field="reason")
    await sql.lock(LOCK_DOCUMENTS, [str(row["inspection"])])
    row = await Document.select().where(Document.id == document_id).first()
    if row["status"] != DocumentStatus.ISSUED:
        raise StateConflict("该文书已作废或已被更正", "the document is no longer in force", field="status")
    await Document.update(
        {Document.status: DocumentStatus.VOIDED, Document.voided_at: now, Document.voided_by: actor.user_id,
         Document.void_reason: data.reason}
    ).where(Document.id == document_id)
    audit_service.record(actor, "document.void", ENTITY, document_id, {"number": row["number"], "reason": data.reason})
    return to_wire(await _republish(document_id))


# --- reading -------------------------------------------------------------------------------------


async def visible(actor: Actor, document_id: uuid.UUID) -> dict[str, Any]:
    row = await Document.select().where(Document.id == document_id).first()
    if row is None:
        raise NotFound("文书不存在", "document not found", field="document_id")
    try:
        await inspection_records.get(actor, row["inspection"])  # covert and other teams' checks stay hidden
    except (NotFound, PermissionDenied):
        raise NotFound("文书不存在", "document not found", field="document_id") from None
    return row


async def get(actor: Actor, document_id: uuid.UUID) -> wire.Document:
    return to_wire(await visible(actor, document_id))


async def list_for_inspection(actor: Actor, inspection_id: uuid.UUID) -> list[wire.Document]:
    """The documents of one case (inspection), in the order they were issued."""
    await inspection_records.get(actor, inspection_id)
    return [to_wire(r) for r in await _case_rows(inspection_id)]


async def pdf_bytes(store: ObjectStore, row: dict[str, Any]) -> bytes:
    """The stored PDF, checked against its recorded hash (a changed object is an error, never served)."""
    return await read_checked(store, row["object_key"], row["sha256"], what="文书文件", what_en=f"document {row['id']}")


async def download(actor: Actor, store: ObjectStore, document_id: uuid.UUID) -> tuple[str, bytes]:
    """(file name, PDF bytes) of one document the actor may see; every download is audited."""
    row = await visible(actor, document_id)
    data = await pdf_bytes(store, row)
    audit_service.record(actor, "document.download", ENTITY, document_id)
    return f"{row['number']}.pdf", data


# --- public verification ------------------------------------------------------------------------


async def _verification(row: dict[str, Any] | None, *, matches: bool | None = None) -> wire.Verification:
    if row is None:
        return wire.Verification(found=False, matches=matches)
    successor = ""
    if row["superseded_by"] is not None:
        later = await Document.select(Document.number).where(Document.id == row["superseded_by"]).first()
        successor = later["number"] if later else ""
    return wire.Verification(
        found=True, matches=matches, title=row["title"], number=row["number"], issuing_body=row["issuing_body"],
        issued_at=row["issued_at"], status=DocumentStatus(row["status"]), voided_at=row["voided_at"],
        superseded_by_number=successor, sha256=row["sha256"],
    )


async def verify_code(code: str) -> wire.Verification:
    """What the paper's short code stands for (no login): found or not, and the document's state."""
    code = normalize_code(code)
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return wire.Verification(found=False)
    return await _verification(await Document.select().where(Document.short_code == code).first())


async def verify_file(data: bytes, code: str | None = None) -> wire.Verification:
    """Whether these exact bytes were issued (by their SHA-256); with a code, whether they are that document."""
    digest = hashlib.sha256(data).hexdigest()
    by_hash = await Document.select().where(Document.sha256 == digest).first()
    if code is None:
        return await _verification(by_hash, matches=by_hash is not None)
    by_code = await verify_code(code)
    by_code.matches = by_code.found and by_code.sha256 == digest
    return by_code

