"""The office's 三违 register: people across enterprises, ID numbers masked; the full number only as the service allows."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody

from schemas import violations as wire
from schemas.vocab import Role, ViolationType, label
from server import database
from server.console import navigation, paging
from server.console.names import names_for
from server.console.web import actor_of, render
from server.deps import AppSettings
from server.errors import InvalidInput
from server.violations import service as violations_service

ROLES = {"roles": navigation.SUPERVISION}
_PersonKey = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class LookupForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id_number: Annotated[str, msgspec.Meta(max_length=32)]


@get("/console/violations", opt=ROLES, include_in_schema=False)
async def register(request: Request) -> Response:
    actor = actor_of(request)
    page = paging.read_page(request.query_params)
    people, total = await violations_service.register_page(
        actor, offset=(page - 1) * paging.PER_PAGE, limit=paging.PER_PAGE
    )
    names = await names_for(actor)
    rows = []
    for p in people:
        enterprises = [await names.enterprise(e) for e in p.enterprise_ids]
        rows.append([
            paging.Cell(p.person_name, href=f"/console/violations/person/{p.person_key}"),
            paging.Cell(p.id_number_masked, tone="masked"),
            paging.Cell(str(p.records), tone="num bad" if p.records > 1 else "num"),
            paging.Cell("、".join(enterprises)),
            paging.Cell("、".join(f"{label(ViolationType(k))} {n}" for k, n in sorted(p.by_type.items()))),
            paging.Cell(str(p.without_certificate) if p.without_certificate else "", tone="num"),
            paging.Cell(p.last_recorded_at.date().isoformat()),
        ])
    table = paging.Table(path="/console/violations", columns=("姓名", "身份证号", "记录数", "企业", "类型", "无证上岗", "最近"),
                         rows=rows, page=page, total=total)
    return render(request, "office/violations.html", table=table, lookup=None)


@post("/console/violations/lookup", opt=ROLES, include_in_schema=False)
async def lookup(request: Request, data: URLEncodedBody[LookupForm], settings: AppSettings) -> Response:
    actor = actor_of(request)
    try:
        query = msgspec.convert({"id_number": data.id_number.strip()}, wire.PersonLookup)
    except msgspec.ValidationError:
        raise InvalidInput("身份证号码格式有误", "invalid ID number", field="id_number") from None
    async with database.transaction():  # the look-up is audited
        found = await violations_service.person_history(actor, query, settings)
    return render(request, "office/_person_records.html", records=found, names=await names_for(actor),
                  may_reveal=False, heading="按身份证号查询结果")


@get("/console/violations/person/{person_key:str}", opt=ROLES, include_in_schema=False)
async def person(request: Request, person_key: FromPath[str]) -> Response:
    actor = actor_of(request)
    try:
        key = msgspec.convert(person_key, _PersonKey)
    except msgspec.ValidationError:
        raise InvalidInput("人员标识无效", "invalid person key", field="person_key") from None
    records = await violations_service.list_violations(actor, person_key=key)
    summary = await violations_service.offender(actor, key)
    names = await names_for(actor)
    enterprises = [await names.enterprise(e) for e in summary.enterprise_ids] if summary else []
    return render(request, "office/person.html", records=records, summary=summary, enterprises=enterprises, names=names,
                  may_reveal=actor.role == Role.SUPERVISOR)


@post("/console/violations/{violation_id:uuid}/id-number", opt=ROLES, include_in_schema=False)
async def reveal(request: Request, violation_id: FromPath[uuid.UUID], settings: AppSettings) -> Response:
    async with database.transaction():  # each look is audited
        shown = await violations_service.reveal_id_number(actor_of(request), violation_id, settings)
    return render(request, "office/_id_number.html", shown=shown)


ROUTES = [register, lookup, person, reveal]
