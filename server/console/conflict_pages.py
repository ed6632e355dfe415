"""回避管理: declared conflicts of interest — declare one for a person and an enterprise, revoke it."""

from __future__ import annotations

import uuid

from litestar import Request, Response, get, post
from litestar.params import FromPath

from schemas import registry as wire
from server import database
from server.accounts import service as accounts_service
from server.console import navigation
from server.console.paging import PER_PAGE, Cell, Filter, Table, read_filters, read_page
from server.console.web import actor_of, form_of, local_time, read_form, redirect, render
from server.deps import AppSettings
from server.errors import InvalidInput
from server.registry import service as registry_service
from schemas.identifiers import normalize_credit_code
from schemas.problems import ErrorCode

ROLES = navigation.REGISTRY_WRITERS


@get("/console/conflicts", opt={"roles": ROLES}, include_in_schema=False)
async def conflicts(request: Request, settings: AppSettings) -> Response:
    actor = actor_of(request)
    users = await accounts_service.list_users()
    names = {u.id: f"{u.display_name}（{u.username}）" for u in users}
    filters = [
        Filter("user", "人员", "select", [(str(u.id), names[u.id]) for u in users]),
        Filter("revoked", "范围", "select", [("include", "含已撤销")]),
    ]
    values = read_filters(filters, request.query_params)
    page = read_page(request.query_params)
    chosen = {"user_id": uuid.UUID(values["user"]) if values["user"] else None, "include_revoked": values["revoked"] == "include"}
    found = await registry_service.list_conflicts(
        actor, **chosen, newest_first=True, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    total = await registry_service.count_conflicts(actor, **chosen)
    rows = []
    for conflict in found:
        enterprise = await registry_service.get(actor, conflict.enterprise_id)
        rows.append([
            Cell(names.get(conflict.user_id, str(conflict.user_id))),
            Cell(enterprise.name, f"/console/enterprises/{enterprise.id}"),
            Cell(enterprise.credit_code),
            Cell(conflict.reason),
            Cell(local_time(conflict.declared_at, settings)),
            Cell("已撤销 " + local_time(conflict.revoked_at, settings) if conflict.revoked_at else "有效",
                 tone="" if conflict.revoked_at else "ok"),
            Cell("" if conflict.revoked_at else str(conflict.id), tone="revoke"),
        ])
    table = Table(
        path="/console/conflicts", columns=["人员", "企业", "统一社会信用代码", "回避理由", "申报时间", "状态", "操作"],
        rows=rows, filters=filters, values=values, page=page, total=total, target="conflicts-table",
    )
    people = [u for u in users if u.active]
    return render(request, "conflicts.html", table=table, people=people)


@post("/console/conflicts", opt={"roles": ROLES}, include_in_schema=False)
async def declare(request: Request) -> Response:
    actor = actor_of(request)
    form = await form_of(request)
    code = normalize_credit_code(str(form.get("credit_code", "")))[:32]
    matches = [] if not code else (await registry_service.list_enterprises(
        actor, registry_service.EnterpriseFilter(q=code), limit=2
    )).items
    enterprise = next((e for e in matches if e.credit_code == code), None)
    if enterprise is None:
        raise InvalidInput("未找到该统一社会信用代码的企业", "no enterprise with this credit code",
                           code=ErrorCode.UNKNOWN_REFERENCE, field="credit_code")
    data = await read_form(request, wire.ConflictOfInterestCreate, enterprise_id=str(enterprise.id))
    async with database.transaction():
        await registry_service.declare_conflict(actor, data)
    return redirect(request, "/console/conflicts")


@post("/console/conflicts/{conflict_id:uuid}/revoke", opt={"roles": ROLES}, include_in_schema=False)
async def revoke(request: Request, conflict_id: FromPath[uuid.UUID]) -> Response:
    async with database.transaction():
        await registry_service.revoke_conflict(actor_of(request), conflict_id)
    return redirect(request, "/console/conflicts")


ROUTES = [conflicts, declare, revoke]
