"""A write near a month's end queues that month for recount in every zone FIELDCHECK_TIMEZONE may name (m0027).

The statistics cut months in the configured zone; the triggers that queue the months a write touched used to
cut them at Beijing midnight (m0003, m0022), so in another zone a check signed on the last evening of a month
queued only the next month and its own stayed stale. Both engines, through the sync protocol.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx

from schemas import sync as sync_wire
from schemas.hazards import AddHazard, HazardCreate
from schemas.inspections import StartInspection, SubmitInspection
from schemas.vocab import Role
from server.stats import rollup as stats_rollup
from server.stats.tables import StatsDirtyMonth
from tests.conftest import login, make_department, make_enterprise, make_user, username_of
from tests.server.sync.conftest import answers, make_phone, make_template, sqlite_app  # noqa: F401 (fixture)

#: 20:00 UTC on 31 March: still March in London or Honolulu, already April in Beijing or Kiritimati.
LATE = dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC)
ZONES = ("Pacific/Honolulu", "Europe/London", "Asia/Urumqi", "Asia/Shanghai", "Pacific/Kiritimati")


async def _sign_late_in_the_month(client: httpx.AsyncClient) -> None:
    await stats_rollup.refresh()  # whatever earlier writes queued is recounted first
    assert not _months_in_every_zone() & await _queued_months()
    department = await make_department()
    supervisor = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=department)))
    inspectors = [await make_user(Role.INSPECTOR, department_id=department) for _ in range(2)]
    template, items = await make_template(3)
    enterprise = await make_enterprise()
    created = await client.post("/api/v1/inspections/", headers=supervisor, json={
        "enterprise_id": str(enterprise), "template_id": str(template), "inspector_ids": [str(i) for i in inspectors]})
    assert created.status_code == 201, created.text
    inspection = uuid.UUID(created.json()["id"])
    phone = await make_phone(client, inspectors[0])
    outcomes = await phone.push([
        StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=LATE),
        *answers(phone, inspection, items),
        AddHazard(seq=phone.seq(), hazard=HazardCreate(
            id=uuid.uuid4(), inspection_id=inspection, level="general", description="消防通道堆放杂物",
            deadline_date=dt.date(2026, 4, 30), found_at=LATE,
        )),
        SubmitInspection(seq=phone.seq(), inspection_id=inspection, signed_by_name="张三", submitted_at=LATE),
    ])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes


async def _queued_months() -> set[dt.date]:
    return {r["month"] for r in await StatsDirtyMonth.select(StatsDirtyMonth.month) if r["month"] is not None}


def _months_in_every_zone() -> set[dt.date]:
    return {LATE.astimezone(ZoneInfo(z)).date().replace(day=1) for z in ZONES}


async def test_a_check_signed_late_in_the_month_queues_its_month_in_any_zone(client: httpx.AsyncClient) -> None:
    assert _months_in_every_zone() == {dt.date(2026, 3, 1), dt.date(2026, 4, 1)}
    await _sign_late_in_the_month(client)
    queued = await _queued_months()
    assert _months_in_every_zone() <= queued, sorted(queued)


async def test_the_same_on_sqlite(sqlite_app) -> None:  # noqa: F811
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://embedded.test") as http:
        await _sign_late_in_the_month(http)
    queued = await _queued_months()
    assert _months_in_every_zone() <= queued, sorted(queued)
