"""检查表模板: every version of every template, its items; admins create one and publish new versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import FromPath, PathParameter

from schemas import checklists as wire
from schemas.vocab import LABELS, Role, Sector
from server import database
from server.checklists import service as checklists_service
from server.console import navigation
from server.console.paging import Cell, Filter, Table, read_filters, read_page, slice_of
from server.console.web import actor_of, form_of, local_time, read_form, redirect, render
from server.deps import AppSettings
from server.errors import InvalidInput

READERS = navigation.OFFICE
WRITERS = frozenset({Role.ADMIN})
_SECTORS = [(str(s), LABELS[s]) for s in Sector]
_YES = {"是", "重大", "y", "yes", "1", "true"}
TemplateCode = Annotated[str, PathParameter(max_length=64)]


def items_text(items: list[wire.ChecklistItem]) -> str:
    """Items as the page edits them: one per line, ``编码 | 类别 | 检查内容 | 依据 | 重大隐患判定(是/否)``."""
    return "\n".join(
        " | ".join([i.code, i.category, i.text, i.legal_basis, "是" if i.is_major_criterion else "否"]) for i in items
    )


def parse_items(text: str) -> list[dict]:
    """The item lines typed on the page; a line with a wrong number of parts is refused naming it."""
    items = []
    for number, line in enumerate(text.replace("｜", "|").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 5:
            raise InvalidInput(
                f"检查项第 {number} 行应有 5 段（编码 | 类别 | 检查内容 | 依据 | 是否重大隐患判定），实际 {len(parts)} 段",
                "item line has the wrong number of parts", field="items",
            )
        code, category, item_text, basis, major = parts
        items.append({"code": code, "category": category, "text": item_text, "legal_basis": basis,
                      "is_major_criterion": major.lower() in _YES})
    return items


@get("/console/checklists", opt={"roles": READERS}, include_in_schema=False)
async def checklists(request: Request, settings: AppSettings) -> Response:
    actor = actor_of(request)
    filters = [Filter("sector", "行业", "select", _SECTORS), Filter("versions", "版本", "select", [("all", "含历史版本")])]
    values = read_filters(filters, request.query_params)
    page = read_page(request.query_params)
    found = await checklists_service.list_templates(
        actor, sector=Sector(values["sector"]) if values["sector"] else None, all_versions=values["versions"] == "all"
    )
    rows = [
        [
            Cell(t.code), Cell(t.title, f"/console/checklists/{t.id}"), Cell(LABELS[t.sector]), Cell(f"第 {t.version} 版"),
            Cell("现行" if t.is_current else "历史", tone="ok" if t.is_current else ""), Cell(str(t.item_count), tone="num"),
            Cell(local_time(t.created_at, settings)),
        ]
        for t in slice_of(found, page)
    ]
    table = Table(
        path="/console/checklists", columns=["编码", "名称", "行业", "版本", "状态", "检查项", "发布时间"], rows=rows,
        filters=filters, values=values, page=page, total=len(found), target="checklists-table",
    )
    return render(request, "checklists/list.html", table=table, sectors=_SECTORS, may_manage=actor.role in WRITERS)


@get("/console/checklists/{template_id:uuid}", opt={"roles": READERS}, include_in_schema=False)
async def checklist(request: Request, template_id: FromPath[uuid.UUID]) -> Response:
    actor = actor_of(request)
    template = await checklists_service.get(actor, template_id)
    versions = await checklists_service.list_templates(actor, code=template.code, all_versions=True)
    return render(
        request, "checklists/template.html", template=template, versions=versions, items_text=items_text(template.items),
        may_manage=actor.role in WRITERS and template.is_current,
    )


@post("/console/checklists", opt={"roles": WRITERS}, include_in_schema=False)
async def create(request: Request) -> Response:
    form = await form_of(request)
    data = await read_form(request, wire.ChecklistTemplateCreate, items=parse_items(str(form.get("items", ""))))
    async with database.transaction():
        created = await checklists_service.create(actor_of(request), data)
    return redirect(request, f"/console/checklists/{created.id}")


@post("/console/checklists/by-code/{code:str}/versions", opt={"roles": WRITERS}, include_in_schema=False)
async def revise(request: Request, code: TemplateCode) -> Response:
    form = await form_of(request)
    data = await read_form(request, wire.ChecklistTemplateRevise, items=parse_items(str(form.get("items", ""))))
    async with database.transaction():
        revised = await checklists_service.revise(actor_of(request), code, data)
    return redirect(request, f"/console/checklists/{revised.id}")


ROUTES = [checklists, checklist, create, revise]
