"""企业名录: the registry searched and paged, and one enterprise's record page (linked from the dashboard)."""

from __future__ import annotations

import uuid

from litestar import Request, Response, get
from litestar.params import FromPath

from schemas.vocab import LABELS, District, RiskGrade, Sector
from server.accounts import service as accounts_service
from server.console import enforcement as enforcement_pages
from server.console import navigation
from server.console.paging import Cell, Filter, Table, read_filters, read_page
from server.console.web import actor_of, render
from server.deps import AppSettings
from server.registry import service as registry_service

READERS = navigation.REGISTRY_READERS
_FILTERS = [
    Filter("q", "名称或信用代码"),
    Filter("sector", "行业", "select", [(str(s), LABELS[s]) for s in Sector]),
    Filter("district", "区县", "select", [(str(d), LABELS[d]) for d in District]),
    Filter("risk_grade", "风险等级", "select", [(str(r), LABELS[r]) for r in RiskGrade]),
]


@get("/console/enterprises", opt={"roles": READERS}, include_in_schema=False)
async def enterprises(request: Request) -> Response:
    values = read_filters(_FILTERS, request.query_params)
    cursor = request.query_params.get("cursor") or None
    found = await registry_service.list_enterprises(
        actor_of(request),
        registry_service.EnterpriseFilter(
            q=values["q"] or None,
            sector=Sector(values["sector"]) if values["sector"] else None,
            district=District(values["district"]) if values["district"] else None,
            risk_grade=RiskGrade(values["risk_grade"]) if values["risk_grade"] else None,
        ),
        cursor=cursor[:512] if cursor else None,
    )
    rows = [
        [
            Cell(e.name, f"/console/enterprises/{e.id}"), Cell(e.credit_code), Cell(LABELS[e.sector]), Cell(LABELS[e.district]),
            Cell(LABELS[e.risk_grade]), Cell("是" if e.major_hazard_source else ""), Cell(LABELS[e.operating_status]),
        ]
        for e in found.items
    ]
    table = Table(
        path="/console/enterprises", columns=["企业名称", "统一社会信用代码", "行业", "区县", "风险等级", "重大危险源", "经营状态"],
        rows=rows, filters=_FILTERS, values=values, page=read_page(request.query_params), next_cursor=found.next_cursor,
        target="enterprises-table",
    )
    return render(request, "enterprises/list.html", table=table)


@get("/console/enterprises/{enterprise_id:uuid}", opt={"roles": READERS}, include_in_schema=False)
async def enterprise(request: Request, enterprise_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    actor = actor_of(request)
    record = await registry_service.get(actor, enterprise_id)
    conflicts = await registry_service.list_conflicts(actor, enterprise_id=enterprise_id)
    # Who declared a 回避 is named to those who manage people (as GET /api/v1/users); others see the reasons.
    named = conflicts and actor.role in navigation.PEOPLE_READERS
    people = {u.id: u for u in await accounts_service.list_users()} if named else {}
    enforcement_part = await enforcement_pages.enterprise_sections(actor, enterprise_id, settings)
    return render(request, "enterprises/record.html", e=record, conflicts=conflicts, people=people, **enforcement_part)


ROUTES = [enterprises, enterprise]
