"""Checklist templates over HTTP on PostgreSQL: versions, old versions readable, validation, permissions."""

import asyncio
import uuid

from schemas.vocab import Role
from server.audit.tables import AuditEntry
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from tests.conftest import login, make_user, username_of

ITEMS = [
    {"code": "GM-1", "category": "管理类", "text": "主要负责人和安全管理人员经考核合格", "legal_basis": "《安全生产法》第二十七条", "is_major_criterion": True},
    {"code": "ZX-1", "category": "有限空间", "text": "有限空间作业执行先通风、再检测、后作业", "legal_basis": "应急管理部令第10号", "is_major_criterion": True},
    {"code": "YB-1", "category": "一般项", "text": "安全警示标志齐全、清晰"},
]


def _template(**overrides):
    body = {"code": "gm-2023", "sector": "industry_trade", "title": "工贸企业检查表", "basis": "应急管理部令第10号", "items": ITEMS}
    body.update(overrides)
    return body


async def _headers(client, role):
    return await login(client, await username_of(await make_user(role)))


async def test_revision_creates_a_new_current_version_and_keeps_the_old(client):
    admin = await _headers(client, Role.ADMIN)
    created = await client.post("/api/v1/checklists/", json=_template(), headers=admin)
    assert created.status_code == 201, created.text
    v1 = created.json()
    assert v1["version"] == 1 and v1["is_current"] and [i["code"] for i in v1["items"]] == ["GM-1", "ZX-1", "YB-1"]
    assert [i["position"] for i in v1["items"]] == [1, 2, 3] and v1["items"][0]["is_major_criterion"] is True

    revised_items = [*ITEMS[:2], {"code": "YB-2", "text": "消防通道畅通", "category": "一般项"}]
    revised = await client.post(
        "/api/v1/checklists/by-code/gm-2023/versions",
        json={"title": "工贸企业检查表（修订）", "basis": "应急管理部令第10号", "items": revised_items, "expected_version": 1},
        headers=admin,
    )
    assert revised.status_code == 201, revised.text
    v2 = revised.json()
    assert v2["version"] == 2 and v2["is_current"] and v2["id"] != v1["id"]

    inspector = await _headers(client, Role.INSPECTOR)
    old = (await client.get(f"/api/v1/checklists/{v1['id']}", headers=inspector)).json()
    assert old["version"] == 1 and not old["is_current"] and [i["code"] for i in old["items"]] == ["GM-1", "ZX-1", "YB-1"]
    current = (await client.get("/api/v1/checklists/by-code/gm-2023", headers=inspector)).json()
    assert current["id"] == v2["id"] and current["items"][2]["code"] == "YB-2"
    listed = (await client.get("/api/v1/checklists/", params={"sector": "industry_trade"}, headers=inspector)).json()
    assert [(t["version"], t["item_count"]) for t in listed] == [(2, 3)]
    history = (await client.get("/api/v1/checklists/", params={"code": "gm-2023", "all_versions": "true"}, headers=inspector)).json()
    assert [(t["version"], t["is_current"]) for t in history] == [(2, True), (1, False)]

    stale = await client.post(
        "/api/v1/checklists/by-code/gm-2023/versions",
        json={"title": "过期修订", "items": ITEMS, "expected_version": 1},
        headers=admin,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_type == "checklist_template").order_by(AuditEntry.seq)]
    assert actions == ["checklist.create", "checklist.revise"]


async def test_concurrent_revisions_never_leave_two_current_versions(client):
    admin = await _headers(client, Role.ADMIN)
    assert (await client.post("/api/v1/checklists/", json=_template(), headers=admin)).status_code == 201
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/checklists/by-code/gm-2023/versions", json={"title": f"修订{i}", "items": ITEMS}, headers=admin)
            for i in range(4)
        )
    )
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    rows = await ChecklistTemplate.select(ChecklistTemplate.version, ChecklistTemplate.is_current).where(ChecklistTemplate.code == "gm-2023")
    assert sum(1 for r in rows if r["is_current"]) == 1
    versions = sorted(r["version"] for r in rows)
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) == 1 + sum(1 for r in responses if r.status_code == 201)


async def test_invalid_templates_name_the_field_and_write_nothing(client):
    admin = await _headers(client, Role.ADMIN)
    cases = [
        (_template(sector="fishing"), 400, "sector"),
        (_template(items=[]), 400, "items"),
        (_template(items=[{**ITEMS[0], "text": ""}]), 400, "items[0].text"),
        (_template(items=[{**ITEMS[0], "text": "长" * 2001}]), 400, "items[0].text"),
        (_template(items=[{**ITEMS[0], "weight": 3}]), 400, "items[0].weight"),
        (_template(items=[ITEMS[0], ITEMS[1], {**ITEMS[2], "code": "GM-1"}]), 422, "items[2].code"),
        (_template(code="Bad Code!"), 400, "code"),
        (_template(items=[ITEMS[2]] * 501), 400, "items"),
    ]
    for body, status, field in cases:
        response = await client.post("/api/v1/checklists/", json=body, headers=admin)
        assert response.status_code == status, (field, response.text)
        assert response.json()["field"] == field, response.json()
    assert (await client.post("/api/v1/checklists/", json=_template(), headers=admin)).status_code == 201
    duplicate = await client.post("/api/v1/checklists/", json=_template(), headers=admin)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "code"
    missing = await client.post("/api/v1/checklists/by-code/nope/versions", json={"title": "x", "items": ITEMS}, headers=admin)
    assert missing.status_code == 404
    assert await ChecklistTemplate.count() == 1 and await ChecklistItem.count() == 3
    assert (await client.get(f"/api/v1/checklists/{uuid.uuid4()}", headers=admin)).status_code == 404


async def test_only_admins_publish_templates(client):
    admin = await _headers(client, Role.ADMIN)
    created = (await client.post("/api/v1/checklists/", json=_template(), headers=admin)).json()
    for role in (Role.INSPECTOR, Role.SUPERVISOR, Role.LEADER):
        headers = await _headers(client, role)
        assert (await client.post("/api/v1/checklists/", json=_template(code=f"x-{role}"), headers=headers)).status_code == 403
        revise = await client.post("/api/v1/checklists/by-code/gm-2023/versions", json={"title": "x", "items": ITEMS}, headers=headers)
        assert revise.status_code == 403 and revise.json()["code"] == "forbidden"
        assert (await client.get(f"/api/v1/checklists/{created['id']}", headers=headers)).status_code == 200
    assert await ChecklistTemplate.count() == 1
