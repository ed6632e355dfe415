"""The hazard closed loop against PostgreSQL: open, rectify, recheck, close, escalate, look back."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from schemas import hazards as hz
from schemas import sync as sync_wire
from schemas.hazards import RecheckReason, RecheckStatus
from schemas.vocab import HazardLevel, HazardStatus, Role
from server import database
from server.accounts.policy import SYSTEM
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.enforcement.tables import EnforcementAction
from server.hazards import escalation as hazard_escalation
from server.hazards import rechecks as hazard_rechecks
from server.hazards.tables import Hazard, HazardEscalation, Recheck
from server.settings import Settings
from server.sync import scopes
from tests.conftest import make_department, make_user
from tests.server.hazards.factories import World, five_in_place, make_phone

TZ = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(TZ).date()


def body(inspection_id: uuid.UUID, **overrides) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "inspection_id": str(inspection_id),
        "level": "general",
        "description": "配电箱未设置安全警示标志",
        "deadline_date": (today() + dt.timedelta(days=10)).isoformat(),
    }
    data.update(overrides)
    return data


async def audit_actions(entity_id: uuid.UUID) -> list[str]:
    rows = await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.seq)
    return [r["action"] for r in rows]


async def hazard_row(hazard_id: uuid.UUID) -> dict:
    return await Hazard.select().where(Hazard.id == uuid.UUID(str(hazard_id))).first()


# --- opening ---------------------------------------------------------------------


async def test_major_hazard_without_five_in_place_is_refused_and_nothing_written(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    headers = await world.headers(world.inspectors[0])
    before = await AuditEntry.count()
    response = await client.post(
        "/api/v1/hazards/",
        json=body(inspection, level="major", checklist_item_id=str(world.major_item)),
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "five_in_place"
    assert "五落实" in response.json()["message"]
    assert await Hazard.count() == 0
    assert await AuditEntry.count() == before

    incomplete = five_in_place(today() + dt.timedelta(days=5))
    del incomplete["contingency_plan"]
    response = await client.post(
        "/api/v1/hazards/",
        json=body(inspection, level="major", checklist_item_id=str(world.major_item), five_in_place=incomplete),
        headers=headers,
    )
    assert response.status_code == 400 and "contingency_plan" in response.json()["field"]
    assert await Hazard.count() == 0


async def test_major_grade_must_come_from_a_major_criterion_item(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    headers = await world.headers(world.inspectors[0])
    deadline = today() + dt.timedelta(days=10)
    response = await client.post(
        "/api/v1/hazards/",
        json=body(inspection, level="major", checklist_item_id=str(world.general_item), five_in_place=five_in_place(deadline)),
        headers=headers,
    )
    assert response.status_code == 422 and response.json()["field"] == "checklist_item_id"
    response = await client.post(
        "/api/v1/hazards/", json=body(inspection, checklist_item_id=str(world.major_item)), headers=headers
    )
    assert response.status_code == 422 and response.json()["field"] == "level"
    assert await Hazard.count() == 0


async def test_a_taken_hazard_id_is_refused_and_the_first_hazard_is_left_as_it_was(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    headers = await world.headers(world.inspectors[0])
    first = body(inspection)
    assert (await client.post("/api/v1/hazards/", json=first, headers=headers)).status_code == 201
    before = await AuditEntry.count()
    again = await client.post(
        "/api/v1/hazards/", json={**first, "description": "另一处隐患", "level": "general"}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate" and again.json()["field"] == "id", again.text
    assert (await hazard_row(first["id"]))["description"] == "配电箱未设置安全警示标志"
    assert await Hazard.count() == 1 and await AuditEntry.count() == before


async def test_major_hazard_opens_listed_for_supervision(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    deadline = today() + dt.timedelta(days=20)
    data = body(inspection, level="major", checklist_item_id=str(world.major_item), five_in_place=five_in_place(deadline),
                deadline_date=deadline.isoformat())
    response = await client.post("/api/v1/hazards/", json=data, headers=await world.headers(world.inspectors[0]))
    assert response.status_code == 201, response.text
    hazard = response.json()
    assert hazard["status"] == "found" and hazard["level"] == "major" and hazard["listed_supervision"] is True
    assert hazard["five_in_place"]["funds_yuan"] == 180000
    assert await audit_actions(uuid.UUID(hazard["id"])) == ["hazard.open", "hazard.list_supervision"]


async def test_who_may_record_and_see(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection(team=world.inspectors[:2])
    outsider = await world.headers(world.inspectors[3])
    response = await client.post("/api/v1/hazards/", json=body(inspection), headers=outsider)
    assert response.status_code == 404  # an inspection off one's team does not exist for one (inspections.access)
    leader = await world.headers(world.leader_id)
    response = await client.post("/api/v1/hazards/", json=body(inspection), headers=leader)
    assert response.status_code == 403
    response = await client.post("/api/v1/hazards/", json=body(inspection), headers=await world.headers(world.inspectors[1]))
    assert response.status_code == 201
    hazard_id = response.json()["id"]
    assert (await client.get(f"/api/v1/hazards/{hazard_id}", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/hazards/{hazard_id}", headers=leader)).status_code == 200
    listed = await client.get("/api/v1/hazards/", headers=await world.headers(world.supervisor_id))
    assert [h["id"] for h in listed.json()] == [hazard_id]
    assert (await client.get("/api/v1/hazards/", headers=outsider)).json() == []


# --- the loop over sync ------------------------------------------------------------


async def test_offline_loop_closes_only_through_a_recheck_by_other_inspectors(client: httpx.AsyncClient, world: World):
    finders = world.inspectors[:2]
    inspection = await world.inspection(team=finders)
    phone = await make_phone(client, finders[0])
    hazard_id = uuid.uuid4()
    create = hz.HazardCreate(
        id=hazard_id, inspection_id=inspection, level=HazardLevel.GENERAL, description="消防通道堆放杂物",
        deadline_date=today() + dt.timedelta(days=7),
    )
    report = hz.RectificationReport(note="杂物已清理")
    outcomes = await phone.push([
        hz.AddHazard(seq=phone.seq(), hazard=create),
        hz.ReportRectification(seq=phone.seq(), hazard_id=hazard_id, report=report),
    ])
    assert [type(o) for o in outcomes] == [sync_wire.Applied, sync_wire.Applied], outcomes
    assert (await hazard_row(hazard_id))["status"] == HazardStatus.RECTIFICATION_REPORTED

    # A recheck was created and assigned away from the finders (the pool has two others).
    rechecks = await Recheck.select().where(Recheck.hazard == hazard_id)
    assert len(rechecks) == 1 and rechecks[0]["reason"] == RecheckReason.RECTIFICATION_REPORTED
    recheck_id = rechecks[0]["id"]
    listed = await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))
    assignees = {uuid.UUID(a) for a in listed.json()[0]["assignee_ids"]}
    assert listed.json()[0]["due_date"] == (today() + dt.timedelta(days=10)).isoformat()
    assert not listed.json()[0].get("overdue", False)
    await Recheck.update({Recheck.due_date: today() - dt.timedelta(days=1)}).where(Recheck.id == recheck_id)
    late = await client.get("/api/v1/rechecks/?status=pending", headers=await world.headers(world.supervisor_id))
    assert late.json()[0]["overdue"] is True
    assert assignees == set(world.inspectors[2:])

    # The supervisor cannot close it yet: no recheck has passed.
    close = await client.post(f"/api/v1/hazards/{hazard_id}/close", headers=await world.headers(world.supervisor_id))
    assert close.status_code == 409

    # The task reaches the rechecker's phone through sync, with the hazard.
    rechecker = await make_phone(client, world.inspectors[2])
    replica, cursors = await rechecker.pull_all()
    assert ("recheck", str(recheck_id)) in replica and ("hazard", str(hazard_id)) in replica
    assert replica[("recheck", str(recheck_id))]["status"] == "pending"
    assert replica[("hazard", str(hazard_id))]["status"] == "rectification_reported"
    # A finder's phone does not receive the task.
    finder_replica, _ = await phone.pull_all()
    assert ("recheck", str(recheck_id)) not in finder_replica

    # A finder may not report the recheck; an assignee may.
    refused = await phone.push([hz.ReportRecheck(seq=phone.seq(), recheck_id=recheck_id, result=hz.RecheckResult(passed=True))])
    assert isinstance(refused[0], sync_wire.Rejected) and refused[0].code == "forbidden"
    done = await rechecker.push([
        hz.ReportRecheck(seq=rechecker.seq(), recheck_id=recheck_id, result=hz.RecheckResult(passed=True, note="复查合格"))
    ])
    assert isinstance(done[0], sync_wire.Applied), done
    row = await hazard_row(hazard_id)
    assert row["status"] == HazardStatus.CLOSED and row["closed_at"] is not None
    assert await audit_actions(hazard_id) == [
        "hazard.open", "hazard.report_rectification", "hazard.recheck", "hazard.close",
    ]
    assert (await audit_service.verify()).ok  # every step landed in the hash-chained audit log

    # Done: the task leaves the rechecker's phone with its hazard.
    page = await rechecker.pull(cursors)
    assert scopes.recheck(recheck_id) in page.dropped_scopes and scopes.hazard(hazard_id) in page.dropped_scopes


async def test_when_only_finders_cover_the_enterprise_the_recheck_goes_elsewhere_and_a_finder_is_refused(
    client: httpx.AsyncClient, world: World, settings: Settings
):
    finders = world.inspectors  # every inspector of the department and district was on the check
    inspection = await world.inspection(team=finders)
    phone = await make_phone(client, finders[0])
    hazard_id = uuid.uuid4()
    create = hz.HazardCreate(id=hazard_id, inspection_id=inspection, level=HazardLevel.GENERAL,
                             description="配电箱未上锁", deadline_date=today() + dt.timedelta(days=7))
    outcomes = await phone.push([hz.AddHazard(seq=phone.seq(), hazard=create),
                                 hz.ReportRectification(seq=phone.seq(), hazard_id=hazard_id,
                                                        report=hz.RectificationReport(note="已上锁"))])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes
    [recheck] = await Recheck.select().where(Recheck.hazard == hazard_id)
    listed = (await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))).json()
    assert listed[0]["assignee_ids"] == []  # nobody else in the bureau: no finder stands in

    # Over sync and over HTTP a finder is told why they may not recheck it, and the hazard stays open.
    result = hz.RecheckResult(passed=True, note="复查合格")
    [refused] = await phone.push([hz.ReportRecheck(seq=phone.seq(), recheck_id=recheck["id"], result=result)])
    assert isinstance(refused, sync_wire.Rejected) and refused.code == "forbidden" and "发现" in refused.message
    posted = await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True},
                               headers=await world.headers(finders[1]))
    assert posted.status_code == 403 and "发现" in posted.json()["message"], posted.text
    assert (await hazard_row(hazard_id))["status"] == HazardStatus.RECTIFICATION_REPORTED

    # An officer of another department and district is in the bureau's pool: the next recheck goes to them.
    outsider = await make_user(Role.INSPECTOR, department_id=await make_department())
    async with database.transaction():
        chosen = await hazard_rechecks.create_recheck(SYSTEM, await hazard_row(hazard_id), RecheckReason.LOOKBACK, settings)
    listed = (await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))).json()
    assert {r["id"]: r["assignee_ids"] for r in listed}[str(chosen)] == [str(outsider)]


async def test_major_hazard_waits_for_supervisor_after_passed_recheck(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    deadline = today() + dt.timedelta(days=30)
    data = body(inspection, level="major", checklist_item_id=str(world.major_item), five_in_place=five_in_place(deadline),
                deadline_date=deadline.isoformat())
    inspector = await world.headers(world.inspectors[0])
    hazard_id = (await client.post("/api/v1/hazards/", json=data, headers=inspector)).json()["id"]
    assert (await client.post(f"/api/v1/hazards/{hazard_id}/rectification-report", json={"note": "已加装隔离墙"},
                              headers=inspector)).status_code == 200
    recheck = (await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))).json()[0]
    checker = uuid.UUID(recheck["assignee_ids"][0])
    result = await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True},
                               headers=await world.headers(checker))
    assert result.status_code == 200 and result.json()["status"] == "passed"
    row = await hazard_row(hazard_id)
    assert row["status"] == HazardStatus.RECHECKED and row["listed_supervision"] is True
    # 摘牌销号 by the supervisor; an inspector may not.
    assert (await client.post(f"/api/v1/hazards/{hazard_id}/close", headers=inspector)).status_code == 403
    closed = await client.post(f"/api/v1/hazards/{hazard_id}/close", headers=await world.headers(world.supervisor_id))
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["listed_supervision"] is False
    # answered from the row the closing UPDATE returned: what a fresh read finds
    assert closed.json() == (await client.get(f"/api/v1/hazards/{hazard_id}", headers=inspector)).json()


async def test_failed_recheck_sets_new_deadline_and_escalates_one_rung(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    hazard_id = (await client.post("/api/v1/hazards/", json=body(inspection), headers=inspector)).json()["id"]
    await client.post(f"/api/v1/hazards/{hazard_id}/rectification-report", json={}, headers=inspector)
    recheck = (await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))).json()[0]
    checker = await world.headers(uuid.UUID(recheck["assignee_ids"][0]))
    new_deadline = today() + dt.timedelta(days=15)
    result = await client.post(
        f"/api/v1/rechecks/{recheck['id']}/result",
        json={"passed": False, "note": "警示标志仍未设置", "new_deadline_date": new_deadline.isoformat()},
        headers=checker,
    )
    assert result.status_code == 200, result.text
    hazard = (await client.get(f"/api/v1/hazards/{hazard_id}", headers=inspector)).json()
    assert hazard["status"] == "rectifying" and hazard["deadline_date"] == new_deadline.isoformat()
    assert [e["step"] for e in hazard["escalations"]] == ["supervision_notice"]
    # The same recheck cannot be reported twice.
    again = await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True}, headers=checker)
    assert again.status_code == 409


# --- escalation under a controllable clock ------------------------------------------------


async def test_escalate_overdue_applies_each_rung_once(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    deadline = today() + dt.timedelta(days=3)
    response = await client.post(
        "/api/v1/hazards/", json=body(inspection, deadline_date=deadline.isoformat()),
        headers=await world.headers(world.inspectors[0]),
    )
    hazard_id = uuid.UUID(response.json()["id"])

    def at(days_after_deadline: int) -> dt.datetime:
        return dt.datetime.combine(deadline + dt.timedelta(days=days_after_deadline), dt.time(9), TZ)

    async def run(days: int) -> hz.EscalationRun:
        async with database.transaction():
            return await hazard_escalation.escalate_overdue(settings, now=at(days))

    assert (await run(0)).escalations == 0  # due today: not overdue yet
    first = await run(1)
    assert (first.escalations, first.rechecks_created) == (1, 1)
    repeat = await run(1)
    assert (repeat.escalations, repeat.rechecks_created) == (0, 0)
    assert (await run(8)).escalations == 1
    proposals = await EnforcementAction.select(EnforcementAction.kind).where(EnforcementAction.hazard == hazard_id)
    assert sorted(p["kind"] for p in proposals) == ["admonition", "public_notice"]
    assert (await run(40)).escalations == 2
    assert (await run(41)).escalations == 0
    steps = await HazardEscalation.select(HazardEscalation.step, HazardEscalation.action).where(
        HazardEscalation.hazard == hazard_id
    ).order_by(HazardEscalation.step)
    assert [(s["step"], s["action"]) for s in steps] == [
        (1, "supervision_notice"), (2, "notice_or_talk"), (3, "suspension_proposal"), (4, "closure_proposal"),
    ]
    kinds = sorted(p["kind"] for p in await EnforcementAction.select(EnforcementAction.kind).where(
        EnforcementAction.hazard == hazard_id))
    assert kinds == ["admonition", "closure_request", "public_notice", "suspension"]
    assert (await audit_actions(hazard_id)).count("hazard.escalate") == 4
    deadline_rechecks = await Recheck.count().where(
        (Recheck.hazard == hazard_id) & (Recheck.reason == RecheckReason.DEADLINE_PASSED)
    )
    assert deadline_rechecks == 1
    listed = await client.get("/api/v1/hazards/?overdue=true", headers=await world.headers(world.supervisor_id))
    assert listed.json() == []  # overdue is computed against the real clock: the deadline is still ahead


async def test_overdue_filter_and_flag(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    late = (await client.post("/api/v1/hazards/", json=body(inspection), headers=inspector)).json()["id"]
    on_time = (await client.post("/api/v1/hazards/", json=body(inspection), headers=inspector)).json()["id"]
    await Hazard.update({Hazard.deadline_date: today() - dt.timedelta(days=2)}).where(Hazard.id == uuid.UUID(late))
    supervisor = await world.headers(world.supervisor_id)
    overdue = (await client.get("/api/v1/hazards/?overdue=true", headers=supervisor)).json()
    assert [h["id"] for h in overdue] == [late] and overdue[0]["overdue"] is True
    fine = (await client.get("/api/v1/hazards/?overdue=false", headers=supervisor)).json()
    assert [h["id"] for h in fine] == [on_time]


# --- look-back campaigns ----------------------------------------------------------------------


async def test_lookback_campaign_rechecks_closed_hazards(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    hazard_id = (await client.post("/api/v1/hazards/", json=body(inspection), headers=inspector)).json()["id"]
    await client.post(f"/api/v1/hazards/{hazard_id}/rectification-report", json={}, headers=inspector)
    recheck = (await client.get("/api/v1/rechecks/", headers=await world.headers(world.supervisor_id))).json()[0]
    await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True},
                      headers=await world.headers(uuid.UUID(recheck["assignee_ids"][0])))
    assert (await hazard_row(hazard_id))["status"] == HazardStatus.CLOSED

    campaign = {"name": "2023年汛期隐患整改回头看", "closed_from_date": (today() - dt.timedelta(days=1)).isoformat(),
                "closed_to_date": (today() + dt.timedelta(days=1)).isoformat()}
    assert (await client.post("/api/v1/lookback-campaigns/", json=campaign, headers=inspector)).status_code == 403
    response = await client.post("/api/v1/lookback-campaigns/", json=campaign, headers=await world.headers(world.supervisor_id))
    assert response.status_code == 201, response.text
    (recheck_id,) = response.json()["recheck_ids"]
    campaign_id = response.json()["id"]
    for reader in (world.second_supervisor_id, await make_user(Role.LEADER), await make_user(Role.ADMIN)):
        read = await client.get(f"/api/v1/lookback-campaigns/{campaign_id}", headers=await world.headers(reader))
        assert read.status_code == 200 and read.json()["recheck_ids"] == [recheck_id], read.text
    # Another department's supervisor is told it does not exist, as for its hazards and rechecks.
    stranger = await make_user(Role.SUPERVISOR, department_id=await make_department())
    read = await client.get(f"/api/v1/lookback-campaigns/{campaign_id}", headers=await world.headers(stranger))
    assert read.status_code == 404, read.text
    row = await Recheck.select().where(Recheck.id == uuid.UUID(recheck_id)).first()
    assert row["reason"] == RecheckReason.LOOKBACK and row["status"] == RecheckStatus.PENDING

    # A failed look-back reopens the hazard with a new deadline.
    task = msgspec.convert((await client.get(f"/api/v1/rechecks/?hazard_id={hazard_id}&status=pending",
                                             headers=await world.headers(world.supervisor_id))).json()[0], hz.Recheck)
    checker = await world.headers(task.assignee_ids[0])
    refused = await client.post(f"/api/v1/rechecks/{recheck_id}/result", json={"passed": False}, headers=checker)
    assert refused.status_code == 422 and refused.json()["field"] == "new_deadline_date"
    reopened = await client.post(
        f"/api/v1/rechecks/{recheck_id}/result",
        json={"passed": False, "new_deadline_date": (today() + dt.timedelta(days=10)).isoformat()},
        headers=checker,
    )
    assert reopened.status_code == 200, reopened.text
    row = await hazard_row(hazard_id)
    assert row["status"] == HazardStatus.RECTIFYING and row["closed_at"] is None
    assert "hazard.reopen" in await audit_actions(uuid.UUID(hazard_id))


@pytest.mark.parametrize("role_index", [0])
async def test_inspectors_cannot_run_escalation(client: httpx.AsyncClient, world: World, role_index: int):
    response = await client.post("/api/v1/hazards/escalate", headers=await world.headers(world.inspectors[role_index]))
    assert response.status_code == 403
    response = await client.post("/api/v1/hazards/escalate", headers=await world.headers(world.supervisor_id))
    assert response.status_code == 200 and response.json()["escalations"] == 0


async def test_concurrent_escalation_runs_apply_each_rung_once(client: httpx.AsyncClient, world: World, settings: Settings):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    deadline = today() + dt.timedelta(days=1)
    ids = [
        uuid.UUID((await client.post("/api/v1/hazards/", json=body(inspection, deadline_date=deadline.isoformat()),
                                     headers=inspector)).json()["id"])
        for _ in range(3)
    ]
    moment = dt.datetime.combine(deadline + dt.timedelta(days=10), dt.time(9), TZ)

    async def run() -> hz.EscalationRun:
        async with database.transaction():
            return await hazard_escalation.escalate_overdue(settings, now=moment)

    runs = await asyncio.gather(*(run() for _ in range(4)))
    assert sum(r.escalations for r in runs) == 3 * 2  # two rungs due (day 1 and day 8), per hazard, once
    assert sum(r.rechecks_created for r in runs) == 3
    assert await HazardEscalation.count().where(HazardEscalation.hazard.is_in(ids)) == 6
