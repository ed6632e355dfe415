"""A released task becomes its check through the inspections service; the task's ``done`` is stored when the check is signed.

- an announced 执法检查 campaign's checks are 执法检查 (two certified officers, counted as such);
- release applies the team rule: an officer who declared a 回避 after the draw holds the task back;
- submit and review store the task's status; 抽查计划完成率 counts it for a campaign carried out through the services;
- a supervisor's cancel of a check not yet signed cancels its task.
"""

from __future__ import annotations

import datetime as dt
import uuid

from schemas import sync as sync_wire
from schemas.inspections import SubmitInspection
from schemas.vocab import Role
from server.inspections.tables import Inspection
from server.spotchecks import release as spotcheck_release
from server.spotchecks.tables import SpotCheckTask
from server.stats import rollup as stats_rollup
from tests.conftest import context_at, login, make_user, username_of
from tests.server.spotchecks.conftest import BASE, World
from tests.server.sync.conftest import answers


async def _kind(task: dict) -> str:
    row = await Inspection.select(Inspection.kind).where(Inspection.id == uuid.UUID(task["inspection_id"])).first()
    return row["kind"]


async def _stored(task: dict) -> str:
    return (await SpotCheckTask.select(SpotCheckTask.status).where(SpotCheckTask.id == uuid.UUID(task["id"])).first())["status"]


async def _sign(world: World, task: dict) -> None:
    inspection = uuid.UUID(task["inspection_id"])
    phone = await world.phone(uuid.UUID(task["team"][0]))
    outcomes = await phone.push([*answers(phone, inspection, await world.items()),
                                 SubmitInspection(seq=phone.seq(), inspection_id=inspection, submitted_at=dt.datetime.now(dt.UTC))])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes


async def test_an_announced_enforcement_campaign_releases_enforcement_checks(world: World) -> None:
    enforcement = await world.campaign(covert=False, rules={"sample_size": 1})
    await world.draw(enforcement["id"])
    [task] = await world.tasks(enforcement["id"])
    assert await _kind(task) == "enforcement"
    plain = await world.campaign(covert=False, enforcement=False, name="一般随机抽查",
                                 rules={"sample_size": 1, "team_size": 1})
    await world.draw(plain["id"])
    [task] = await world.tasks(plain["id"])
    assert await _kind(task) == "spot_check"


async def test_an_officer_who_declared_a_conflict_after_the_draw_holds_the_release_back(world: World) -> None:
    campaign = await world.campaign(rules={"sample_size": 1})  # covert: released later by the job
    await world.draw(campaign["id"])
    [task] = await world.tasks(campaign["id"])
    declared = await world.client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": task["team"][1], "enterprise_id": task["enterprise_id"], "reason": "配偶在该企业任职"},
        headers=world.supervisor,
    )
    assert declared.status_code == 201, declared.text
    late = dt.datetime.fromisoformat(task["release_at"].replace("Z", "+00:00"))
    assert await spotcheck_release.release_due_tasks(context_at(world.client, late)) == 0
    assert await _stored(task) == "drawn" and await Inspection.count() == 0


async def test_a_task_is_done_when_its_check_is_signed_and_the_completion_rate_counts_it(world: World) -> None:
    campaign = await world.campaign(covert=False, rules={"sample_size": 2})
    await world.draw(campaign["id"])
    first, second = await world.tasks(campaign["id"])
    await _sign(world, first)
    assert await _stored(first) == "done" and await _stored(second) == "released"
    mine = (await world.client.get(f"{BASE}/my-tasks", headers=await world.as_user(uuid.UUID(first["team"][0])))).json()
    assert {t["id"]: t["status"] for t in mine}[first["id"]] == "done"

    returned = await world.client.post(f"/api/v1/inspections/{first['inspection_id']}/review",
                                       json={"decision": "return", "reason": "签名不清"}, headers=world.supervisor)
    assert returned.status_code == 200, returned.text
    assert await _stored(first) == "released"
    await _sign(world, first)
    approved = await world.client.post(f"/api/v1/inspections/{first['inspection_id']}/review",
                                       json={"decision": "approve"}, headers=world.supervisor)
    assert approved.status_code == 200, approved.text
    assert await _stored(first) == "done"

    leader = await login(world.client, await username_of(await make_user(Role.LEADER)))
    period = str(dt.date.fromisoformat(first["planned_date"]).year)
    if dt.date.fromisoformat(second["planned_date"]).year != int(period):
        period = first["planned_date"][:7]  # the two tasks straddle a new year: read the first one's month
    await stats_rollup.refresh()  # what the background refresher does within seconds
    summary = await world.client.get("/api/v1/stats/summary", params={"period": period}, headers=leader)
    assert summary.status_code == 200, summary.text
    figures = {f["key"]: f.get("value") for f in summary.json()["figures"]}
    assert figures["spot_tasks_done"] == 1 and figures["spot_completion_rate"] > 0, figures


async def test_cancelling_a_check_not_yet_signed_cancels_its_task(world: World) -> None:
    campaign = await world.campaign(covert=False, rules={"sample_size": 2})
    await world.draw(campaign["id"])
    first, second = await world.tasks(campaign["id"])
    url = f"/api/v1/inspections/{first['inspection_id']}/cancel"
    inspector = await world.as_user(uuid.UUID(first["team"][0]))
    assert (await world.client.post(url, json={"reason": "企业停产"}, headers=inspector)).status_code == 403
    cancelled = await world.client.post(url, json={"reason": "企业已停产，改期检查"}, headers=world.supervisor)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert await _stored(first) == "cancelled"
    progress = (await world.client.get(f"{BASE}/campaigns/{campaign['id']}/progress", headers=world.supervisor)).json()
    assert progress["cancelled"] == 1 and progress["drawn"] == 1
    await _sign(world, second)
    signed = await world.client.post(f"/api/v1/inspections/{second['inspection_id']}/cancel",
                                     json={"reason": "误派"}, headers=world.supervisor)
    assert signed.status_code == 409, signed.text
    assert await _stored(second) == "done"
