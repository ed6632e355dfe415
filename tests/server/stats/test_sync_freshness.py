"""Figures come from what phones sync: a push is counted by the refresher's next round, and every read says how fresh it is."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from schemas import sync as sync_wire
from schemas.hazards import AddHazard, HazardCreate
from schemas.inspections import RecordItemResult, StartInspection, SubmitInspection
from schemas.vocab import Role
from server.stats import rollup as stats_rollup
from tests.dates import BUREAU_TZ as TZ
from tests.conftest import login, make_user, username_of
from tests.server.sync.conftest import Team, answers, make_phone, team  # noqa: F401 (fixture)


def _figure(body: dict, key: str) -> float | None:
    return next(f.get("value") for f in body["figures"] if f["key"] == key)


async def test_a_synced_check_is_counted_by_the_next_read(client: httpx.AsyncClient, team: Team) -> None:  # noqa: F811
    leader = await login(client, await username_of(await make_user(Role.LEADER)))
    now = dt.datetime.now(dt.UTC)
    year = str(now.astimezone(TZ).year)

    async def summary() -> dict:
        response = await client.get("/api/v1/stats/summary", params={"period": year}, headers=leader)
        assert response.status_code == 200, response.text
        return response.json()

    before = await summary()
    assert _figure(before, "checks") == 0

    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    outcomes = await phone.push([
        StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=now),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[0], outcome="pass"),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[1], outcome="fail"),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[2],
                         outcome="not_applicable"),
        *answers(phone, inspection, team.items[3:], outcome="not_applicable"),
        AddHazard(seq=phone.seq(), hazard=HazardCreate(
            id=uuid.uuid4(), inspection_id=inspection, level="general", description="消防通道堆放杂物",
            deadline_date=now.astimezone(TZ).date() + dt.timedelta(days=7), checklist_item_id=team.items[1], found_at=now,
        )),
        SubmitInspection(seq=phone.seq(), inspection_id=inspection, signed_by_name="张三", submitted_at=now),
    ])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes

    # Before the refresher's round the read does not recount: it answers at once and says it is behind.
    behind = await summary()
    assert _figure(behind, "checks") == 0
    assert behind["freshness"]["pending"] is True
    assert dt.datetime.fromisoformat(behind["freshness"]["as_of"]) <= dt.datetime.now(dt.UTC)
    assert dt.datetime.fromisoformat(behind["freshness"]["as_of"]) >= now - dt.timedelta(minutes=1)

    await stats_rollup.refresh()
    after = await summary()
    assert not after["freshness"].get("pending")
    assert _figure(after, "checks") == 1
    assert _figure(after, "enterprises_inspected") == 1
    assert (_figure(after, "items_checked"), _figure(after, "items_failed")) == (2, 1)
    assert _figure(after, "hazards_found") == 1 and _figure(after, "rectification_rate") == 0.0
    drill = (await client.get(
        "/api/v1/stats/drilldown", params={"period": year, "indicator": "checks"}, headers=leader
    )).json()
    assert drill["rows"][0][0] == str(inspection)
    inspectors = (await client.get(
        "/api/v1/stats/breakdown", params={"period": year, "by": "inspector"}, headers=leader
    )).json()
    assert {r["group"] for r in inspectors["rows"]} == {str(i) for i in team.inspectors}
