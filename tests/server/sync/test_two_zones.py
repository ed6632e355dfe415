"""Two apps built in one process with different settings each apply pushes under their own: no process-wide settings.

The same inspector pushes the same hazard, found at 20:00 UTC on 1 June (already 2 June in Beijing, still 1 June in
Los Angeles), with 1 June as its deadline: the Beijing app refuses a deadline before the day it was found, the Los
Angeles app, built first, accepts it. With settings made process-wide by the last app built, both would read Los
Angeles and both would accept it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import httpx

from schemas import sync as wire
from schemas.hazards import AddHazard, HazardCreate
from schemas.inspections import StartInspection
from server.app import create_app
from server.settings import Settings
from tests.conftest import app_of
from tests.server.sync.conftest import Phone, Team, make_phone, team  # noqa: F401  (fixture)
from tests.server.sync.test_push import NOW

FOUND_AT = dt.datetime(2026, 6, 1, 20, 0, tzinfo=dt.UTC)


def _hazard(phone: Phone, inspection_id: uuid.UUID) -> AddHazard:
    return AddHazard(seq=phone.seq(), hazard=HazardCreate(
        id=uuid.uuid4(), inspection_id=inspection_id, level="general", description="消防通道堵塞",
        deadline_date=dt.date(2026, 6, 1), found_at=FOUND_AT,
    ))


async def test_two_apps_in_one_process_each_count_days_in_their_own_zone(
    client: httpx.AsyncClient, team: Team, settings: Settings  # noqa: F811
) -> None:
    los_angeles = dataclasses.replace(settings.hazards, timezone="America/Los_Angeles")
    pacific = create_app(dataclasses.replace(settings, hazards=los_angeles))
    inspection = await team.assign(client, [team.inspectors[0]])
    beijing_phone = await make_phone(client, team.inspectors[0])
    [started] = await beijing_phone.push([StartInspection(seq=beijing_phone.seq(), inspection_id=inspection, started_at=NOW)])
    assert isinstance(started, wire.Applied), started

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=pacific), base_url="http://pacific.test") as other:
        pacific_phone = Phone(other, beijing_phone.user_id, beijing_phone.device_id, beijing_phone.headers, next_seq=100)
        [in_los_angeles] = await pacific_phone.push([_hazard(pacific_phone, inspection)])
    [in_beijing] = await beijing_phone.push([_hazard(beijing_phone, inspection)])

    assert isinstance(in_los_angeles, wire.Applied), in_los_angeles
    assert isinstance(in_beijing, wire.Rejected) and in_beijing.field == "deadline_date", in_beijing
    assert pacific.state.context.zone.key == "America/Los_Angeles"
    assert app_of(client).state.context.zone.key == "Asia/Shanghai"
