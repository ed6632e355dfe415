"""The office's hazards: the board (overdue first), a hazard's record, ordering its recheck, closing it."""

from __future__ import annotations

import uuid

from litestar import Request, Response, get, post
from litestar.params import FromPath

from schemas.hazards import RecheckStatus
from schemas.vocab import HazardLevel, HazardStatus, Role, label
from server import database
from server.console import document_pages, labels, navigation, paging
from server.console.checks import _summary
from server.console.names import names_for
from server.console.web import actor_of, redirect, render
from server.deps import AppContext, AppSettings
from server.enforcement import service as enforcement_service
from server.errors import NotFound
from server.evidence import service as evidence_service
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import rechecks as hazard_rechecks
from server.hazards.policy import STEP_LABELS

ROLES = {"roles": navigation.SUPERVISION}
FILTERS = (
    paging.Filter("level", "等级", "select", [(str(v), label(v)) for v in HazardLevel]),
    paging.Filter("listed", "挂牌督办", "select", [("yes", "挂牌督办"), ("no", "未挂牌")]),
)


@get("/console/hazards", opt=ROLES, include_in_schema=False)
async def hazard_board(request: Request, settings: AppSettings) -> Response:
    actor = actor_of(request)
    values = paging.read_filters(FILTERS, request.query_params)
    page = paging.read_page(request.query_params)
    found, total = await hazard_lifecycle.board(
        actor, settings,
        level=HazardLevel(values["level"]) if values["level"] else None,
        listed_supervision={"yes": True, "no": False}.get(values["listed"]),
        limit=paging.PER_PAGE, offset=(page - 1) * paging.PER_PAGE,
    )
    names = await names_for(actor)
    rows = []
    for h in found:
        rows.append([
            paging.Cell(h.description, href=f"/console/hazards/{h.id}"),
            paging.Cell(await names.enterprise(h.enterprise_id)),
            paging.Cell(label(h.level), tone="bad" if h.level == HazardLevel.MAJOR else ""),
            paging.Cell(label(h.status)),
            paging.Cell(h.deadline_date.isoformat()),
            paging.Cell(f"逾期 {h.days_overdue} 天" if h.overdue else "", tone="bad" if h.overdue else ""),
            paging.Cell("挂牌督办" if h.listed_supervision else ""),
            paging.Cell("、".join(STEP_LABELS[e.step] for e in h.escalations)),
        ])
    table = paging.Table(
        path="/console/hazards", columns=("隐患", "企业", "等级", "状态", "整改期限", "逾期", "督办", "升级记录"), rows=rows,
        filters=FILTERS, values=values, page=page, total=total,
    )
    return render(request, "office/hazards.html", table=table)


@get("/console/hazards/{hazard_id:uuid}", opt=ROLES, include_in_schema=False)
async def hazard_page(
    request: Request, hazard_id: FromPath[uuid.UUID], settings: AppSettings, context: AppContext
) -> Response:
    actor = actor_of(request)
    hazard = await hazard_lifecycle.get_hazard(actor, hazard_id, settings)
    names = await names_for(actor)
    rechecks = await hazard_rechecks.list_rechecks(actor, today=context.today(), hazard_id=hazard_id)
    photos = []
    for evidence_id in hazard.evidence_ids:
        try:
            photos.append(await evidence_service.get(actor, evidence_id))
        except NotFound:
            continue
    actions = await enforcement_service.list_actions(actor, hazard_id=hazard_id)
    history = await hazard_lifecycle.history(actor, hazard_id)
    supervisor = actor.role == Role.SUPERVISOR
    pending = any(r.status == RecheckStatus.PENDING for r in rechecks)
    return render(
        request, "office/hazard.html", hazard=hazard, names=names, enterprise=await names.enterprise(hazard.enterprise_id),
        rechecks=rechecks, photos=photos, actions=actions, steps=STEP_LABELS,
        history=[(e, labels.of(labels.AUDIT_ACTIONS, e.action), _summary(e.changes)) for e in history],
        recheck_status=labels.RECHECK_STATUS, recheck_reason=labels.RECHECK_REASON, action_labels=labels.ACTION_STATUS,
        may_order=supervisor and not pending and hazard.status in (
            HazardStatus.FOUND, HazardStatus.RECTIFYING, HazardStatus.RECTIFICATION_REPORTED),
        may_close=supervisor and hazard.status == HazardStatus.RECHECKED,
        **await document_pages.section(actor, hazard.inspection_id, settings, back=f"/console/hazards/{hazard_id}"),
    )


@post("/console/hazards/{hazard_id:uuid}/recheck", opt=ROLES, include_in_schema=False)
async def order_recheck(request: Request, hazard_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    async with database.transaction():
        await hazard_rechecks.order_recheck(actor_of(request), hazard_id, settings)
    return redirect(request, f"/console/hazards/{hazard_id}")


@post("/console/hazards/{hazard_id:uuid}/close", opt=ROLES, include_in_schema=False)
async def close_hazard(request: Request, hazard_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    async with database.transaction():
        await hazard_lifecycle.close_hazard(actor_of(request), hazard_id, settings)
    return redirect(request, f"/console/hazards/{hazard_id}")


ROUTES = [hazard_board, hazard_page, order_recheck, close_hazard]
