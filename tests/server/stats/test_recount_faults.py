"""A month whose statistics recount fails is reported on its own; every other month still answers."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import httpx
import pytest

from schemas import sync as sync_wire
from schemas.inspections import StartInspection, SubmitInspection
from schemas.vocab import Role
from server import database
from server.stats import rollup as stats_rollup
from tests.dates import BUREAU_TZ as TZ
from tests.conftest import login, make_user, username_of
from tests.server.sync.conftest import Team, answers, make_phone, team  # noqa: F401 (fixture)


async def _sync_check(client: httpx.AsyncClient, team: Team, when: dt.datetime) -> None:  # noqa: F811
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    outcomes = await phone.push([
        StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=when),
        *answers(phone, inspection, team.items),
        SubmitInspection(seq=phone.seq(), inspection_id=inspection, signed_by_name="张三", submitted_at=when),
    ])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes


async def test_a_failing_month_does_not_poison_the_others(
    client: httpx.AsyncClient, team: Team, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    leader = await login(client, await username_of(await make_user(Role.LEADER)))
    now = dt.datetime.now(dt.UTC)
    earlier = now - dt.timedelta(days=40)
    this_month, last_month = now.astimezone(TZ).date().replace(day=1), earlier.astimezone(TZ).date().replace(day=1)

    async def checks(month: dt.date) -> httpx.Response:
        return await client.get("/api/v1/stats/summary", params={"period": f"{month:%Y-%m}"}, headers=leader)

    assert (await checks(this_month)).status_code == 200
    # The fault, injected for the test only: recounting this month's rollup fails inside PostgreSQL.
    engine = database.get_engine()
    await engine.run_ddl(
        "CREATE FUNCTION test_refuse_month() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.month = DATE '{this_month.isoformat()}' THEN RAISE EXCEPTION 'refused for the test'; END IF; "
        "RETURN NEW; END $$"
    )
    await engine.run_ddl(
        "CREATE TRIGGER test_refuse_month BEFORE INSERT ON stats_monthly FOR EACH ROW EXECUTE FUNCTION test_refuse_month()"
    )
    try:
        await _sync_check(client, team, earlier)
        await _sync_check(client, team, now)
        with caplog.at_level(logging.ERROR, logger="fieldcheck.stats"):
            assert await stats_rollup.refresh() == {this_month}  # the refresher's round
            for _ in range(2):  # and the next read too: the failure does not stick to other months
                broken = await checks(this_month)
                assert broken.status_code == 503, broken.text
                assert broken.json()["code"] == "stats_month_unavailable", broken.text
                assert f"{this_month:%Y-%m}" in broken.json()["message"]
                fine = await checks(last_month)
                assert fine.status_code == 200, fine.text
                assert next(f["value"] for f in fine.json()["figures"] if f["key"] == "checks") == 1
        assert any("recount" in r.getMessage() and r.exc_info for r in caplog.records), caplog.records
    finally:
        await engine.run_ddl("DROP TRIGGER test_refuse_month ON stats_monthly")
        await engine.run_ddl("DROP FUNCTION test_refuse_month()")
    # Healed, the month that failed stayed queued and is counted by the next round.
    assert await stats_rollup.refresh() == frozenset()
    healed = await checks(this_month)
    assert healed.status_code == 200, healed.text
    assert next(f["value"] for f in healed.json()["figures"] if f["key"] == "checks") == 1
