"""The office's enforcement documents: a case's list, the PDF to print, issuing the next one the rules
allow, voiding, correcting, the party's 陈述申辩 record, and the case-file ZIP.

Every rule is :mod:`server.documents.service`'s (which asks ``server.documents.policy``): the page shows
a button only for what :func:`service.next_documents` offers, with what is still missing for the rest,
and every POST goes through the same service calls as the API, audited there.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody

from schemas import documents as wire
from schemas.documents import DocumentStatus, DocumentType, StatementOutcome
from schemas.vocab import InspectionStatus, label
from server import database
from server.accounts.policy import Actor, may_manage_department
from server.console import labels, navigation
from server.console.names import names_for
from server.console.web import actor_of, redirect, render
from server.deps import AppSettings
from server.documents import casefile, gather, policy
from server.documents import service as documents_service
from server.enforcement import service as enforcement_service
from server.errors import InvalidInput
from server.inspections import records as inspection_records
from server.settings import Settings
from storage.base import attachment_disposition, inline_disposition

READERS = {"roles": navigation.DOCUMENT_READERS}
WRITERS = {"roles": navigation.OFFICERS}
_NO_STORE = {"cache-control": "private, no-store"}
_Reason = Annotated[str, msgspec.Meta(max_length=500)]
_Id = Annotated[str, msgspec.Meta(max_length=36)]


def case_path(inspection_id: uuid.UUID) -> str:
    return f"/console/cases/{inspection_id}/documents"


def _back(target: str, inspection_id: uuid.UUID) -> str:
    """Where a form returns: the console page it came from, or the case's documents page."""
    ok = target.startswith("/console/") and not target.startswith("//") and "\\" not in target
    return target if ok else case_path(inspection_id)


async def section(actor: Actor, inspection_id: uuid.UUID, settings: Settings, *, back: str) -> dict[str, Any]:
    """What ``office/_documents.html`` shows of a case: its documents and what may be issued next."""
    documents = await documents_service.list_for_inspection(actor, inspection_id)
    inspection = await inspection_records.get(actor, inspection_id)
    statements = await documents_service.statements_for_inspection(actor, inspection_id)
    manages = may_manage_department(actor, inspection.department_id)
    supervisor = policy.may_void(actor.role, manages_department=manages)
    records = policy.may_record_statement(actor.role, on_team=actor.user_id in set(inspection.inspector_ids),
                                          manages_department=manages)
    names = await names_for(actor)
    rows = []
    for d in documents:
        waits_until = None
        if d.type == DocumentType.PENALTY_NOTICE and d.status == DocumentStatus.ISSUED and d.id not in statements:
            action = await enforcement_service.get_action(actor, d.action_id) if d.action_id else None
            amount = (action.amount_yuan or 0) if action else 0
            waits_until = documents_service.decision_possible_from(settings, d, amount)
        rows.append({
            "doc": d, "status": labels.DOCUMENT_STATUS[d.status], "issuer": names.person(d.issued_by),
            "voider": names.person(d.voided_by) if d.voided_by else "",
            "statement": statements.get(d.id), "waits_until": waits_until,
            "may_void": supervisor and d.status == DocumentStatus.ISSUED,
            "may_statement": records and waits_until is not None,
        })
    return {
        "docs": {
            "inspection_id": inspection_id, "rows": rows, "back": back,
            "options": await documents_service.next_documents(actor, inspection_id, settings),
            "outcomes": labels.STATEMENT_OUTCOME,
            "casefile": inspection.status in (InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED),
        },
    }


@get("/console/cases", opt=READERS, include_in_schema=False)
async def my_cases(request: Request) -> Response:
    """The checks whose documents this person may open (an inspector's own; the office's by department)."""
    actor = actor_of(request)
    found = await inspection_records.list_for(actor, limit=100)
    names = await names_for(actor)
    rows = [(i, await names.enterprise(i.enterprise_id)) for i in found
            if i.status in (InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED)]
    return render(request, "office/cases.html", rows=rows, names=names)


@get("/console/cases/{inspection_id:uuid}/documents", opt=READERS, include_in_schema=False)
async def case_documents(request: Request, inspection_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    actor = actor_of(request)
    inspection = await inspection_records.get(actor, inspection_id)  # 404 for a check the person may not see
    names = await names_for(actor)
    return render(
        request, "office/documents.html", inspection=inspection, enterprise=await names.enterprise(inspection.enterprise_id),
        names=names, kind_label=label(inspection.kind),
        **await section(actor, inspection_id, settings, back=case_path(inspection_id)),
    )


@get("/console/documents/{document_id:uuid}/pdf", opt=READERS, include_in_schema=False)
async def document_pdf(request: Request, document_id: FromPath[uuid.UUID]) -> Response:
    """The issued PDF, shown by the browser to print (byte for byte the issued one; the reading is audited)."""
    async with database.transaction():
        name, data = await documents_service.download(actor_of(request), request.app.state.evidence_store, document_id)
    return Response(data, media_type="application/pdf", headers={**_NO_STORE, "content-disposition": inline_disposition(name)})


@get("/console/cases/{inspection_id:uuid}/casefile", opt=READERS, include_in_schema=False)
async def case_file(request: Request, inspection_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    async with database.transaction():
        name, data = await casefile.build(actor_of(request), inspection_id, request.app.state.evidence_store, settings)
    return Response(data, media_type="application/zip", headers={**_NO_STORE, "content-disposition": attachment_disposition(name)})


class IssueForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: DocumentType
    inspection_id: _Id = ""
    recheck_id: _Id = ""
    action_id: _Id = ""
    violation_id: _Id = ""
    receiving_agency: Annotated[str, msgspec.Meta(max_length=100)] = ""
    back: Annotated[str, msgspec.Meta(max_length=300)] = ""


class VoidForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: _Reason
    back: Annotated[str, msgspec.Meta(max_length=300)] = ""


class StatementForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: StatementOutcome
    note: Annotated[str, msgspec.Meta(max_length=2000)]
    back: Annotated[str, msgspec.Meta(max_length=300)] = ""


def _convert(struct: type, **fields: object) -> Any:
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v not in ("", None)}, struct)
    except msgspec.ValidationError as exc:
        raise InvalidInput("提交的内容有误：" + str(exc), str(exc)) from None


async def _issue(request: Request, settings: Settings, issue: wire.DocumentIssue) -> wire.Document:
    access = gather.EvidenceAccess(store=request.app.state.evidence_store, slots=request.app.state.thumbnail_slots)
    async with documents_service.issuing_turn(), database.transaction():
        return await documents_service.issue(actor_of(request), issue, settings, access)


@post("/console/documents/issue", opt=WRITERS, include_in_schema=False)
async def issue_document(request: Request, data: URLEncodedBody[IssueForm], settings: AppSettings) -> Response:
    issue = _convert(wire.DocumentIssue, type=data.type, inspection_id=data.inspection_id, recheck_id=data.recheck_id,
                     action_id=data.action_id, violation_id=data.violation_id, receiving_agency=data.receiving_agency.strip())
    document = await _issue(request, settings, issue)
    return redirect(request, _back(data.back, document.inspection_id))


@post("/console/documents/{document_id:uuid}/void", opt=WRITERS, include_in_schema=False)
async def void_document(request: Request, document_id: FromPath[uuid.UUID], data: URLEncodedBody[VoidForm]) -> Response:
    async with database.transaction():
        document = await documents_service.void(actor_of(request), document_id, _convert(wire.DocumentVoid, reason=data.reason.strip()))
    return redirect(request, _back(data.back, document.inspection_id))


@post("/console/documents/{document_id:uuid}/correct", opt=WRITERS, include_in_schema=False)
async def correct_document(request: Request, document_id: FromPath[uuid.UUID], data: URLEncodedBody[VoidForm],
                           settings: AppSettings) -> Response:
    """A correction: the same type from the same records, issued anew, superseding this one (a supervisor's)."""
    old = await documents_service.get(actor_of(request), document_id)
    issue = _convert(
        wire.DocumentIssue, type=old.type, inspection_id=str(old.inspection_id),
        recheck_id=str(old.recheck_id or ""), action_id=str(old.action_id or ""), violation_id=str(old.violation_id or ""),
        supersedes_id=str(old.id), correction_reason=data.reason.strip(),
        receiving_agency=await _agency(request, old),
    )
    document = await _issue(request, settings, issue)
    return redirect(request, _back(data.back, document.inspection_id))


async def _agency(request: Request, old: wire.Document) -> str:
    if old.type != DocumentType.CASE_TRANSFER or old.action_id is None:
        return ""
    return (await enforcement_service.get_action(actor_of(request), old.action_id)).receiving_agency


@post("/console/documents/{document_id:uuid}/statement", opt=WRITERS, include_in_schema=False)
async def record_statement(request: Request, document_id: FromPath[uuid.UUID], data: URLEncodedBody[StatementForm]) -> Response:
    record = _convert(wire.StatementRecord, outcome=data.outcome, note=data.note.strip())
    async with database.transaction():
        await documents_service.record_statement(actor_of(request), document_id, record)
        notice = await documents_service.get(actor_of(request), document_id)
    return redirect(request, _back(data.back, notice.inspection_id))


ROUTES = [my_cases, case_documents, document_pdf, case_file, issue_document, void_document, correct_document, record_statement]
