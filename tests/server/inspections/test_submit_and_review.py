"""Submitting needs every checklist item answered, by the phone or over HTTP; a supervisor reviews what is submitted."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from schemas import sync as wire
from schemas.inspections import InspectionReview, SubmitInspection
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.audit.tables import AuditEntry
from server.errors import PermissionDenied
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections.tables import Inspection, InspectionAmendment, ItemResult
from sync_client import SyncClient
from tests.conftest import PASSWORD, context_at, login, make_department, make_user, username_of
from tests.server.sync.conftest import Phone, answers, make_phone, team  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


async def answer(phone: Phone, inspection: uuid.UUID, items: list[uuid.UUID], outcome: str = "pass") -> None:
    outcomes = await phone.push(answers(phone, inspection, items, outcome))
    assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes


async def status_of(inspection: uuid.UUID) -> str:
    return (await Inspection.select(Inspection.status).where(Inspection.id == inspection).first())["status"]


# --- submit: every item answered, whichever path ----------------------------------------------


async def test_a_phone_cannot_submit_with_items_unanswered_and_is_told_which(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    await answer(phone, inspection, team.items[:1])
    [outcome] = await phone.push([SubmitInspection(seq=phone.seq(), inspection_id=inspection, submitted_at=NOW)])
    assert isinstance(outcome, wire.Rejected) and outcome.code == "items_unanswered", outcome
    assert "4 个检查项未填写" in outcome.message
    assert all(f"检查项{n}" in outcome.message for n in (2, 3, 4, 5)) and "检查项1" not in outcome.message
    assert await status_of(inspection) == "in_progress"

    await answer(phone, inspection, team.items[1:], outcome="not_applicable")
    [outcome] = await phone.push([SubmitInspection(seq=phone.seq(), inspection_id=inspection, submitted_at=NOW)])
    assert isinstance(outcome, wire.Applied), outcome
    assert await status_of(inspection) == "submitted"


async def test_the_http_submit_holds_the_same_rule(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    await answer(phone, inspection, team.items[:3])
    url = f"/api/v1/inspections/{inspection}/submit"
    body = {"summary": "检查完毕", "signed_by_name": "企业负责人"}
    refused = await client.post(url, json=body, headers=phone.headers)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "items_unanswered" and problem["field"] == "items"
    assert [e["field"] for e in problem["errors"]] == [f"items.{i}" for i in team.items[3:]]
    assert await status_of(inspection) == "in_progress"

    await answer(phone, inspection, team.items[3:])
    accepted = await client.post(url, json=body, headers=phone.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "submitted" and accepted.json()["signed_by_name"] == "企业负责人"
    again = await client.post(url, json=body, headers=phone.headers)
    assert again.status_code == 409 and again.json()["code"] == "state_conflict"


async def test_only_the_team_submits_over_http(client, team):
    inspection = await team.assign(client, [team.inspectors[0]])
    outsider = await login(client, await username_of(team.inspectors[1]))
    leader = await login(client, await username_of(await make_user(Role.LEADER)))
    for headers in (outsider, leader):
        response = await client.post(f"/api/v1/inspections/{inspection}/submit", json={}, headers=headers)
        assert response.status_code in (403, 404), response.text
    assert await status_of(inspection) == "planned"


# --- review: a supervisor of the department approves or returns -------------------------------


async def submitted(client, team, phone: Phone) -> uuid.UUID:
    inspection = await team.assign(client)
    await answer(phone, inspection, team.items)
    [outcome] = await phone.push([SubmitInspection(seq=phone.seq(), inspection_id=inspection, signed_by_name="企业负责人",
                                                   submitted_at=NOW)])
    assert isinstance(outcome, wire.Applied), outcome
    return inspection


async def test_only_a_supervisor_of_the_department_reviews_and_leaders_never_write(client, team):
    phone = await make_phone(client, team.inspectors[0])
    inspection = await submitted(client, team, phone)
    url = f"/api/v1/inspections/{inspection}/review"
    other = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    leader = await login(client, await username_of(await make_user(Role.LEADER)))
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    for headers, status in ((phone.headers, 403), (leader, 403), (admin, 403), (other, 404)):
        response = await client.post(url, json={"decision": "approve"}, headers=headers)
        assert response.status_code == status, (headers, response.text)
    # The service holds the rule whatever calls it (the route's guard is only the first fence).
    admin_id = await make_user(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        async with database.transaction():
            await inspection_lifecycle.review(context_at(client), Actor(user_id=admin_id, role=Role.ADMIN), inspection,
                                             InspectionReview(decision="approve"))
    assert await status_of(inspection) == "submitted"

    no_reason = await client.post(url, json={"decision": "return", "reason": "  "}, headers=team.supervisor)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    bad = await client.post(url, json={"decision": "maybe"}, headers=team.supervisor)
    assert bad.status_code == 400 or bad.status_code == 422
    approved = await client.post(url, json={"decision": "approve"}, headers=team.supervisor)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "reviewed" and body["reviewed_by"] == str(team.supervisor_id) and body["reviewed_at"]
    again = await client.post(url, json={"decision": "return", "reason": "再看看"}, headers=team.supervisor)
    assert again.status_code == 409
    actions = [a["action"] for a in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == str(inspection))]
    assert "inspection.review_approve" in actions and "inspection.review_return" not in actions


async def test_a_check_cannot_be_reviewed_before_it_is_submitted(client, team):
    inspection = await team.assign(client)
    response = await client.post(f"/api/v1/inspections/{inspection}/review", json={"decision": "approve"},
                                 headers=team.supervisor)
    assert response.status_code == 409 and await status_of(inspection) == "planned"


async def test_a_returned_check_reaches_the_phone_which_corrects_and_resubmits(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3",
                          transport=httpx.ASGITransport(app=app)) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        for item in team.items:
            await sc.record_item_result(inspection, item, outcome="pass")
        await sc.submit_inspection(inspection, summary="未发现隐患", signed_by_name="王五")
        assert (await sc.sync()).complete
        assert await status_of(inspection) == "submitted"

        url = f"/api/v1/inspections/{inspection}/review"
        reason = "第3项照片与结论不符，请复核"
        returned = await client.post(url, json={"decision": "return", "reason": reason}, headers=team.supervisor)
        assert returned.status_code == 200, returned.text
        assert returned.json()["status"] == "in_progress" and returned.json().get("submitted_at") is None

        assert (await sc.sync()).complete
        [local] = [r for r in await sc.records("inspection") if r["id"] == str(inspection)]
        assert local["status"] == "in_progress" and local["review_note"] == reason
        await sc.record_item_result(inspection, team.items[2], outcome="fail", note="复核：灭火器过期")
        await sc.submit_inspection(inspection, summary="发现问题1项", signed_by_name="王五")
        report = await sc.sync()
        status = await sc.status()
        assert report.complete and status.all_synced and status.rejections == [], (report, status)

    row = await ItemResult.select().where((ItemResult.inspection == inspection) & (ItemResult.item == team.items[2])).first()
    assert (row["outcome"], row["note"]) == ("fail", "复核：灭火器过期")  # written into the check, not an amendment
    assert await InspectionAmendment.count().where(InspectionAmendment.inspection == inspection) == 0
    assert await status_of(inspection) == "submitted"
    approved = await client.post(url, json={"decision": "approve"}, headers=team.supervisor)
    assert approved.status_code == 200 and approved.json()["summary"] == "发现问题1项"
    actions = [a["action"] for a in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == str(inspection))]
    assert actions.count("inspection.submit") == 2 and "inspection.review_return" in actions


async def test_what_each_write_answers_and_publishes_is_the_row_as_stored(client, team):
    # submit, review and cancel give the row their UPDATE returned and the team loaded before it, not a second read:
    # what they answer must be what a fresh read finds.
    async def fresh(inspection: uuid.UUID) -> dict:
        response = await client.get(f"/api/v1/inspections/{inspection}", headers=team.supervisor)
        assert response.status_code == 200, response.text
        return response.json()

    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    await answer(phone, inspection, team.items)
    base = f"/api/v1/inspections/{inspection}"
    submitted = await client.post(f"{base}/submit", json={"summary": "检查完毕", "signed_by_name": "企业负责人"},
                                  headers=phone.headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json() == await fresh(inspection) and submitted.json()["version"] >= 2
    assert submitted.json()["lead_inspector_id"] == str(team.inspectors[0])
    returned = await client.post(f"{base}/review", json={"decision": "return", "reason": "请补拍照片"},
                                 headers=team.supervisor)
    assert returned.status_code == 200, returned.text
    assert returned.json() == await fresh(inspection) and returned.json()["review_note"] == "请补拍照片"
    cancelled = await client.post(f"{base}/cancel", json={"reason": "企业停产"}, headers=team.supervisor)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == await fresh(inspection) and cancelled.json()["status"] == "cancelled"

    other = await team.assign(client)
    await answer(phone, other, team.items)
    [outcome] = await phone.push([SubmitInspection(seq=phone.seq(), inspection_id=other, submitted_at=NOW)])
    assert isinstance(outcome, wire.Applied), outcome
    approved = await client.post(f"/api/v1/inspections/{other}/review", json={"decision": "approve"},
                                 headers=team.supervisor)
    assert approved.status_code == 200, approved.text
    assert approved.json() == await fresh(other) and approved.json()["version"] == outcome.version + 1
