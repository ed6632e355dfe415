"""Enforcement actions against PostgreSQL: proposals, decisions, 法制审核, 行刑衔接, the §113 counter."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas import enforcement as ew
from schemas import sync as sync_wire
from schemas.enforcement import ActionOrigin, ActionStatus
from schemas.vocab import EnforcementKind, Role
from server import database
from server.accounts.policy import Actor
from server.audit.tables import AuditEntry
from server.enforcement import service as enforcement_service
from server.enforcement.tables import EnforcementAction
from server.errors import PermissionDenied
from server.settings import Settings
from tests.conftest import make_user
from tests.server.hazards.factories import World, five_in_place, make_phone
from tests.dates import bureau_today

TZ = ZoneInfo("Asia/Shanghai")


def proposal(inspection_id: uuid.UUID, kind: str = "fine", **overrides) -> dict:
    data = {"id": str(uuid.uuid4()), "kind": kind, "inspection_id": str(inspection_id),
            "reason": "未按规定对从业人员进行安全生产教育和培训", "legal_basis": "安全生产法第九十七条"}
    data.update(overrides)
    return data


async def propose(client: httpx.AsyncClient, world: World, inspection_id: uuid.UUID, **overrides) -> dict:
    response = await client.post("/api/v1/enforcement-actions/", json=proposal(inspection_id, **overrides),
                                 headers=await world.headers(world.inspectors[0]))
    assert response.status_code == 201, response.text
    return response.json()


async def test_fine_without_amount_is_refused_naming_the_field(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    before = await AuditEntry.count()
    response = await client.post("/api/v1/enforcement-actions/", json=proposal(inspection), headers=inspector)
    assert response.status_code == 422 and response.json()["field"] == "amount_yuan"
    assert "金额" in response.json()["message"]
    zero = await client.post("/api/v1/enforcement-actions/", json=proposal(inspection, amount_yuan=0), headers=inspector)
    assert zero.status_code == 400 and zero.json()["field"] == "amount_yuan"
    assert await EnforcementAction.count() == 0 and await AuditEntry.count() == before


async def test_inspector_cannot_decide(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    action = await propose(client, world, inspection, amount_yuan=20000)
    for user in (world.inspectors[0], world.leader_id):
        response = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True},
                                     headers=await world.headers(user))
        assert response.status_code == 403
        assert response.json()["field"] == "approve"
    row = await EnforcementAction.select().where(EnforcementAction.id == uuid.UUID(action["id"])).first()
    assert row["status"] == ActionStatus.PROPOSED and row["decided_by"] is None


async def test_small_fine_takes_effect_and_large_one_waits_for_a_second_person(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    supervisor = await world.headers(world.supervisor_id)
    small = await propose(client, world, inspection, amount_yuan=20000, max_penalty=True)
    decided = await client.post(f"/api/v1/enforcement-actions/{small['id']}/decision", json={"approve": True}, headers=supervisor)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "in_effect" and decided.json()["max_penalty"] is True

    large = await propose(client, world, inspection, amount_yuan=300000)
    decided = await client.post(f"/api/v1/enforcement-actions/{large['id']}/decision", json={"approve": True}, headers=supervisor)
    assert decided.json()["status"] == "awaiting_review" and decided.json()["needs_legal_review"] is True
    admin = await world.headers(await make_user(Role.ADMIN))
    for headers in (supervisor, await world.headers(world.second_supervisor_id), admin):
        refused = await client.post(f"/api/v1/enforcement-actions/{large['id']}/legal-review",
                                    json={"approve": True, "opinion": "同意"}, headers=headers)
        assert refused.status_code == 403, refused.text  # 法制审核 is the legal reviewer's, not a head's or the admin's
    reviewed = await client.post(f"/api/v1/enforcement-actions/{large['id']}/legal-review",
                                 json={"approve": True, "opinion": "事实清楚，证据确凿，适用法律正确，程序合法"},
                                 headers=await world.headers(world.legal_reviewer_id))
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "in_effect"
    assert reviewed.json()["reviewed_by"] == str(world.legal_reviewer_id)

    suspension = await propose(client, world, inspection, kind="suspension")
    decided = await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/decision", json={"approve": True},
                                headers=supervisor)
    assert decided.json()["status"] == "awaiting_review"
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == large["id"])]
    assert actions == ["enforcement.propose", "enforcement.decide", "enforcement.legal_review"]


async def test_criminal_transfer_clocks(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    supervisor = Actor(user_id=world.supervisor_id, role="supervisor", department_id=world.department_id)
    reported_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=6)
    data = ew.EnforcementProposal(id=uuid.uuid4(), kind=EnforcementKind.JUDICIAL_TRANSFER,
                                  reason="涉嫌重大责任事故罪，已成立两人调查组并形成报告", inspection_id=inspection)
    async with database.transaction():
        proposed = await enforcement_service.propose(supervisor, data, settings, now=reported_at)
    assert proposed.decision_due_at == reported_at + dt.timedelta(days=3)
    # Refusing a transfer needs the reasons on record.
    refusal = await client.post(f"/api/v1/enforcement-actions/{data.id}/decision", json={"approve": False},
                                headers=await world.headers(world.supervisor_id))
    assert refusal.status_code == 422 and refusal.json()["field"] == "note"
    decided_at = reported_at + dt.timedelta(days=4)  # one day past the 3-day limit
    head = Actor(user_id=world.second_supervisor_id, role="supervisor", department_id=world.department_id)
    async with database.transaction():
        decided = await enforcement_service.decide(
            head, data.id, ew.EnforcementDecision(approve=True, note="同意移送"), settings, now=decided_at
        )
    assert decided.decision_overdue is True and decided.transfer_due_at == decided_at + dt.timedelta(hours=24)
    response = await client.post(f"/api/v1/enforcement-actions/{data.id}/transfer",
                                 json={"receiving_agency": "中卫市公安局沙坡头区分局"},
                                 headers=await world.headers(world.supervisor_id))
    assert response.status_code == 200 and response.json()["status"] == "transferred"
    # Recorded now, two days after the decision: the 24-hour transfer clock was missed and the record says so.
    assert response.json()["transfer_overdue"] is True
    again = await client.post(f"/api/v1/enforcement-actions/{data.id}/transfer",
                              json={"receiving_agency": "中卫市公安局"}, headers=await world.headers(world.supervisor_id))
    assert again.status_code == 409


async def test_section_113_proposes_closure_once(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    today = dt.datetime.now(TZ).date()
    deadline = today + dt.timedelta(days=60)
    hazard = await client.post(
        "/api/v1/hazards/",
        json={"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "major",
              "checklist_item_id": str(world.major_item), "description": "液氨制冷车间未物理隔离",
              "deadline_date": deadline.isoformat(), "five_in_place": five_in_place(deadline)},
        headers=await world.headers(world.inspectors[0]),
    )
    assert hazard.status_code == 201, hazard.text
    supervisor = Actor(user_id=world.supervisor_id, role="supervisor", department_id=world.department_id)
    head = Actor(user_id=world.second_supervisor_id, role="supervisor", department_id=world.department_id)

    async def penalty(days_ago: int) -> None:
        data = ew.EnforcementProposal(id=uuid.uuid4(), kind=EnforcementKind.FINE, reason="拒不整改重大事故隐患",
                                      inspection_id=inspection, amount_yuan=50000)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        async with database.transaction():
            await enforcement_service.propose(supervisor, data, settings, now=when)
            await enforcement_service.decide(head, data.id, ew.EnforcementDecision(approve=True), settings, now=when)

    async def closures() -> list[dict]:
        return await EnforcementAction.select().where(EnforcementAction.kind == EnforcementKind.CLOSURE_REQUEST)

    await penalty(170)
    await penalty(100)
    assert await closures() == []
    await penalty(0)
    (closure,) = await closures()
    assert closure["origin"] == ActionOrigin.SECTION_113 and closure["status"] == ActionStatus.PROPOSED
    assert "第一百一十三条" in closure["reason"]
    await penalty(0)  # a fourth penalty does not propose a second closure while one is live
    assert len(await closures()) == 1
    shown = await client.get(f"/api/v1/enforcement-actions/{closure['id']}", headers=await world.headers(world.leader_id))
    assert shown.json()["section_113"]["rule"] == "3_in_180_days"


async def test_proposal_offline_through_sync(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    phone = await make_phone(client, world.inspectors[0])
    good = ew.ProposeEnforcement(seq=phone.seq(), action=ew.EnforcementProposal(
        id=uuid.uuid4(), kind=EnforcementKind.RECTIFY_ORDER, reason="限期整改安全警示标志",
        inspection_id=inspection, deadline_date=bureau_today() + dt.timedelta(days=15)))
    bad = ew.ProposeEnforcement(seq=phone.seq(), action=ew.EnforcementProposal(
        id=uuid.uuid4(), kind=EnforcementKind.FINE, reason="罚款", inspection_id=inspection))
    outcomes = await phone.push([good, bad])
    assert isinstance(outcomes[0], sync_wire.Applied)
    assert isinstance(outcomes[1], sync_wire.Rejected) and outcomes[1].field == "amount_yuan"
    assert await EnforcementAction.count() == 1
    listed = await client.get("/api/v1/enforcement-actions/", headers=await world.headers(world.supervisor_id))
    assert [a["kind"] for a in listed.json()] == ["rectify_order"]
    outsider = await world.headers(world.inspectors[3])
    assert (await client.get("/api/v1/enforcement-actions/", headers=outsider)).json() == []


async def test_refusing_a_suspension_proposes_closure(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    supervisor = await world.headers(world.supervisor_id)
    suspension = await propose(client, world, inspection, kind="suspension", reason="重大事故隐患逾期未整改")
    refused_early = await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/refusal",
                                      json={"note": "夜间仍在生产"}, headers=supervisor)
    assert refused_early.status_code == 409  # not in effect yet
    await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/decision", json={"approve": True}, headers=supervisor)
    await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/legal-review",
                      json={"approve": True, "opinion": "同意"}, headers=await world.headers(world.legal_reviewer_id))
    assert (await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/refusal", json={"note": "夜间仍在生产"},
                              headers=await world.headers(world.inspectors[0]))).status_code == 403
    response = await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/refusal",
                                 json={"note": "暗访发现夜间仍在生产"}, headers=supervisor)
    assert response.status_code == 200, response.text
    closure = response.json()
    assert closure["kind"] == "closure_request" and closure["origin"] == "section_113"
    assert closure["section_113"]["rule"] == "refused_suspension" and closure["status"] == "proposed"
    again = await client.post(f"/api/v1/enforcement-actions/{suspension['id']}/refusal",
                              json={"note": "再次发现生产"}, headers=supervisor)
    assert again.json()["id"] == closure["id"]
    assert await EnforcementAction.count().where(EnforcementAction.kind == EnforcementKind.CLOSURE_REQUEST) == 1


# --- separation of duties: proposer, decider and legal reviewer ----------------------------------


async def test_a_supervisor_cannot_decide_the_fine_they_proposed(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    supervisor = await world.headers(world.supervisor_id)
    response = await client.post("/api/v1/enforcement-actions/", json=proposal(inspection, amount_yuan=20000),
                                 headers=supervisor)
    assert response.status_code == 201, response.text
    action = response.json()
    own = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True},
                            headers=supervisor)
    assert own.status_code == 403 and own.json()["field"] == "decided_by"
    row = await EnforcementAction.select().where(EnforcementAction.id == uuid.UUID(action["id"])).first()
    assert row["status"] == ActionStatus.PROPOSED and row["decided_by"] is None
    other = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True},
                              headers=await world.headers(world.second_supervisor_id))
    assert other.status_code == 200 and other.json()["status"] == "in_effect"
    assert other.json()["decided_by"] == str(world.second_supervisor_id)

    # An order to rectify is not a penalty: the head who sees it may issue it himself.
    order = await client.post("/api/v1/enforcement-actions/", headers=supervisor, json=proposal(
        inspection, kind="rectify_order", deadline_date=(bureau_today() + dt.timedelta(days=10)).isoformat()))
    decided = await client.post(f"/api/v1/enforcement-actions/{order.json()['id']}/decision", json={"approve": True},
                                headers=supervisor)
    assert decided.status_code == 200 and decided.json()["status"] == "in_effect"


async def test_only_the_legal_reviewer_reviews_and_never_their_own_case(client: httpx.AsyncClient, world: World, settings):
    inspection = await world.inspection()
    action = await propose(client, world, inspection, kind="suspension", reason="重大事故隐患逾期未整改")
    decided = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True},
                                headers=await world.headers(world.supervisor_id))
    assert decided.json()["status"] == "awaiting_review"
    listed = await client.get("/api/v1/enforcement-actions/", params={"status": "awaiting_review"},
                              headers=await world.headers(world.legal_reviewer_id))
    assert [a["id"] for a in listed.json()] == [action["id"]]  # the reviewer sees the bureau's queue
    for user in (world.inspectors[0], world.supervisor_id, world.leader_id):
        refused = await client.post(f"/api/v1/enforcement-actions/{action['id']}/legal-review",
                                    json={"approve": True, "opinion": "同意"}, headers=await world.headers(user))
        assert refused.status_code == 403
    # The service holds the rule for any caller: an admin, and a reviewer who decided the case, are refused.
    for actor in (Actor(user_id=await make_user(Role.ADMIN), role=Role.ADMIN),
                  Actor(user_id=world.supervisor_id, role=Role.LEGAL_REVIEWER)):
        with pytest.raises(PermissionDenied):
            async with database.transaction():
                await enforcement_service.review(actor, uuid.UUID(action["id"]), ew.LegalReview(approve=True, opinion="同意"), settings)
    reviewed = await client.post(f"/api/v1/enforcement-actions/{action['id']}/legal-review",
                                 json={"approve": False, "opinion": "证据不足，建议补充调查"},
                                 headers=await world.headers(world.legal_reviewer_id))
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "rejected"
    people = {reviewed.json()[k] for k in ("proposed_by", "decided_by", "reviewed_by")}
    assert len(people) == 3
