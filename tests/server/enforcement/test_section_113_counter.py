"""The §113 counter an office reads per enterprise: penalties in each window, the major hazard, the live request."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from schemas.vocab import Role
from server.enforcement import policy
from tests.server.enforcement.test_enforcement_api import propose
from tests.server.hazards.factories import World, five_in_place

TZ = ZoneInfo("Asia/Shanghai")


def test_the_count_is_the_rule_the_counter_proposes_by() -> None:
    today = dt.date(2026, 6, 30)
    spans = [policy.MajorHazardSpan(found_date=dt.date(2026, 1, 10))]
    dates = [dt.date(2025, 12, 31), dt.date(2026, 3, 1), dt.date(2026, 6, 1), dt.date(2025, 6, 30)]
    count = policy.section_113_count(spans, dates, today)
    assert (count.short_penalties, count.year_penalties) == (2, 4)
    assert count.short_major_hazard and count.year_major_hazard
    assert policy.section_113(spans, dates, today).rule == "4_in_1_year"
    assert policy.section_113(spans, dates[:3], today) is None


async def test_an_enterprise_counter_counts_penalties_in_effect_while_a_major_hazard_exists(client, world: World):
    inspection = await world.inspection()
    url = f"/api/v1/enforcement-actions/section-113/{world.enterprise_id}"
    supervisor = await world.headers(world.supervisor_id)
    empty = await client.get(url, headers=supervisor)
    assert empty.status_code == 200, empty.text
    assert empty.json()["short_window_penalties"] == 0 and empty.json()["short_window_major_hazard"] is False

    deadline = (dt.datetime.now(TZ).date() + dt.timedelta(days=20)).isoformat()
    hazard = await client.post("/api/v1/hazards/", headers=await world.headers(world.inspectors[0]), json={
        "id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "major", "description": "液氨车间未物理隔离",
        "deadline_date": deadline, "checklist_item_id": str(world.major_item),
        "five_in_place": five_in_place(dt.date.fromisoformat(deadline))})
    assert hazard.status_code == 201, hazard.text
    for amount in (20000, 30000):
        action = await propose(client, world, inspection, amount_yuan=amount)
        decided = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True},
                                    headers=supervisor)
        assert decided.status_code == 200 and decided.json()["status"] == "in_effect", decided.text
    waiting = await propose(client, world, inspection, amount_yuan=10000)  # proposed, not in effect: not counted

    counter = (await client.get(url, headers=supervisor)).json()
    assert counter["short_window_penalties"] == 2 and counter["year_window_penalties"] == 2
    assert counter["short_window_major_hazard"] is True and counter["open_major_hazards"] == 1
    assert counter["short_window_threshold"] == 3 and counter["year_window_threshold"] == 4
    assert "live_closure_request_id" not in counter and waiting["status"] == "proposed"

    leader = await world.headers(world.leader_id)
    assert (await client.get(url, headers=leader)).json() == counter
    for who in (world.inspectors[0],):
        assert (await client.get(url, headers=await world.headers(who))).status_code == 403
    missing = await client.get(f"/api/v1/enforcement-actions/section-113/{uuid.uuid4()}", headers=supervisor)
    assert missing.status_code == 404, missing.text


async def test_an_actions_history_lists_its_steps_to_who_may_see_it(client, world: World):
    inspection = await world.inspection()
    action = await propose(client, world, inspection, amount_yuan=5000)
    supervisor = await world.headers(world.supervisor_id)
    decided = await client.post(f"/api/v1/enforcement-actions/{action['id']}/decision", json={"approve": True, "note": "同意"},
                                headers=supervisor)
    assert decided.status_code == 200, decided.text
    history = await client.get(f"/api/v1/enforcement-actions/{action['id']}/history", headers=await world.headers(world.legal_reviewer_id))
    assert [e["action"] for e in history.json()] == ["enforcement.propose", "enforcement.decide"]
    assert history.json()[1]["actor_id"] == str(world.supervisor_id) and history.json()[1]["changes"]["note"] == "同意"
    from tests.conftest import login, make_department, make_user, username_of

    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    assert (await client.get(f"/api/v1/enforcement-actions/{action['id']}/history", headers=outsider)).status_code == 404
