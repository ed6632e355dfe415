"""Submitting needs every checklist item answered, by the phone or over HTTP; a supervisor reviews what is submitted."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas import sync as wire
from schemas.inspections import SubmitInspection
from schemas.vocab import Role
from server.inspections.tables import Inspection
from tests.conftest import login, make_user, username_of
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
