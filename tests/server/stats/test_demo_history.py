"""``fieldcheck demo`` gives a new user a live dashboard: two years of work, written through the services, on both engines."""

from __future__ import annotations

import datetime as dt

import httpx

from server import demo
from server.enforcement.tables import EnforcementAction
from server.hazards.tables import Hazard
from server.inspections.tables import Inspection
from server.spotchecks.tables import Campaign, SpotCheckTask
from server.stats import rollup as stats_rollup
from server.stats.periods import add_months
from server.violations.tables import ViolationRecord
from tests.conftest import app_of
from tests.dates import BUREAU_TZ as TZ


def _figure(body: dict, key: str) -> float | None:
    return next(f.get("value") for f in body["figures"] if f["key"] == key)


async def test_demo_history_counts_by_hand_on_both_engines(engine_client: httpx.AsyncClient) -> None:
    settings = app_of(engine_client).state.settings  # the app's, with its keys (the 三违 ID hash needs one)
    report = await demo.load(settings, password="demo-pass-123")
    assert report.history is not None and report.history.skipped == 0, report.history
    assert report.history.checks > 150 and report.history.hazards and report.history.closed and report.history.actions
    again = await demo.load(settings, password="demo-pass-123")
    assert again.history is not None and again.history.checks == 0  # a second run adds nothing

    login = await engine_client.post("/api/v1/auth/login", json={"username": "leader1", "password": "demo-pass-123"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    today = dt.datetime.now(TZ).date()
    last_month = add_months(today.replace(day=1), -1)
    for period, start, end in ((str(today.year - 1), dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1)),
                               (f"{last_month:%Y-%m}", last_month, today.replace(day=1))):
        body = (await engine_client.get("/api/v1/stats/summary", params={"period": period}, headers=headers)).json()
        lo = dt.datetime.combine(start, dt.time(), TZ)
        hi = dt.datetime.combine(end, dt.time(), TZ)
        # Hand counts: straight queries of the records, by the 口径 of each indicator.
        checks = await Inspection.count().where(
            Inspection.status.is_in(["submitted", "reviewed"]) & (Inspection.submitted_at >= lo) & (Inspection.submitted_at < hi)
        )
        hazards = await Hazard.count().where((Hazard.found_at >= lo) & (Hazard.found_at < hi))
        violations = await ViolationRecord.count().where((ViolationRecord.recorded_at >= lo) & (ViolationRecord.recorded_at < hi))
        assert checks > 0 and hazards > 0
        assert (_figure(body, "checks"), _figure(body, "hazards_found"), _figure(body, "violations")) == (
            checks, hazards, violations
        ), period
    year = (await engine_client.get("/api/v1/stats/summary", params={"period": str(today.year - 1)}, headers=headers)).json()
    lo, hi = dt.datetime(today.year - 1, 1, 1, tzinfo=TZ), dt.datetime(today.year, 1, 1, tzinfo=TZ)
    effective = EnforcementAction.status.is_in(["in_effect", "transferred"])
    actions = await EnforcementAction.count().where(
        effective & (EnforcementAction.effective_at >= lo) & (EnforcementAction.effective_at < hi)
    ) + await EnforcementAction.count().where(
        effective & EnforcementAction.effective_at.is_null() & (EnforcementAction.decided_at >= lo)
        & (EnforcementAction.decided_at < hi)
    )
    assert _figure(year, "actions") == actions > 0
    assert 0 < _figure(year, "rectification_rate") < 100  # hazards went round the loop, not all of them closed
    # Major hazards too: listed, fixed, rechecked and 摘牌销号 by a supervisor, some still open (动态清零 in progress).
    majors = Hazard.level == "major"
    found_last_year = majors & (Hazard.found_at >= lo) & (Hazard.found_at < hi)
    delisted = await Hazard.count().where(found_last_year & (Hazard.status == "closed"))
    assert _figure(year, "major_closed") == delisted > 0
    assert _figure(year, "major_open") == await Hazard.count().where(found_last_year & (Hazard.status != "closed"))
    # The busy June of 安全生产月 against the Spring Festival lull, last year.
    trend = (await engine_client.get("/api/v1/stats/breakdown", params={"by": "period", "period": str(today.year - 1)},
                                     headers=headers)).json()
    by_month = {r["group"][-2:]: _figure(r, "checks") for r in trend["rows"]}
    assert by_month["06"] > by_month["02"]
    # Spot-check campaigns: drawn, released and checked through the services; a covert task counts from its release.
    assert report.history.campaigns >= 8 and report.history.spot_done > 0
    campaigns = {c["id"]: c["covert"] for c in await Campaign.select(Campaign.id, Campaign.covert)}
    assert set(campaigns.values()) == {True, False}
    tasks = await SpotCheckTask.select()
    for year_ in (today.year - 1, today.year):
        body = (await engine_client.get("/api/v1/stats/summary", params={"period": str(year_)}, headers=headers)).json()
        counted = [t for t in tasks if t["planned_date"].year == year_ and t["status"] != "cancelled"
                   and (not campaigns[t["campaign"]] or t["released_at"] is not None)]
        assert _figure(body, "spot_tasks") == len(counted) > 0, year_
        assert _figure(body, "spot_tasks_done") == sum(t["status"] == "done" for t in counted) > 0, year_
        assert _figure(body, "spot_tasks_covert") == sum(campaigns[t["campaign"]] for t in counted), year_
    # The covert targets not yet released are in no figure (the draws of this half-year hold some unless it ends today).
    hidden = [t for t in tasks if campaigns[t["campaign"]] and t["released_at"] is None]
    assert all(t["release_at"] > dt.datetime.now(dt.UTC) for t in hidden)
    assert await stats_rollup.refresh() == frozenset()
