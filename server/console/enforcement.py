"""The office's enforcement: actions, propose, decide, 法制审核, refusals, 行刑衔接 transfers; an enterprise's §113 counter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody

from schemas import enforcement as wire
from schemas.enforcement import ActionStatus
from schemas.vocab import EnforcementKind, Role, label
from server import database
from server.console import document_pages, labels, navigation, paging
from server.console.checks import _summary
from server.console.names import names_for
from server.console.web import actor_of, redirect, render
from server.accounts.policy import Actor
from server.deps import AppSettings
from server.enforcement import service as enforcement_service
from server.errors import InvalidInput, NotFound, PermissionDenied
from server.hazards import lifecycle as hazard_lifecycle
from server.registry import service as registry_service
from server.settings import Settings

ROLES = {"roles": navigation.ENFORCEMENT}
#: 法制审核 is the one write of a legal reviewer, a role that otherwise only reads.
REVIEW = {"roles": navigation.ENFORCEMENT, "writers": frozenset({Role.LEGAL_REVIEWER})}
FILTERS = (
    paging.Filter("status", "状态", "select", [(str(s), labels.ACTION_STATUS[s]) for s in ActionStatus]),
    paging.Filter("kind", "措施", "select", [(str(k), label(k)) for k in EnforcementKind]),
)
_Text = Annotated[str, msgspec.Meta(max_length=4000)]


def _amount(text: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 11:
        raise InvalidInput("金额须为正整数（元）", "amount must be whole yuan", field="amount_yuan")
    return int(text)


@get("/console/enforcement", opt=ROLES, include_in_schema=False)
async def action_list(request: Request) -> Response:
    actor = actor_of(request)
    values = paging.read_filters(FILTERS, request.query_params)
    page = paging.read_page(request.query_params)
    chosen = {"status": ActionStatus(values["status"]) if values["status"] else None,
              "kind": EnforcementKind(values["kind"]) if values["kind"] else None}
    found = await enforcement_service.list_actions(
        actor, **chosen, limit=paging.PER_PAGE, offset=(page - 1) * paging.PER_PAGE
    )
    total = await enforcement_service.count_actions(actor, **chosen)
    names = await names_for(actor)
    rows = []
    for a in found:
        clock = "决定逾期" if a.decision_overdue else ("移送逾期" if a.transfer_overdue else "")
        rows.append([
            paging.Cell(label(a.kind) + (f" {a.amount_yuan} 元" if a.amount_yuan else ""), href=f"/console/enforcement/{a.id}"),
            paging.Cell(await names.enterprise(a.enterprise_id)),
            paging.Cell(labels.ACTION_STATUS[a.status], tone="bad" if a.status == ActionStatus.AWAITING_REVIEW else ""),
            paging.Cell(labels.ACTION_ORIGIN[a.origin]),
            paging.Cell(names.person(a.proposed_by) + " " + a.proposed_at.date().isoformat()),
            paging.Cell(clock, tone="bad" if clock else ""),
        ])
    table = paging.Table(path="/console/enforcement", columns=("措施", "企业", "状态", "来源", "提出", "行刑衔接时限"),
                         rows=rows, filters=FILTERS, values=values, page=page, total=total)
    return render(request, "office/enforcement_list.html", table=table)


@get("/console/enforcement/{action_id:uuid}", opt=ROLES, include_in_schema=False)
async def action_page(request: Request, action_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    actor = actor_of(request)
    action = await enforcement_service.get_action(actor, action_id)
    names = await names_for(actor)
    counter = None
    if actor.role in navigation.SUPERVISION:
        try:
            counter = await enforcement_service.section_113_counter(actor, action.enterprise_id, settings)
        except (NotFound, PermissionDenied):
            counter = None
    history = await enforcement_service.history(actor, action_id)
    supervisor, legal = actor.role == Role.SUPERVISOR, actor.role == Role.LEGAL_REVIEWER
    return render(
        request, "office/enforcement.html", action=action, names=names, counter=counter,
        enterprise=await names.enterprise(action.enterprise_id), status_label=labels.ACTION_STATUS[action.status],
        origin_label=labels.ACTION_ORIGIN[action.origin],
        history=[(e, labels.of(labels.AUDIT_ACTIONS, e.action), _summary(e.changes)) for e in history],
        may_decide=supervisor and action.status == ActionStatus.PROPOSED,
        may_review=legal and action.status == ActionStatus.AWAITING_REVIEW,
        may_refuse=supervisor and action.kind == EnforcementKind.SUSPENSION and action.status == ActionStatus.IN_EFFECT,
        may_transfer=supervisor and action.kind == EnforcementKind.JUDICIAL_TRANSFER and action.status == ActionStatus.IN_EFFECT,
        **await _documents(actor, action, settings),
    )


async def _documents(actor: Actor, action: wire.EnforcementAction, settings: Settings) -> dict[str, Any]:
    """The case's documents, when the action belongs to a check this person may read."""
    if action.inspection_id is None:
        return {"docs": None}
    try:
        return await document_pages.section(actor, action.inspection_id, settings, back=f"/console/enforcement/{action.id}")
    except (NotFound, PermissionDenied):
        return {"docs": None}


class ProposeForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    inspection_id: uuid.UUID
    kind: EnforcementKind
    reason: _Text
    hazard_id: Annotated[str, msgspec.Meta(max_length=36)] = ""
    amount_yuan: Annotated[str, msgspec.Meta(max_length=20)] = ""
    legal_basis: Annotated[str, msgspec.Meta(max_length=500)] = ""
    deadline_date: Annotated[str, msgspec.Meta(max_length=10)] = ""


class DecideForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    approve: Annotated[str, msgspec.Meta(pattern="^(yes|no)$")]
    note: _Text = ""
    amount_yuan: Annotated[str, msgspec.Meta(max_length=20)] = ""


class ReviewForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    approve: Annotated[str, msgspec.Meta(pattern="^(yes|no)$")]
    opinion: _Text


class RefusalForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    note: _Text


class TransferForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    receiving_agency: Annotated[str, msgspec.Meta(max_length=200)]


def _convert(struct: type, **fields: object) -> object:
    """Build a service's input from form fields, its shape refusal named like the API's."""
    try:
        return msgspec.convert(fields, struct)
    except msgspec.ValidationError as exc:
        raise InvalidInput("提交的内容有误：" + str(exc), str(exc)) from None


@post("/console/enforcement/propose", opt=ROLES, include_in_schema=False)
async def propose(request: Request, data: URLEncodedBody[ProposeForm], settings: AppSettings) -> Response:
    proposal = _convert(
        wire.EnforcementProposal, id=str(uuid.uuid4()), kind=data.kind, reason=data.reason.strip(),
        inspection_id=str(data.inspection_id), hazard_id=data.hazard_id or None, amount_yuan=_amount(data.amount_yuan),
        legal_basis=data.legal_basis, deadline_date=data.deadline_date or None,
    )
    async with database.transaction():
        action = await enforcement_service.propose(actor_of(request), proposal, settings)
    return redirect(request, f"/console/enforcement/{action.id}")


@post("/console/enforcement/{action_id:uuid}/decide", opt=ROLES, include_in_schema=False)
async def decide(request: Request, action_id: FromPath[uuid.UUID], data: URLEncodedBody[DecideForm], settings: AppSettings) -> Response:
    decision = _convert(wire.EnforcementDecision, approve=data.approve == "yes", note=data.note,
                        amount_yuan=_amount(data.amount_yuan))
    async with database.transaction():
        await enforcement_service.decide(actor_of(request), action_id, decision, settings)
    return redirect(request, f"/console/enforcement/{action_id}")


@post("/console/enforcement/{action_id:uuid}/legal-review", opt=REVIEW, include_in_schema=False)
async def legal_review(request: Request, action_id: FromPath[uuid.UUID], data: URLEncodedBody[ReviewForm], settings: AppSettings) -> Response:
    review = _convert(wire.LegalReview, approve=data.approve == "yes", opinion=data.opinion.strip())
    async with database.transaction():
        await enforcement_service.review(actor_of(request), action_id, review, settings)
    return redirect(request, f"/console/enforcement/{action_id}")


@post("/console/enforcement/{action_id:uuid}/refusal", opt=ROLES, include_in_schema=False)
async def refusal(
    request: Request, action_id: FromPath[uuid.UUID], data: URLEncodedBody[RefusalForm], settings: AppSettings
) -> Response:
    record = _convert(wire.RefusalRecord, note=data.note.strip())
    async with database.transaction():
        closure = await enforcement_service.record_refusal(actor_of(request), action_id, record, settings)
    return redirect(request, f"/console/enforcement/{closure.id}")


@post("/console/enforcement/{action_id:uuid}/transfer", opt=ROLES, include_in_schema=False)
async def transfer(request: Request, action_id: FromPath[uuid.UUID], data: URLEncodedBody[TransferForm]) -> Response:
    record = _convert(wire.TransferRecord, receiving_agency=data.receiving_agency.strip())
    async with database.transaction():
        await enforcement_service.record_transfer(actor_of(request), action_id, record)
    return redirect(request, f"/console/enforcement/{action_id}")


async def enterprise_sections(actor: Actor, enterprise_id: uuid.UUID, settings: Settings) -> dict[str, Any]:
    """What the enterprise's page (server.console.enterprise_pages) shows of its enforcement: the §113 counter,
    its hazards and its actions, as the services let this actor see them."""
    return {
        "counter": await enforcement_service.section_113_counter(actor, enterprise_id, settings),
        "hazards": await hazard_lifecycle.list_hazards(actor, settings, enterprise_id=enterprise_id),
        "actions": await enforcement_service.list_actions(actor, enterprise_id=enterprise_id),
        "names": await names_for(actor),
        "action_labels": labels.ACTION_STATUS,
    }


ROUTES = [action_list, action_page, propose, decide, legal_review, refusal, transfer]
