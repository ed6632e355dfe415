"""回避 holds wherever an inspector is put on an enterprise: a supervisor's assignment and a patrol a phone opens."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas import sync as wire
from schemas.inspections import StartInspection
from server.inspections.tables import Inspection
from tests.server.sync.conftest import make_phone, team  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


async def _declare(client, team, user_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(user_id), "enterprise_id": str(team.enterprise_id), "reason": "亲属在该企业任职"},
        headers=team.supervisor,
    )
    assert response.status_code == 201, response.text


async def test_a_supervisor_cannot_assign_an_inspector_with_a_declared_conflict(client, team):
    await _declare(client, team, team.inspectors[1])
    body = {"enterprise_id": str(team.enterprise_id), "inspector_ids": [str(i) for i in team.inspectors]}
    response = await client.post("/api/v1/inspections/", json=body, headers=team.supervisor)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "inspector_ids" and "回避" in response.json()["message"]
    assert await Inspection.count() == 0
    # Without the conflicted inspector the assignment goes through.
    ok = await client.post("/api/v1/inspections/", json={**body, "inspector_ids": [str(team.inspectors[0])]}, headers=team.supervisor)
    assert ok.status_code == 201, ok.text


async def test_an_inspector_with_a_declared_conflict_cannot_open_a_patrol_of_the_enterprise(client, team):
    await _declare(client, team, team.inspectors[0])
    phone = await make_phone(client, team.inspectors[0])
    patrol = uuid.uuid4()
    [outcome] = await phone.push(
        [StartInspection(seq=phone.seq(), inspection_id=patrol, enterprise_id=team.enterprise_id, started_at=NOW)]
    )
    assert isinstance(outcome, wire.Rejected) and outcome.field == "enterprise_id" and "回避" in outcome.message
    assert await Inspection.count().where(Inspection.id == patrol) == 0

    teammate = await make_phone(client, team.inspectors[1])
    [opened] = await teammate.push(
        [StartInspection(seq=teammate.seq(), inspection_id=patrol, enterprise_id=team.enterprise_id, started_at=NOW)]
    )
    assert isinstance(opened, wire.Applied)
