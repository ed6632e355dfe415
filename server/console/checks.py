"""The office's checks: the filterable list, a check's record, review, conflicts, the team, its photos."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Stream

from schemas import bounds
from schemas.inspections import ConflictResolution, InspectionAssign, InspectionReview
from schemas.problems import ErrorCode
from schemas.vocab import (
    District, EnforcementKind, EvidenceKind, InspectionKind, InspectionStatus, ItemOutcome, Role, Sector, label,
)
from server import database
from server.accounts.policy import may_manage_department
from server.checklists import service as checklists_service
from server.console import document_pages, labels, navigation, paging
from server.console.names import names_for
from server.console.web import actor_of, redirect, render
from server.deps import AppContext, AppSettings
from server.enforcement import service as enforcement_service
from server.errors import InvalidInput
from server.evidence import service as evidence_service
from server.hazards import lifecycle as hazard_lifecycle
from server.inspections import assignment as inspection_assignment
from server.inspections import conflicts as inspection_conflicts
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections import records as inspection_records
from server.violations import service as violations_service
from storage.base import attachment_disposition

ROLES = {"roles": navigation.SUPERVISION}

FILTERS = (
    paging.Filter("status", "状态", "select", [(str(s), label(s)) for s in InspectionStatus]),
    paging.Filter("district", "区县", "select", [(str(d), label(d)) for d in District]),
    paging.Filter("sector", "行业", "select", [(str(s), label(s)) for s in Sector]),
    paging.Filter("inspector", "检查人员", "select"),
    paging.Filter("date_from", "检查日期自", "date"),
    paging.Filter("date_to", "至", "date"),
)


def _date(value: str, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("日期格式有误", "invalid date", field=name) from None
    if problem := bounds.date_problem(day):
        raise InvalidInput(problem, f"{name} is out of range", code=ErrorCode.DATE_OUT_OF_RANGE, field=name)
    return day


@get("/console/inspections", opt=ROLES, include_in_schema=False)
async def inspection_list(request: Request, settings: AppSettings) -> Response:
    actor = actor_of(request)
    names = await names_for(actor)
    inspectors = sorted(
        (u for u in names.users.values() if u.role == Role.INSPECTOR
         and (actor.role != Role.SUPERVISOR or u.department_id == actor.department_id)),
        key=lambda u: u.username,
    )
    filters = tuple(
        paging.Filter(f.name, f.label, f.kind, [(str(u.id), names.person(u.id)) for u in inspectors])
        if f.name == "inspector" else f
        for f in FILTERS
    )
    values = paging.read_filters(filters, request.query_params)
    page = paging.read_page(request.query_params)
    chosen = inspection_records.InspectionFilter(
        status=InspectionStatus(values["status"]) if values["status"] else None,
        district=District(values["district"]) if values["district"] else None,
        sector=Sector(values["sector"]) if values["sector"] else None,
        inspector_id=uuid.UUID(values["inspector"]) if values["inspector"] else None,
        date_from=_date(values["date_from"], "date_from"),
        date_to=_date(values["date_to"], "date_to"),
        zone=settings.hazards.timezone,
    )
    found = await inspection_records.list_for(
        actor, chosen, limit=paging.PER_PAGE, offset=(page - 1) * paging.PER_PAGE
    )
    total = await inspection_records.count_for(actor, chosen)
    rows = []
    for i in found:
        day = i.submitted_at.date().isoformat() if i.submitted_at else (i.planned_date.isoformat() if i.planned_date else "")
        rows.append([
            paging.Cell(await names.enterprise(i.enterprise_id), href=f"/console/inspections/{i.id}"),
            paging.Cell(label(i.kind)),
            paging.Cell(label(i.status), tone="bad" if i.status == InspectionStatus.SUBMITTED else ""),
            paging.Cell(names.people(i.inspector_ids)),
            paging.Cell(day),
        ])
    table = paging.Table(
        path="/console/inspections", columns=("企业", "类型", "状态", "检查组", "检查日期"), rows=rows,
        filters=filters, values=values, page=page, total=total,
    )
    conflicts = await inspection_conflicts.list_conflicts(actor)
    return render(request, "office/inspections.html", table=table, open_conflicts=len(conflicts))


class ReviewForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Annotated[str, msgspec.Meta(pattern="^(approve|return)$")]
    reason: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class TeamForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    lead: uuid.UUID
    member: uuid.UUID | None = None


class ConflictForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    choose: Annotated[str, msgspec.Meta(pattern="^(server|client|other)$")]
    value: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    back: uuid.UUID


def _summary(changes: dict[str, Any]) -> str:
    """A short line of what an audit entry changed (the full entry stays in the chain)."""
    text = msgspec.json.encode(changes).decode()
    return text if len(text) <= 240 else text[:240] + "…"


@get("/console/inspections/{inspection_id:uuid}", opt=ROLES, include_in_schema=False)
async def inspection_page(request: Request, inspection_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    actor = actor_of(request)
    inspection = await inspection_records.get(actor, inspection_id)
    names = await names_for(actor)
    items: dict[uuid.UUID, Any] = {}
    if inspection.template_id is not None:
        template = await checklists_service.get(actor, inspection.template_id)
        items = {i.id: i for i in template.items}
    results = {r.item_id: r for r in await inspection_records.item_results(actor, inspection_id)}
    rows = [(item, results.get(item.id)) for item in items.values()]
    rows += [(None, r) for item_id, r in results.items() if item_id not in items]
    conflicts = [c for c in await inspection_conflicts.list_conflicts(actor) if c.inspection_id == inspection_id] \
        if actor.role != Role.INSPECTOR else []
    by_result = {r.id: r for r in results.values()}
    evidence = await evidence_service.list_for_inspection(actor, inspection_id)
    hazards = await hazard_lifecycle.list_hazards(actor, settings, inspection_id=inspection_id)
    violations = await violations_service.list_violations(actor, inspection_id=inspection_id)
    actions = await enforcement_service.list_actions(actor, enterprise_id=inspection.enterprise_id)
    history = await inspection_records.history(actor, inspection_id)
    manages = actor.role in (Role.SUPERVISOR, Role.ADMIN) and may_manage_department(actor, inspection.department_id)
    team_choices = sorted(
        (u for u in names.users.values()
         if u.role == Role.INSPECTOR and u.active and (u.department_id == inspection.department_id or actor.role == Role.ADMIN)),
        key=lambda u: u.username,
    )
    return render(
        request, "office/inspection.html",
        inspection=inspection, enterprise=await names.enterprise(inspection.enterprise_id), names=names,
        rows=rows, conflicts=[(c, by_result.get(c.item_result_id), items) for c in conflicts],
        photos=[e for e in evidence if e.kind == EvidenceKind.PHOTO],
        signatures=[e for e in evidence if e.kind == EvidenceKind.SIGNATURE],
        hazards=hazards, violations=violations,
        actions=[a for a in actions if a.inspection_id == inspection_id],
        history=[(e, labels.of(labels.AUDIT_ACTIONS, e.action), _summary(e.changes)) for e in history],
        may_review=actor.role == Role.SUPERVISOR and manages and inspection.status == InspectionStatus.SUBMITTED,
        may_assign=manages and inspection.status == InspectionStatus.PLANNED
        and inspection.kind not in (InspectionKind.SPOT_CHECK, InspectionKind.COVERT, InspectionKind.RECHECK),
        may_resolve=manages,
        may_propose=actor.role == Role.SUPERVISOR and manages,
        team_choices=team_choices, action_labels=labels.ACTION_STATUS,
        kinds=[(str(k), label(k)) for k in EnforcementKind],
        outcomes={str(o): label(o) for o in ItemOutcome},
        **await document_pages.section(actor, inspection_id, settings, back=f"/console/inspections/{inspection_id}"),
    )


@post("/console/inspections/{inspection_id:uuid}/review", opt=ROLES, include_in_schema=False)
async def review_inspection(
    request: Request, inspection_id: FromPath[uuid.UUID], data: URLEncodedBody[ReviewForm], context: AppContext
) -> Response:
    actor = actor_of(request)
    async with database.transaction():
        await inspection_lifecycle.review(context, actor, inspection_id, InspectionReview(decision=data.decision, reason=data.reason))
    return redirect(request, f"/console/inspections/{inspection_id}")


@post("/console/inspections/{inspection_id:uuid}/team", opt=ROLES, include_in_schema=False)
async def assign_team(request: Request, inspection_id: FromPath[uuid.UUID], data: URLEncodedBody[TeamForm]) -> Response:
    actor = actor_of(request)
    team = [data.lead] + ([data.member] if data.member is not None else [])
    async with database.transaction():
        await inspection_assignment.assign_team(actor, inspection_id, InspectionAssign(inspector_ids=team))
    return redirect(request, f"/console/inspections/{inspection_id}")


@post("/console/conflicts/{conflict_id:uuid}/resolve", opt=ROLES, include_in_schema=False)
async def resolve_conflict(request: Request, conflict_id: FromPath[uuid.UUID], data: URLEncodedBody[ConflictForm]) -> Response:
    actor = actor_of(request)
    decision = ConflictResolution(choose=data.choose, value=data.value if data.choose == "other" else None, reason=data.reason)
    async with database.transaction():
        await inspection_conflicts.resolve_conflict(actor, conflict_id, decision)
    return redirect(request, f"/console/inspections/{data.back}")


# --- photos, through the evidence service's own checks --------------------------------------


@get("/console/evidence/{evidence_id:uuid}/thumbnail", opt=ROLES, include_in_schema=False)
async def evidence_thumbnail(request: Request, evidence_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    data = await evidence_service.thumbnail(
        actor_of(request), request.app.state.evidence_store, evidence_id, limits=settings.evidence,
        slots=request.app.state.thumbnail_slots,
    )
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private, no-store"})


@get("/console/evidence/{evidence_id:uuid}/content", opt=ROLES, include_in_schema=False)
async def evidence_content(request: Request, evidence_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    async with database.transaction():  # the download is audited
        found = await evidence_service.download(
            # Streamed by this server: a presigned link would send the browser to another origin.
            actor_of(request), request.app.state.evidence_store, evidence_id,
            limits=dataclasses.replace(settings.evidence, presigned_downloads=False),
        )
    # An <img> shows it whatever the disposition; navigating to it saves the untouched original.
    return Stream(
        found.chunks, media_type=found.media_type,
        headers={"cache-control": "private, no-store", "content-length": str(found.size),
                 "content-disposition": attachment_disposition(found.filename)},
    )


ROUTES = [inspection_list, inspection_page, review_inspection, assign_team, resolve_conflict, evidence_thumbnail,
          evidence_content]
