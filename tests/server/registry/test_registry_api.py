"""The enterprise registry and 回避 over HTTP on PostgreSQL: validation, permissions, search, paging, audit."""

import datetime as dt
import uuid

from schemas.identifiers import credit_code_check_char
from schemas.vocab import District, InspectionKind, InspectionStatus, RiskGrade, Role, Sector
from server.audit.tables import AuditEntry
from server.inspections.tables import Inspection, InspectionInspector
from server.registry.tables import ConflictOfInterest, Enterprise
from server.spotchecks.tables import Campaign, Draw, SpotCheckTask
from server.sync.tables import Change
from tests.conftest import login, make_department, make_enterprise, make_user, random_credit_code, username_of


def _body(**overrides):
    body = {
        "credit_code": random_credit_code(),
        "name": "中卫市金沙化工有限公司",
        "sector": "hazardous_chemicals",
        "district": "shapotou",
        "address": "中卫市沙坡头区美利工业园区",
        "risk_grade": "C",
        "standardization_level": "level_3",
        "major_hazard_source": True,
    }
    body.update(overrides)
    return body


async def _headers(client, role):
    return await login(client, await username_of(await make_user(role)))


async def test_admin_and_supervisor_register_and_update_with_audit(client):
    for role in (Role.ADMIN, Role.SUPERVISOR):
        headers = await _headers(client, role)
        created = await client.post("/api/v1/enterprises/", json=_body(name=f"{role}登记的企业有限公司"), headers=headers)
        assert created.status_code == 201, created.text
        enterprise = created.json()
        assert enterprise["version"] == 1 and enterprise["major_hazard_source"] is True
        updated = await client.patch(
            f"/api/v1/enterprises/{enterprise['id']}",
            json={"risk_grade": "D", "operating_status": "suspended", "expected_version": 1},
            headers=headers,
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["risk_grade"] == "D" and updated.json()["version"] == 2
    published = await Change.select(Change.scope).where(Change.entity_type == "enterprise")
    assert len(published) == 2 and all(p["scope"].startswith("enterprise:") for p in published)
    entries = await AuditEntry.select().where(AuditEntry.entity_type == "enterprise").order_by(AuditEntry.seq).output(load_json=True)
    assert [e["action"] for e in entries] == ["enterprise.create", "enterprise.update"] * 2
    assert entries[1]["changes"]["risk_grade"] == ["C", "D"]


async def test_lowercase_credit_code_is_normalized(client):
    headers = await _headers(client, Role.ADMIN)
    code = random_credit_code()
    response = await client.post("/api/v1/enterprises/", json=_body(credit_code=code.lower()), headers=headers)
    assert response.status_code == 201 and response.json()["credit_code"] == code


async def test_stale_update_is_a_version_conflict(client):
    headers = await _headers(client, Role.ADMIN)
    enterprise_id = await make_enterprise()
    response = await client.patch(f"/api/v1/enterprises/{enterprise_id}", json={"name": "新名称有限公司", "expected_version": 7}, headers=headers)
    assert response.status_code == 409 and response.json()["code"] == "version_conflict"
    assert (await Enterprise.select(Enterprise.name).where(Enterprise.id == enterprise_id).first())["name"] != "新名称有限公司"


async def test_invalid_input_names_the_field_and_writes_nothing(client, settings):
    headers = await _headers(client, Role.ADMIN)
    good = random_credit_code()
    wrong_check = good[:17] + next(c for c in "0123456789ABC" if c != good[17])
    cases = [
        (_body(credit_code=wrong_check), 422, "credit_code", "invalid_credit_code"),
        (_body(credit_code="12345"), 422, "credit_code", "invalid_credit_code"),
        (_body(credit_code="9164050OIZSV00000X"), 422, "credit_code", "invalid_credit_code"),
        (_body(sector="fishing"), 400, "sector", "invalid_input"),
        (_body(district="银川市"), 400, "district", "invalid_input"),
        (_body(name="企" * 129), 400, "name", "invalid_input"),
        (_body(latitude=123.0), 400, "latitude", "invalid_input"),
        (_body(id=str(uuid.uuid4())), 400, "id", "invalid_input"),
        ({k: v for k, v in _body().items() if k != "name"}, 400, "name", "invalid_input"),
    ]
    for body, status, field, code in cases:
        response = await client.post("/api/v1/enterprises/", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert problem["field"] == field and problem["code"] == code, problem
        assert problem["message"] and problem["message_en"]
    malformed = await client.post("/api/v1/enterprises/", content=b'{"name": "x",', headers={**headers, "content-type": "application/json"})
    assert malformed.status_code == 400
    huge = await client.post(
        "/api/v1/enterprises/",
        content=b'{"notes": "' + b"a" * (settings.server.max_body_bytes + 1) + b'"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    enterprise_id = await make_enterprise()
    bad_update = await client.patch(f"/api/v1/enterprises/{enterprise_id}", json={"credit_code": wrong_check}, headers=headers)
    assert bad_update.status_code == 422 and bad_update.json()["field"] == "credit_code"
    assert await Enterprise.count() == 1
    assert await AuditEntry.count().where(AuditEntry.entity_type == "enterprise") == 0


async def test_duplicate_credit_code_is_409(client):
    headers = await _headers(client, Role.ADMIN)
    code = random_credit_code()
    assert (await client.post("/api/v1/enterprises/", json=_body(credit_code=code), headers=headers)).status_code == 201
    again = await client.post("/api/v1/enterprises/", json=_body(credit_code=code, name="另一家有限公司"), headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "duplicate" and again.json()["field"] == "credit_code"
    other = await make_enterprise()
    clash = await client.patch(f"/api/v1/enterprises/{other}", json={"credit_code": code}, headers=headers)
    assert clash.status_code == 409
    assert await Enterprise.count() == 2


async def test_a_legal_reviewer_reads_the_party_of_a_case_but_never_writes(client):
    enterprise_id = await make_enterprise()
    headers = await _headers(client, Role.LEGAL_REVIEWER)
    read = await client.get(f"/api/v1/enterprises/{enterprise_id}", headers=headers)
    assert read.status_code == 200 and read.json()["id"] == str(enterprise_id)
    assert (await client.post("/api/v1/enterprises/", json=_body(), headers=headers)).status_code == 403


async def test_inspector_and_leader_cannot_write(client):
    enterprise_id = await make_enterprise()
    for role in (Role.INSPECTOR, Role.LEADER, Role.LEGAL_REVIEWER):
        headers = await _headers(client, role)
        assert (await client.post("/api/v1/enterprises/", json=_body(), headers=headers)).status_code == 403
        response = await client.patch(f"/api/v1/enterprises/{enterprise_id}", json={"name": "改名有限公司"}, headers=headers)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert (await client.post(f"/api/v1/conflicts-of-interest/{uuid.uuid4()}/revoke", headers=headers)).status_code == 403
    assert await Enterprise.count() == 1
    assert await AuditEntry.count().where(AuditEntry.entity_type.is_in(["enterprise", "conflict_of_interest"])) == 0


async def test_search_filters_and_keyset_paging(client):
    headers = await _headers(client, Role.LEADER)
    for i in range(23):
        await make_enterprise(
            name=f"沙坡头冶金{i:02d}有限公司",
            sector=Sector.METALLURGY,
            risk_grade=RiskGrade.C if i % 2 else RiskGrade.A,
            major_hazard_source=i % 3 == 0,
        )
    target_code = random_credit_code()
    await make_enterprise(name="海原县宏达矿业有限公司", sector=Sector.NON_COAL_MINING, district=District.HAIYUAN, credit_code=target_code)

    seen, cursor = [], None
    while True:
        params = {"sector": "metallurgy", "limit": 5} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/enterprises/", params=params, headers=headers)).json()
        seen += [e["name"] for e in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 23

    by_name = (await client.get("/api/v1/enterprises/", params={"q": "宏达"}, headers=headers)).json()["items"]
    assert [e["credit_code"] for e in by_name] == [target_code]
    # 14 characters: the 23 others share "91640500" and so, one time in 40, the next two characters too
    by_code = (await client.get("/api/v1/enterprises/", params={"q": target_code[:14].lower()}, headers=headers)).json()["items"]
    assert [e["name"] for e in by_code] == ["海原县宏达矿业有限公司"]
    filtered = (
        await client.get(
            "/api/v1/enterprises/", params={"risk_grade": "C", "major_hazard_source": "true", "district": "shapotou"}, headers=headers
        )
    ).json()["items"]
    assert filtered and all(e["risk_grade"] == "C" and e["major_hazard_source"] for e in filtered)
    assert len(filtered) == len([i for i in range(23) if i % 2 and i % 3 == 0])

    capped = (await client.get("/api/v1/enterprises/", params={"limit": 5000}, headers=headers)).json()
    assert len(capped["items"]) == 24
    bad_cursor = await client.get("/api/v1/enterprises/", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "cursor"
    bad_filter = await client.get("/api/v1/enterprises/", params={"sector": "fishing"}, headers=headers)
    assert bad_filter.status_code == 400


async def _assign(user_id, enterprise_id, *, kind=InspectionKind.ROUTINE, task_id=None):
    now = dt.datetime.now(dt.UTC)
    inspection_id = uuid.uuid4()
    await Inspection.insert(
        Inspection(id=inspection_id, kind=kind, status=InspectionStatus.PLANNED, enterprise=enterprise_id,
                   spot_check_task_id=task_id, created_at=now, updated_at=now)
    )
    await InspectionInspector.insert(InspectionInspector(id=uuid.uuid4(), inspection=inspection_id, user=user_id, assigned_at=now))


async def _covert_task(enterprise_id, release_at):
    now = dt.datetime.now(dt.UTC)
    campaign = Campaign(id=uuid.uuid4(), name="节前暗访", covert=True, period_start=now.date(), period_end=now.date(), status="drawn", created_at=now)
    await Campaign.insert(campaign)
    draw = Draw(id=uuid.uuid4(), campaign=campaign.id, attempt=1, algorithm_version="test", seed_hex="00", seed_hash="00",
                pool_snapshot=[], pool_hash="00", result=[], result_hash="00", drawn_at=now)
    await Draw.insert(draw)
    task = SpotCheckTask(id=uuid.uuid4(), campaign=campaign.id, draw=draw.id, enterprise=enterprise_id, district=District.SHAPOTOU,
                         planned_date=now.date(), release_at=release_at, status="drawn")
    await SpotCheckTask.insert(task)
    return task.id


async def test_inspector_sees_only_enterprises_of_their_assignments(client):
    inspector = await make_user(Role.INSPECTOR)
    headers = await login(client, await username_of(inspector))
    mine, other = await make_enterprise(name="甲企业有限公司"), await make_enterprise(name="乙企业有限公司")
    await _assign(inspector, mine)
    listed = (await client.get("/api/v1/enterprises/", headers=headers)).json()["items"]
    assert [e["id"] for e in listed] == [str(mine)]
    assert (await client.get(f"/api/v1/enterprises/{mine}", headers=headers)).status_code == 200
    hidden = await client.get(f"/api/v1/enterprises/{other}", headers=headers)
    assert hidden.status_code == 404
    # A covert check's target stays hidden until release.
    covert = await make_enterprise(name="丙企业有限公司")
    task_id = await _covert_task(covert, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    await _assign(inspector, covert, kind=InspectionKind.COVERT, task_id=task_id)
    assert (await client.get(f"/api/v1/enterprises/{covert}", headers=headers)).status_code == 404
    assert str(covert) not in {e["id"] for e in (await client.get("/api/v1/enterprises/", headers=headers)).json()["items"]}
    await SpotCheckTask.update({SpotCheckTask.released_at: dt.datetime.now(dt.UTC)}).where(SpotCheckTask.id == task_id)
    assert (await client.get(f"/api/v1/enterprises/{covert}", headers=headers)).status_code == 200


async def test_conflicts_of_interest(client):
    department = await make_department()
    other_department = await make_department()
    supervisor = await make_user(Role.SUPERVISOR, department_id=department)
    inspector = await make_user(Role.INSPECTOR, department_id=department)
    outsider = await make_user(Role.INSPECTOR, department_id=other_department)
    enterprise_id = await make_enterprise()
    inspector_headers = await login(client, await username_of(inspector))
    supervisor_headers = await login(client, await username_of(supervisor))

    own = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(inspector), "enterprise_id": str(enterprise_id), "reason": "配偶在该企业任安全员"},
        headers=inspector_headers,
    )
    assert own.status_code == 201, own.text
    for_someone_else = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(outsider), "enterprise_id": str(enterprise_id), "reason": "曾在该企业任职"},
        headers=inspector_headers,
    )
    assert for_someone_else.status_code == 403
    outside_department = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(outsider), "enterprise_id": str(enterprise_id), "reason": "曾在该企业任职"},
        headers=supervisor_headers,
    )
    assert outside_department.status_code == 403
    again = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(inspector), "enterprise_id": str(enterprise_id), "reason": "重复申报"},
        headers=supervisor_headers,
    )
    assert again.status_code == 409
    unknown = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(inspector), "enterprise_id": str(uuid.uuid4()), "reason": "不存在的企业"},
        headers=supervisor_headers,
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "enterprise_id"

    conflict_id = own.json()["id"]
    assert (await client.post(f"/api/v1/conflicts-of-interest/{conflict_id}/revoke", headers=inspector_headers)).status_code == 403
    listed = (await client.get("/api/v1/conflicts-of-interest/", headers=inspector_headers)).json()
    assert [c["id"] for c in listed] == [conflict_id]
    snoop = await client.get("/api/v1/conflicts-of-interest/", params={"user_id": str(outsider)}, headers=inspector_headers)
    assert snoop.status_code == 403
    revoked = await client.post(f"/api/v1/conflicts-of-interest/{conflict_id}/revoke", headers=supervisor_headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/api/v1/conflicts-of-interest/", headers=inspector_headers)).json() == []
    redeclared = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(inspector), "enterprise_id": str(enterprise_id), "reason": "再次申报"},
        headers=supervisor_headers,
    )
    assert redeclared.status_code == 201 and redeclared.json()["id"] == conflict_id
    assert await ConflictOfInterest.count() == 1
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_type == "conflict_of_interest").order_by(AuditEntry.seq)]
    assert actions == ["conflict.declare", "conflict.revoke", "conflict.declare"]
