"""The hazard board (overdue first) and a recheck a supervisor orders, through the API."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from schemas.hazards import RecheckReason
from schemas.vocab import Role
from server.hazards.tables import Recheck
from tests.conftest import login, make_department, make_user, username_of
from tests.server.hazards.factories import World, five_in_place

TZ = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(TZ).date()


async def found(client, world: World, inspection: uuid.UUID, *, days_ago: int, deadline_in: int, **extra) -> str:
    """A hazard a phone recorded ``days_ago`` (synced now) with its deadline ``deadline_in`` days from today."""
    body = {
        "id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
        "description": f"隐患（{days_ago}日前发现）", "deadline_date": (today() + dt.timedelta(days=deadline_in)).isoformat(),
        "found_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat(), **extra,
    }
    response = await client.post("/api/v1/hazards/", json=body, headers=await world.headers(world.inspectors[0]))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_the_board_shows_open_hazards_overdue_first_longest_overdue_on_top(client, world: World):
    inspection = await world.inspection()
    later = await found(client, world, inspection, days_ago=1, deadline_in=20)
    sooner = await found(client, world, inspection, days_ago=1, deadline_in=3)
    late = await found(client, world, inspection, days_ago=10, deadline_in=-2)
    later_still = await found(client, world, inspection, days_ago=12, deadline_in=-6)
    reported = await found(client, world, inspection, days_ago=11, deadline_in=-4)  # fixed: past its deadline, not overdue
    fixed = await client.post(f"/api/v1/hazards/{reported}/rectification-report", json={"note": "已整改"},
                              headers=await world.headers(world.inspectors[0]))
    assert fixed.status_code == 200, fixed.text
    major = await found(client, world, inspection, days_ago=0, deadline_in=30, level="major",
                        checklist_item_id=str(world.major_item), five_in_place=five_in_place(today() + dt.timedelta(days=30)))
    supervisor = await world.headers(world.supervisor_id)
    board = await client.get("/api/v1/hazards/board", headers=supervisor)
    assert board.status_code == 200, board.text
    assert [h["id"] for h in board.json()] == [later_still, late, reported, sooner, later, major]
    assert [h["overdue"] for h in board.json()] == [True, True, False, False, False, False]
    assert [h.get("days_overdue", 0) for h in board.json()] == [6, 2, 0, 0, 0, 0]
    listed = await client.get("/api/v1/hazards/board", params={"listed_supervision": "true"}, headers=supervisor)
    assert [h["id"] for h in listed.json()] == [major]
    page = await client.get("/api/v1/hazards/board", params={"limit": 2, "offset": 3}, headers=supervisor)
    assert [h["id"] for h in page.json()] == [sooner, later]

    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    assert (await client.get("/api/v1/hazards/board", headers=outsider)).json() == []
    inspector = await world.headers(world.inspectors[0])
    assert (await client.get("/api/v1/hazards/board", headers=inspector)).status_code == 403


async def test_a_supervisor_orders_one_recheck_assigned_away_from_the_finders(client, world: World):
    inspection = await world.inspection(team=world.inspectors[:2])
    hazard = await found(client, world, inspection, days_ago=0, deadline_in=5)
    supervisor = await world.headers(world.supervisor_id)
    url = f"/api/v1/hazards/{hazard}/recheck"

    for who in (world.inspectors[0], world.leader_id, world.legal_reviewer_id):
        assert (await client.post(url, headers=await world.headers(who))).status_code == 403
    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    assert (await client.post(url, headers=outsider)).status_code == 404

    ordered = await client.post(url, headers=supervisor)
    assert ordered.status_code == 201, ordered.text
    recheck = ordered.json()
    assert recheck["reason"] == RecheckReason.ORDERED and recheck["status"] == "pending"
    assert set(recheck["assignee_ids"]) == {str(i) for i in world.inspectors[2:]}
    again = await client.post(url, headers=supervisor)
    assert again.status_code == 409 and "待完成的复查" in again.json()["message"], again.text
    assert await Recheck.count().where(Recheck.hazard == uuid.UUID(hazard)) == 1

    # The ordered recheck is the one the enterprise's report waits for: no second task appears.
    reported = await client.post(f"/api/v1/hazards/{hazard}/rectification-report", json={"note": "已整改"},
                                 headers=await world.headers(world.inspectors[0]))
    assert reported.status_code == 200, reported.text
    assert await Recheck.count().where(Recheck.hazard == uuid.UUID(hazard)) == 1

    rechecker = await world.headers(world.inspectors[2])
    passed = await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True, "note": "复查合格"},
                               headers=rechecker)
    assert passed.status_code == 200, passed.text
    closed = await client.get(f"/api/v1/hazards/{hazard}", headers=supervisor)
    assert closed.json()["status"] == "closed"
    after = await client.post(url, headers=supervisor)
    assert after.status_code == 409 and after.json()["field"] == "status"

    history = await client.get(f"/api/v1/hazards/{hazard}/history", headers=supervisor)
    actions = [e["action"] for e in history.json()]
    assert actions == ["hazard.open", "recheck.create", "hazard.report_rectification", "recheck.result",
                       "hazard.recheck", "hazard.close"], actions
    assert (await client.get(f"/api/v1/hazards/{hazard}/history", headers=outsider)).status_code == 404


async def test_hazards_and_violations_list_by_inspection(client, world: World):
    first, second = await world.inspection(), await world.inspection()
    mine = await found(client, world, first, days_ago=0, deadline_in=5)
    await found(client, world, second, days_ago=0, deadline_in=5)
    supervisor = await world.headers(world.supervisor_id)
    listed = await client.get("/api/v1/hazards/", params={"inspection_id": str(first)}, headers=supervisor)
    assert [h["id"] for h in listed.json()] == [mine]
    recorded = await client.post("/api/v1/violations/", headers=await world.headers(world.inspectors[0]), json={
        "id": str(uuid.uuid4()), "inspection_id": str(second), "person_name": "李四", "id_number": "11010519491231002X",
        "violation_type": "illegal_operation", "description": "未系安全带高处作业"})
    assert recorded.status_code == 201, recorded.text
    assert (await client.get("/api/v1/violations/", params={"inspection_id": str(first)}, headers=supervisor)).json() == []
    [only] = (await client.get("/api/v1/violations/", params={"inspection_id": str(second)}, headers=supervisor)).json()
    assert only["id"] == recorded.json()["id"] and only["id_number_masked"] != "11010519491231002X"
