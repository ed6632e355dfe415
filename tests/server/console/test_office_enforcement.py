"""Enforcement through the console's own POSTs (the page's CSRF token): 行刑衔接 with its clocks, a refused suspension."""

from __future__ import annotations

import re
import uuid

import httpx

from schemas.enforcement import ActionStatus
from server.enforcement.tables import EnforcementAction
from tests.conftest import PASSWORD
from tests.server.console.office_world import Office, make_office


async def console_session(client: httpx.AsyncClient, office: Office, user_id: uuid.UUID) -> dict[str, str]:
    client.cookies.clear()
    answer = await client.post("/console/login", data={"username": office.usernames[user_id], "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', (await client.get("/console")).text).group(1)
    return {"x-csrf-token": token, "hx-request": "true"}


async def proposed(client: httpx.AsyncClient, office: Office, inspection: uuid.UUID, kind: str) -> str:
    response = await client.post("/api/v1/enforcement-actions/", headers=await office.headers(office.inspectors[0]), json={
        "id": str(uuid.uuid4()), "kind": kind, "inspection_id": str(inspection), "reason": "涉嫌重大责任事故罪"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_transfer_is_decided_and_recorded_with_its_clocks_shown(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    inspection = await office.assign(office.inspectors[:2])
    action = await proposed(client, office, inspection, "judicial_transfer")
    post = await console_session(client, office, office.supervisor)
    page = await client.get(f"/console/enforcement/{action}")
    assert page.status_code == 200 and "行刑衔接时限" in page.text and "决定后24小时内" in page.text
    refused = await client.post(f"/console/enforcement/{action}/decide", data={"approve": "no"}, headers=post)
    assert refused.status_code == 422 and "不予移送须记录理由" in refused.text
    decided = await client.post(f"/console/enforcement/{action}/decide", data={"approve": "yes", "note": "同意移送"}, headers=post)
    assert decided.status_code == 200 and decided.headers["hx-redirect"] == f"/console/enforcement/{action}", decided.text
    page = await client.get(f"/console/enforcement/{action}")
    assert "登记移送" in page.text and "已超期" not in page.text
    moved = await client.post(f"/console/enforcement/{action}/transfer", data={"receiving_agency": "中卫市公安局沙坡头分局"},
                              headers=post)
    assert moved.status_code == 200, moved.text
    row = await EnforcementAction.select().where(EnforcementAction.id == uuid.UUID(action)).first()
    assert row["status"] == ActionStatus.TRANSFERRED and row["receiving_agency"] == "中卫市公安局沙坡头分局"
    assert row["decided_by"] == office.supervisor and row["transferred_at"] is not None
    again = await client.post(f"/console/enforcement/{action}/transfer", data={"receiving_agency": "x"}, headers=post)
    assert again.status_code == 409
    client.cookies.clear()


async def test_a_refused_suspension_leads_to_the_closure_request(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    inspection = await office.assign(office.inspectors[:2])
    action = await proposed(client, office, inspection, "suspension")
    post = await console_session(client, office, office.supervisor)
    assert (await client.post(f"/console/enforcement/{action}/decide", data={"approve": "yes"}, headers=post)).status_code == 200
    early = await client.post(f"/console/enforcement/{action}/refusal", data={"note": "企业继续生产"}, headers=post)
    assert early.status_code == 409  # waiting for 法制审核: not in effect yet
    reviewer = await console_session(client, office, office.legal)
    reviewed = await client.post(f"/console/enforcement/{action}/legal-review", data={"approve": "yes", "opinion": "合法"},
                                 headers=reviewer)
    assert reviewed.status_code == 200, reviewed.text
    post = await console_session(client, office, office.supervisor)
    page = await client.get(f"/console/enforcement/{action}")
    assert "登记拒不执行并提请关闭" in page.text
    refused = await client.post(f"/console/enforcement/{action}/refusal", data={"note": "检查发现企业夜间继续生产"}, headers=post)
    assert refused.status_code == 200, refused.text
    closure = refused.headers["hx-redirect"].rsplit("/", 1)[1]
    row = await EnforcementAction.select().where(EnforcementAction.id == uuid.UUID(closure)).first()
    assert row["kind"] == "closure_request" and row["origin"] == "section_113" and "夜间继续生产" in row["reason"]
    page = await client.get(f"/console/enforcement/{closure}")
    assert "第一百一十三条" in page.text and "提请关闭" in page.text
    client.cookies.clear()
