"""The closed loop on the embedded SQLite default (arrays, no row locks, one writer at a time)."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx

from schemas.identifiers import id_number_check_char
from server import database
from server.hazards import escalation as hazard_escalation
from tests.conftest import app_of
from tests.server.hazards.factories import make_world
from tests.server.registry.conftest import sqlite_client  # noqa: F401  (fixture)


async def test_closed_loop_on_sqlite(sqlite_client: httpx.AsyncClient):  # noqa: F811
    client = sqlite_client
    world = await make_world(client)
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    supervisor = await world.headers(world.supervisor_id)
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()

    deadline = today + dt.timedelta(days=2)
    hazard = await client.post(
        "/api/v1/hazards/",
        json={"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
              "description": "安全出口锁闭", "deadline_date": deadline.isoformat()},
        headers=inspector,
    )
    assert hazard.status_code == 201, hazard.text
    hazard_id = hazard.json()["id"]
    reported = await client.post(f"/api/v1/hazards/{hazard_id}/rectification-report",
                                 json={"note": "已开启", "evidence_ids": [str(uuid.uuid4())]}, headers=inspector)
    assert reported.status_code == 200, reported.text
    # answered from the row the UPDATE returned: equal to a fresh read on SQLite's RETURNING too
    assert reported.json() == (await client.get(f"/api/v1/hazards/{hazard_id}", headers=inspector)).json()
    assert reported.json()["rectification_reported_at"] and reported.json()["status"] == "rectification_reported"
    recheck = (await client.get("/api/v1/rechecks/", headers=supervisor)).json()[0]
    assert not {uuid.UUID(a) for a in recheck["assignee_ids"]} & set(world.inspectors[:2])
    done = await client.post(f"/api/v1/rechecks/{recheck['id']}/result", json={"passed": True},
                             headers=await world.headers(uuid.UUID(recheck["assignee_ids"][0])))
    assert done.status_code == 200, done.text
    # the recheck and its hazard are answered from the rows their UPDATEs returned: equal to a fresh read
    listed = (await client.get("/api/v1/rechecks/", params={"hazard_id": hazard_id}, headers=supervisor)).json()
    assert [done.json()] == [r for r in listed if r["id"] == recheck["id"]] and done.json()["status"] == "passed"
    assert (await client.get(f"/api/v1/hazards/{hazard_id}", headers=inspector)).json()["status"] == "closed"

    late = await client.post(
        "/api/v1/hazards/",
        json={"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
              "description": "灭火器过期", "deadline_date": deadline.isoformat()},
        headers=inspector,
    )
    async with database.transaction():
        run = await hazard_escalation.escalate_overdue(
            app_of(sqlite_client).state.settings, now=dt.datetime.combine(deadline + dt.timedelta(days=9), dt.time(10), ZoneInfo("Asia/Shanghai"))
        )
    assert (run.escalations, run.rechecks_created) == (2, 1)
    shown = (await client.get(f"/api/v1/hazards/{late.json()['id']}", headers=inspector)).json()
    assert [e["step"] for e in shown["escalations"]] == ["supervision_notice", "notice_or_talk"]
    assert len(shown["escalations"][1]["enforcement_action_ids"]) == 2

    first17 = "64052119900101123"
    person = {"id": str(uuid.uuid4()), "inspection_id": str(inspection), "person_name": "张伟",
              "id_number": first17 + id_number_check_char(first17), "violation_type": "illegal_command",
              "description": "安排未经培训人员进入有限空间作业"}
    assert (await client.post("/api/v1/violations/", json=person, headers=inspector)).status_code == 201
    fine = await client.post(
        "/api/v1/enforcement-actions/",
        json={"id": str(uuid.uuid4()), "kind": "fine", "inspection_id": str(inspection), "reason": "违章指挥",
              "amount_yuan": 30000},
        headers=inspector,
    )
    decided = await client.post(f"/api/v1/enforcement-actions/{fine.json()['id']}/decision", json={"approve": True},
                                headers=supervisor)
    assert decided.status_code == 200 and decided.json()["status"] == "in_effect"
