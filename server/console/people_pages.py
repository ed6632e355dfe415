"""人员与科室: departments, accounts (create, edit, deactivate, reset a password, 执法证 numbers), as the API does them."""

from __future__ import annotations

import uuid

from litestar import Request, Response, get, post
from litestar.params import FromPath

from schemas import accounts as wire
from schemas.vocab import LABELS, District, Role
from server import database
from server.accounts import service as accounts_service
from server.console import navigation
from server.console.paging import PER_PAGE, Cell, Filter, Table, read_filters, read_page
from server.console.web import actor_of, form_of, read_form, redirect, render
from server.errors import NotFound

READERS = navigation.PEOPLE_READERS
WRITERS = frozenset({Role.ADMIN})
_ROLES = [(str(r), LABELS[r]) for r in Role]
_DISTRICTS = [(str(d), LABELS[d]) for d in District]
_ACTIVE = [("yes", "在用"), ("no", "已停用")]


def _filters(departments: list[wire.Department]) -> list[Filter]:
    return [
        Filter("role", "角色", "select", _ROLES),
        Filter("department", "科室", "select", [(str(d.id), d.name) for d in departments]),
        Filter("active", "状态", "select", _ACTIVE),
        Filter("q", "用户名或姓名"),
    ]


@get("/console/people", opt={"roles": READERS}, include_in_schema=False)
async def people(request: Request) -> Response:
    actor = actor_of(request)
    departments = await accounts_service.list_departments()
    names = {d.id: d.name for d in departments}
    filters = _filters(departments)
    values = read_filters(filters, request.query_params)
    page = read_page(request.query_params)
    chosen = {
        "role": Role(values["role"]) if values["role"] else None,
        "department_id": uuid.UUID(values["department"]) if values["department"] else None,
        "active": {"yes": True, "no": False}.get(values["active"]), "q": values["q"] or None,
    }
    users = await accounts_service.list_users(**chosen, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    rows = [
        [
            Cell(u.username, f"/console/people/users/{u.id}"),
            Cell(u.display_name),
            Cell(LABELS[u.role]),
            Cell(names.get(u.department_id, "") if u.department_id else ""),
            Cell(u.badge_number or ""),
            Cell("、".join(LABELS[d] for d in u.districts)),
            Cell("在用" if u.active else "已停用", tone="ok" if u.active else "bad"),
        ]
        for u in users
    ]
    table = Table(
        path="/console/people", columns=["用户名", "姓名", "角色", "科室", "执法证号", "负责区县", "状态"], rows=rows,
        filters=filters, values=values, page=page, total=await accounts_service.count_users(**chosen), target="users-table",
    )
    return render(
        request, "people/people.html", table=table, departments=departments, roles=_ROLES, districts=_DISTRICTS,
        may_manage=actor.role in WRITERS,
    )


@post("/console/people/departments", opt={"roles": WRITERS}, include_in_schema=False)
async def create_department(request: Request) -> Response:
    data = await read_form(request, wire.DepartmentCreate)
    async with database.transaction():
        await accounts_service.create_department(actor_of(request), data)
    return redirect(request, "/console/people")


async def _districts(request: Request) -> list[str]:
    return [str(v) for v in (await form_of(request)).getall("districts", [])]


@post("/console/people/users", opt={"roles": WRITERS}, include_in_schema=False)
async def create_user(request: Request) -> Response:
    data = await read_form(request, wire.UserCreate, districts=await _districts(request))
    # As the API: the password is checked and hashed before the transaction opens.
    password_hash = await accounts_service.new_password_hash(data.password, data.username)
    async with database.transaction():
        created = await accounts_service.create_user(actor_of(request), data, password_hash)
    return redirect(request, f"/console/people/users/{created.id}?created=1")


async def _user(user_id: uuid.UUID) -> wire.User:
    found = [u for u in await accounts_service.list_users() if u.id == user_id]
    if not found:
        raise NotFound("账号不存在", "user not found")
    return found[0]


@get("/console/people/users/{user_id:uuid}", opt={"roles": READERS}, include_in_schema=False)
async def user_page(request: Request, user_id: FromPath[uuid.UUID]) -> Response:
    actor = actor_of(request)
    user = await _user(user_id)
    departments = await accounts_service.list_departments()
    return render(
        request, "people/user.html", user=user, departments=departments, roles=_ROLES, districts=_DISTRICTS,
        may_manage=actor.role in WRITERS, created=request.query_params.get("created") == "1",
        saved=request.query_params.get("saved", "")[:16],
    )


async def _update(request: Request, user_id: uuid.UUID, data: wire.UserUpdate, saved: str) -> Response:
    password_hash = await accounts_service.new_password_hash_for_update(user_id, data)
    async with database.transaction():
        await accounts_service.update_user(actor_of(request), user_id, data, password_hash)
    return redirect(request, f"/console/people/users/{user_id}?saved={saved}")


@post("/console/people/users/{user_id:uuid}", opt={"roles": WRITERS}, include_in_schema=False)
async def update_user(request: Request, user_id: FromPath[uuid.UUID]) -> Response:
    form = await form_of(request)
    # An emptied 执法证 number or department clears it (the API's null); other fields keep their defaults.
    cleared = {name: None for name in ("badge_number", "department_id") if form.get(name, None) == ""}
    data = await read_form(request, wire.UserUpdate, districts=await _districts(request), **cleared)
    return await _update(request, user_id, data, "profile")


@post("/console/people/users/{user_id:uuid}/active", opt={"roles": WRITERS}, include_in_schema=False)
async def set_active(request: Request, user_id: FromPath[uuid.UUID]) -> Response:
    form = await form_of(request)
    return await _update(request, user_id, wire.UserUpdate(active=form.get("active") == "yes"), "active")


@post("/console/people/users/{user_id:uuid}/password", opt={"roles": WRITERS}, include_in_schema=False)
async def reset_password(request: Request, user_id: FromPath[uuid.UUID]) -> Response:
    form = await form_of(request)
    # Always the password field (an empty one is refused by the wire type's own bound, as the API refuses it).
    data = await read_form(request, wire.UserUpdate, password=str(form.get("password", "")))
    return await _update(request, user_id, data, "password")


ROUTES = [people, create_department, create_user, user_page, update_user, set_active, reset_password]
