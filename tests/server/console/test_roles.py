"""Every console page and every console POST, per role: what the role may not do is refused in the page and in the POST.

The expectations are written out by hand (not read from the routes), so a route whose roles
drift from what the bureau's rules say fails here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest

from schemas import checklists as checklist_wire
from schemas import registry as registry_wire
from schemas.vocab import Role, Sector
from server import database
from server.accounts.policy import Actor
from server.checklists import service as checklists_service
from server.registry import imports
from server.registry import service as registry_service
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, username_of
from tests.server.registry.import_files import registry_file

A, S, R, L, I = Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER, Role.INSPECTOR
OFFICE = {A, S, R, L}


@dataclass
class World:
    users: dict[Role, uuid.UUID]
    department: uuid.UUID
    enterprise: uuid.UUID
    credit_code: str
    template: uuid.UUID
    import_id: uuid.UUID
    conflict: uuid.UUID


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    department = await make_department("safety", "安全监管科")
    users = {role: await make_user(role, department_id=department) for role in (A, S, R, L, I)}
    enterprise = await make_enterprise()
    admin = Actor(user_id=users[A], role=A)
    async with database.transaction():
        template = await checklists_service.create(admin, checklist_wire.ChecklistTemplateCreate(
            code="basic", sector=Sector.INDUSTRY_TRADE, title="基础检查表",
            items=[checklist_wire.ChecklistItemInput(code="B-1", text="安全出口畅通")],
        ))
        conflict = await registry_service.declare_conflict(admin, registry_wire.ConflictOfInterestCreate(
            user_id=users[I], enterprise_id=enterprise, reason="亲属任职",
        ))
    headers = await login(client, await username_of(users[A]))
    started = await client.post("/api/v1/enterprise-imports", content=registry_file(12, salt=9).csv(), headers=headers)
    import_id = uuid.UUID(started.json()["id"])
    await imports.wait_for([import_id])
    code = (await registry_service.get(admin, enterprise)).credit_code
    return World(users, department, enterprise, code, template.id, import_id, conflict.id)


def _pages(w: World) -> dict[str, set[Role]]:
    """Each page, and who may open it."""
    return {
        "/console": OFFICE | {I},  # an inspector's console: their cases' documents and their signature
        "/console/cases": OFFICE | {I},
        "/console/registry/imports": {A, S, L},
        "/console/enterprises?district=shapotou": {A, S, L},
        f"/console/enterprises/{w.enterprise}": {A, S, L},
        f"/console/registry/imports/{w.import_id}": {A, L},  # a supervisor sees only their own imports (404)
        "/console/registry/imports/template.csv": {A, S, L},
        "/console/people": {A, S},
        f"/console/people/users/{w.users[I]}": {A, S},
        "/console/conflicts": {A, S},
        "/console/checklists": OFFICE,
        f"/console/checklists/{w.template}": OFFICE,
    }


def _posts(w: World) -> dict[str, tuple[set[Role], dict[str, str]]]:
    """Each POST, who may make it, and a form that would be accepted from them."""
    return {
        "/console/people/departments": ({A}, {"code": "new-dep", "name": "新科室"}),
        "/console/people/users": ({A}, {"username": "new-user", "display_name": "新人", "password": "Str0ng-pass-x", "role": "inspector", "badge_number": "64050999999"}),
        f"/console/people/users/{w.users[I]}": ({A}, {"display_name": "改名", "role": "inspector", "badge_number": "64050888888"}),
        f"/console/people/users/{w.users[I]}/password": ({A}, {"password": "An0ther-strong-pw"}),
        f"/console/people/users/{w.users[I]}/active": ({A}, {"active": "yes"}),
        "/console/conflicts": ({A, S}, {"user_id": str(w.users[S]), "credit_code": w.credit_code, "reason": "测试"}),
        f"/console/conflicts/{w.conflict}/revoke": ({A, S}, {}),
        "/console/checklists": ({A}, {"code": "extra", "sector": "metallurgy", "title": "新表", "items": "M-1 | 类 | 内容 | 依据 | 否"}),
        f"/console/checklists/by-code/basic/versions": ({A}, {"title": "基础检查表", "items": "B-1 | | 安全出口畅通 | | 否"}),
        f"/console/registry/imports/{w.import_id}/confirm": ({A}, {}),
    }


#: POSTs an allowed role makes that the state refuses (after the confirm, the import cannot be discarded).
_REFUSED_BY_STATE = {"discard": 409}


def _late_posts(w: World) -> dict[str, tuple[set[Role], dict[str, str]]]:
    return {
        f"/console/registry/imports/{w.import_id}/discard": ({A}, {}),
    }


_CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_WRITE_CONTROLS = re.compile(r'hx-post="(?!/console/logout)[^"]+"|data-upload=')


async def _console_login(client: httpx.AsyncClient, user_id: uuid.UUID) -> str:
    client.cookies.clear()
    answer = await client.post("/console/login", data={"username": await username_of(user_id), "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    home = await client.get("/console")
    match = _CSRF.search(home.text)
    return match.group(1) if match else ""


@pytest.mark.parametrize("role", [A, S, R, L, I], ids=str)
async def test_every_page_and_post_refuses_what_the_role_may_not_do(client: httpx.AsyncClient, world: World, role: Role) -> None:
    token = await _console_login(client, world.users[role])
    for path, allowed in _pages(world).items():
        answer = await client.get(path)
        if role in allowed:
            assert answer.status_code == 200, (role, path, answer.status_code, answer.text[:300])
            if role in (L, R):
                # Leaders and legal reviewers see no write control on these pages (only their own logout).
                assert not _WRITE_CONTROLS.search(answer.text), (role, path, _WRITE_CONTROLS.search(answer.text))
        else:
            assert answer.status_code in (403, 404), (role, path, answer.status_code)
            assert "无权" in answer.text or "不存在" in answer.text
    for path, (allowed, form) in (_posts(world) | _late_posts(world)).items():
        answer = await client.post(path, data=form, headers={"x-csrf-token": token, "hx-request": "true"})
        if role in allowed:
            expected = _REFUSED_BY_STATE.get(path.rsplit("/", 1)[-1], 200)
            assert answer.status_code == expected, (role, path, answer.status_code, answer.text[:300])
            if expected == 200:
                assert answer.headers.get("hx-redirect", "").startswith("/console"), (role, path)
        else:
            assert answer.status_code in (403, 404), (role, path, answer.status_code, answer.text[:200])
    upload = await client.post(
        "/console/registry/imports", content=registry_file(12, salt=11).csv(),
        headers={"x-csrf-token": token, "hx-request": "true", "x-file-name": "x.csv"},
    )
    assert (upload.status_code == 200 and upload.headers.get("hx-redirect")) if role in (A, S) else upload.status_code == 403
    client.cookies.clear()


async def test_supervisor_pages_show_no_admin_controls(client: httpx.AsyncClient, world: World) -> None:
    await _console_login(client, world.users[S])
    people = await client.get("/console/people")
    assert 'id="user-form"' not in people.text and 'id="department-form"' not in people.text
    user = await client.get(f"/console/people/users/{world.users[I]}")
    assert 'id="password-form"' not in user.text and 'id="toggle-active"' not in user.text
    checklist = await client.get(f"/console/checklists/{world.template}")
    assert 'id="revise-form"' not in checklist.text
    imports_page = await client.get("/console/registry/imports")
    assert 'id="import-form"' in imports_page.text  # supervisors do import
    client.cookies.clear()
