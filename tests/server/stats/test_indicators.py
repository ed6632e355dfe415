"""Every indicator against a hand count of the fixture city, the naive recount, and its drill-down rows."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.registry import EnterpriseUpdate
from schemas.vocab import District, Role
from server import database
from server.accounts.policy import Actor
from server.stats import query as stats_query
from server.stats import rollup as stats_rollup
from server.stats import views as stats_views
from server.stats.definitions import INDICATORS, MEASURES, Dim, Kind
from server.registry import service as registry_service
from server.stats.periods import Grain
from tests.dates import BUREAU_TZ as TZ
from tests.server.stats.conftest import City, Hazard, at

#: 2025, whole city, counted by hand from what conftest.build_city does (not from the statistics' SQL).
#: Signed checks of 2025: I1 (E1, routine, 10 Mar), I2 (E1, covert, 00:30 on 1 Apr), I3 (E3, enforcement, 5 May),
#: I4 (E4, routine, 1 Jun), I7 (E3, recheck, 1 Jul), I8 (E3, spot check of the announced campaign, 1 Sep).
#: I5 (E2) is never signed; I6 (E2) is of 2024.
HAND: dict[str, float] = {
    "enterprises_inspected": 3,  # E1, E3, E4 (E2 only in 2024 and in progress)
    "registry_enterprises": 4,  # E4 is closed
    "coverage_rate": 50.0,  # E1, E3 of E1, E2, E3, E5
    "checks": 6,  # I1 I2 I3 I4 I7 I8
    "checks_routine": 2,  # I1, I4
    "checks_spot_check": 1,  # I8, the released task of the announced campaign
    "checks_covert": 1,  # I2, the released task of the covert campaign
    "checks_recheck": 1,  # I7
    "checks_campaign": 0,
    "checks_enforcement": 1,  # I3
    "hazards_found": 4,  # H1 H2 (I1), H3 H4 (I3)
    "hazards_general": 2,  # H1, H4
    "hazards_major": 2,  # H2, H3
    "hazards_rectified": 2,  # H1 closed by its passed recheck, H2 摘牌 after its second recheck passed
    "rectification_rate": 50.0,
    "hazards_rectified_on_time": 1,  # H1 (18 Mar, deadline 20 Mar); H2 closed 20 Apr, after 10 Apr and the new 18 Apr
    "on_time_rate": 25.0,
    "hazards_overdue": 1,  # H3 still rectifying past 20 May; H4's deadline is in the future
    "major_listed": 1,  # H3: a major hazard is 挂牌督办 while open; H2 was 摘牌 when closed
    "major_closed": 1,  # H2
    "major_open": 1,  # H3
    "major_clearance_rate": 50.0,
    "violations": 4,  # V1 P1 at I1, V2 P1 and V3 P2 at I3, V4 P3 at I5 (recorded 1 Aug though I5 is unsigned)
    "violations_illegal_command": 1,  # V2
    "violations_illegal_operation": 2,  # V1, V4
    "violations_labor_discipline": 1,  # V3
    "repeat_offenders": 1,  # P1 at E1 and at E3
    "actions": 3,  # I1's fine, I3's suspension (after 法制审核) and transfer; I3's proposed fine is not counted
    "actions_rectify_order": 0,
    "actions_fine": 1,
    "actions_suspension": 1,
    "actions_closure_request": 0,
    "actions_judicial_transfer": 1,
    "actions_admonition": 0,
    "actions_public_notice": 0,
    "fines_yuan": 50000,  # I1's fine only
    "rechecks_done": 3,  # H1 passed, H2 failed then passed (H5's is of 2024)
    "rechecks_passed": 2,
    "recheck_pass_rate": 2 / 3 * 100,
    "spot_tasks": 3,  # covert E1 (done), E2 (released, open), announced E3 (done); E5's cancelled task is not planned work
    "spot_tasks_done": 2,  # E1 (I2), E3 (I8)
    "spot_completion_rate": 2 / 3 * 100,
    "spot_tasks_covert": 2,  # E1, E2
    "items_checked": 3,  # I1's two, I3's second; not_applicable is not checked; I5 is not submitted
    "items_failed": 2,  # I1's second, I3's second
    "item_fail_rate": 2 / 3 * 100,
    "per_thousand_hazards": 4 / 6 * 1000,
    "per_thousand_major": 2 / 6 * 1000,
    "per_thousand_violations": 4 / 6 * 1000,
}

#: Ratios: the rows a drill-down lists (the denominator) and how many of them are in the numerator.
RATIO_ROWS = {
    "coverage_rate": (4, 2),
    "rectification_rate": (4, 2),
    "on_time_rate": (4, 1),
    "major_clearance_rate": (2, 1),
    "recheck_pass_rate": (3, 2),
    "spot_completion_rate": (3, 2),
    "item_fail_rate": (3, 2),
}
#: 每千家次: the drill-down lists the numerator's records.
PER_THOUSAND_ROWS = {"per_thousand_hazards": 4, "per_thousand_major": 2, "per_thousand_violations": 4}

LEADER = Actor(user_id=None, role=Role.LEADER)


def test_every_indicator_has_a_hand_count() -> None:
    assert set(HAND) == set(INDICATORS)
    assert all(INDICATORS[k].definition for k in INDICATORS)


def _figure(body: dict, key: str) -> float | None:
    return next(f.get("value") for f in body["figures"] if f["key"] == key)


@pytest.mark.parametrize("key", sorted(HAND))
async def test_indicator_matches_hand_count_and_drilldown(city: City, key: str) -> None:
    response = await city.get("L", "summary", period="2025")
    assert response.status_code == 200, response.text
    assert _figure(response.json(), key) == pytest.approx(HAND[key])

    naive = await stats_views.summary(LEADER, stats_query.query_from("2025"), backend="base")
    assert next(f.value for f in naive.figures if f.key == key) == pytest.approx(HAND[key])

    drill = await city.get("L", "drilldown", period="2025", indicator=key, page_size=500)
    assert drill.status_code == 200, drill.text
    body = drill.json()
    assert len(body["rows"]) == body["total"]
    assert all(len(row) == len(body["columns"]) for row in body["rows"])
    indicator = INDICATORS[key]
    if key in RATIO_ROWS:
        denominator, numerator = RATIO_ROWS[key]
        assert body["total"] == denominator
        assert sum(body["counted"]) == numerator
        assert numerator / denominator * INDICATORS[key].scale == pytest.approx(HAND[key])
    elif key in PER_THOUSAND_ROWS:
        assert body["total"] == PER_THOUSAND_ROWS[key]
        assert body["total"] / HAND["checks"] * 1000 == pytest.approx(HAND[key])
    elif key == "repeat_offenders":
        assert body["distinct_people"] == HAND[key]
        assert body["total"] == 2  # P1's two records
    elif key == "fines_yuan":
        column = body["columns"].index("罚款金额（元）")
        assert sum(int(r[column]) for r in body["rows"]) == HAND[key]
    else:
        assert indicator.kind in (Kind.COUNT, Kind.LIVE)
        assert body["total"] == HAND[key]


async def test_drilldown_rows_read_in_chinese(city: City) -> None:
    body = (await city.get("L", "drilldown", period="2025", indicator="hazards_major")).json()
    assert body["columns"][:3] == ["隐患编号", "发现时间", "企业名称"]
    levels = {row[body["columns"].index("隐患等级")] for row in body["rows"]}
    districts = {row[body["columns"].index("区县")] for row in body["rows"]}
    assert levels == {"重大隐患"} and districts == {"沙坡头区", "中宁县"}
    assert body["title"] == "发现重大隐患数（2025年）"


async def test_drilldown_pages(city: City) -> None:
    first = (await city.get("L", "drilldown", period="2025", indicator="checks", page_size=2)).json()
    second = (await city.get("L", "drilldown", period="2025", indicator="checks", page_size=2, page=3)).json()
    assert first["total"] == 6 and len(first["rows"]) == 2 and len(second["rows"]) == 2
    assert first["rows"][0][0] == str(city.inspections["I1"])  # ordered by time


async def test_year_on_year(city: City) -> None:
    body = (await city.get("L", "summary", period="2025")).json()
    checks = next(f for f in body["figures"] if f["key"] == "checks")
    assert (checks["value"], checks["previous"], checks["change"]) == (6, 1, 5.0)
    rect = next(f for f in body["figures"] if f["key"] == "rectification_rate")
    assert rect["previous"] == 100.0 and rect["change"] == pytest.approx(-0.5)
    assert body["scope"]["previous_label"] == "2024年"


async def test_beijing_midnight_decides_the_quarter(city: City) -> None:
    q1 = (await city.get("L", "summary", period="2025-Q1")).json()
    q2 = (await city.get("L", "summary", period="2025-Q2")).json()
    assert _figure(q1, "checks") == 1 and _figure(q2, "checks") == 3  # I2 at 00:30 on 1 April counts in Q2
    assert _figure(q2, "checks_covert") == 1
    april = (await city.get("L", "summary", period="2025-04")).json()
    assert _figure(april, "checks") == 1 and april["scope"]["period_label"] == "2025年4月"


def _row(body: dict, group: str) -> dict[str, float | None]:
    row = next(r for r in body["rows"] if r["group"] == group)
    return {f["key"]: f.get("value") for f in row["figures"]}


async def test_breakdown_by_district_sector_department_inspector(city: City) -> None:
    district = (await city.get("L", "breakdown", by="district", period="2025")).json()
    assert [r["label"] for r in district["rows"]] == ["沙坡头区", "中宁县", "海原县"]
    assert _row(district, "shapotou")["checks"] == 2 and _row(district, "zhongning")["checks"] == 3  # I1 I2; I3 I7 I8
    assert _row(district, "shapotou")["registry_enterprises"] == 2
    assert _row(district, "shapotou")["coverage_rate"] == 50.0  # E1 of E1, E2
    assert _row(district, "zhongning")["coverage_rate"] == 50.0  # E3 of E3, E5
    assert _row(district, "haiyuan")["coverage_rate"] is None  # no enterprise in the registry
    assert _row(district, "shapotou")["violations"] == 2  # V1 (E1), V4 (E2)

    sector = (await city.get("L", "breakdown", by="sector", period="2025")).json()
    assert _row(sector, "metallurgy")["hazards_major"] == 1 and _row(sector, "coal_mining")["checks"] == 0

    department = (await city.get("L", "breakdown", by="department", period="2025")).json()
    d1, d2 = str(city.departments["D1"]), str(city.departments["D2"])
    assert _row(department, d1)["checks"] == 3 and _row(department, d2)["checks"] == 3  # I1 I2 I4; I3 I7 I8
    assert _row(department, d1)["violations"] == 2  # V1 (I1), V4 (I5)
    assert _row(department, d1)["enterprises_inspected"] == 2  # E1, E4

    inspector = (await city.get("L", "breakdown", by="inspector", period="2025")).json()
    a, b, c = (str(city.users[k]) for k in "ABC")
    assert _row(inspector, a)["checks"] == 3  # I1, I3, I4 as a team member
    assert _row(inspector, b)["checks"] == 1 and _row(inspector, c)["checks"] == 4  # I1; I2 I3 I7 I8
    assert _row(inspector, c)["hazards_found"] == 2 and _row(inspector, c)["hazards_overdue"] == 1
    assert _row(inspector, a)["coverage_rate"] is None  # not split by inspector
    drill = (await city.get("L", "drilldown", period="2025", indicator="checks", by="inspector", group=a)).json()
    assert drill["total"] == 3


async def test_trend_by_month_quarter_and_year(city: City) -> None:
    months = (await city.get("L", "breakdown", by="period", period="2025", grain="month")).json()
    assert [r["group"] for r in months["rows"]][:3] == ["2025-01", "2025-02", "2025-03"]
    march = next(r for r in months["rows"] if r["group"] == "2025-03")
    checks = next(f for f in march["figures"] if f["key"] == "checks")
    assert (checks["value"], checks["previous"]) == (1, 1)  # I1 vs I6 in March 2024
    quarters = (await city.get("L", "breakdown", by="period", period="2025", grain="quarter")).json()
    assert [_row(quarters, f"2025-Q{q}")["checks"] for q in (1, 2, 3, 4)] == [1, 3, 2, 0]  # I1; I2 I3 I4; I7 I8
    assert _row(quarters, "2025-Q2")["enterprises_inspected"] == 3
    years = (await city.get("L", "breakdown", by="period", period="2025", grain="year")).json()
    assert [r["group"] for r in years["rows"]] == ["2021", "2022", "2023", "2024", "2025"]
    assert _row(years, "2024")["checks"] == 1 and _row(years, "2025")["checks"] == 6
    drill = (await city.get("L", "drilldown", period="2025", indicator="checks", by="period", group="2025-Q2")).json()
    assert drill["total"] == 3


@pytest.mark.parametrize("by", [None, *Dim])
async def test_rollup_equals_naive_recount(city: City, by: Dim | None) -> None:
    for period in ("2025", "2025-Q2", "2024-03"):
        query = stats_query.query_from(period)
        if by is None:
            fast = await stats_views.summary(LEADER, query)
            slow = await stats_views.summary(LEADER, query, backend="base")
            assert fast.figures == slow.figures
        else:
            fast_b = await stats_views.breakdown(LEADER, query, by, grain=Grain.QUARTER)
            slow_b = await stats_views.breakdown(LEADER, query, by, grain=Grain.QUARTER, backend="base")
            assert [(r.group, r.figures) for r in fast_b.rows] == [(r.group, r.figures) for r in slow_b.rows]


async def test_filters_narrow_every_view(city: City) -> None:
    body = (await city.get("L", "summary", period="2025", district="zhongning")).json()
    assert _figure(body, "checks") == 3 and _figure(body, "registry_enterprises") == 2  # I3 I7 I8; E3 E5
    assert _figure(body, "repeat_offenders") == 0  # P1's second record is in shapotou
    body = (await city.get("L", "summary", period="2025", sector="hazardous_chemicals")).json()
    assert _figure(body, "checks") == 2 and _figure(body, "fines_yuan") == 50000
    drill = (await city.get("L", "drilldown", period="2025", indicator="violations", district="zhongning")).json()
    assert drill["total"] == 2


async def test_figures_include_new_records_at_once(city: City) -> None:
    """Freshness: a write queues its month; the next read recounts it (no job, no delay)."""
    before = (await city.get("L", "summary", period="2025")).json()
    await city.add_inspection("I10", "E5", "campaign", "D2", at("2025-11-02"), ["C"],
                              hazards=[Hazard("H6", "major", dt.date(2025, 11, 5), "C")])
    after = (await city.get("L", "summary", period="2025")).json()
    assert _figure(after, "checks") == _figure(before, "checks") + 1
    assert _figure(after, "enterprises_inspected") == 4 and _figure(after, "coverage_rate") == 75.0
    assert _figure(after, "hazards_overdue") == 2 and _figure(after, "major_listed") == 2  # H3, H6

    # A closure (changes of an old month) is recounted too: H3 reported fixed, rechecked and 摘牌 before its deadline.
    await city.recheck(await city.report_fixed("H3", "C", at("2025-05-18")), True, at("2025-05-19"))
    await city.close("H3", "D2", at("2025-05-19", "11:00"))
    closed = (await city.get("L", "summary", period="2025")).json()
    assert _figure(closed, "major_closed") == 2 and _figure(closed, "hazards_overdue") == 1  # H6
    assert _figure(closed, "hazards_rectified_on_time") == 2  # H1, H3
    # …and moving an enterprise to another district (through the registry) recounts everything.
    async with database.transaction():
        await registry_service.update(await city.actor("ADMIN"), city.enterprises["E1"],
                                      EnterpriseUpdate(district=District.HAIYUAN))
    moved = (await city.get("L", "breakdown", by="district", period="2025")).json()
    assert _row(moved, "haiyuan")["checks"] == 3 and _row(moved, "shapotou")["checks"] == 0  # I1 I2 (E1), I4 (E4)
    assert set(MEASURES) <= {f["key"] for f in closed["figures"]} | {"fines_yuan"}


async def test_dashboard_equals_naive_recount(city: City) -> None:
    for period in ("2025", "2025-Q2"):
        query = stats_query.query_from(period)
        fast = await stats_views.dashboard(LEADER, query, trend_grain=Grain.MONTH)
        slow = await stats_views.dashboard(LEADER, query, trend_grain=Grain.MONTH, backend="base")
        assert fast.summary.figures == slow.summary.figures
        for view in ("trend", "by_district", "by_sector", "by_department", "by_inspector"):
            assert [(r.group, r.figures) for r in getattr(fast, view).rows] == [
                (r.group, r.figures) for r in getattr(slow, view).rows
            ]
        assert next(f.value for f in fast.summary.figures if f.key == "repeat_offenders") == (1 if period == "2025" else 0)  # P1 has one record in Q2


async def test_overdue_means_what_the_hazard_loop_means(city: City) -> None:
    """逾期未整改 counts a fix still owed; a hazard reported as rectified and awaiting recheck is not counted."""

    async def both() -> tuple[float | None, int]:
        figure = _figure((await city.get("L", "summary", period="2025")).json(), "hazards_overdue")
        listed = await city.client.get(
            "/api/v1/hazards", params={"overdue": "true"}, headers=await city.headers("L")
        )
        assert listed.status_code == 200, listed.text
        return figure, len([h for h in listed.json() if h["found_at"].startswith("2025")])

    assert await both() == (1, 1)  # H3, past its deadline while rectifying
    await city.report_fixed("H3", "C", dt.datetime.now(TZ))  # now awaiting its recheck
    assert await both() == (0, 0)


async def test_a_read_never_recounts_and_says_how_fresh_it_is(city: City) -> None:
    """A write is queued; the read answers from the rollups at once with 数据截至 before the write; the refresher catches up."""
    import asyncio

    from server.stats import refresher

    written_at = dt.datetime.now(dt.UTC)
    await city.add_inspection("I9", "E5", "routine", "D2", at("2025-12-01"), ["C"])
    stale = (await city.get("L", "summary", period="2025", settle=False)).json()
    assert _figure(stale, "checks") == HAND["checks"]  # not recounted by the read
    assert stale["freshness"]["pending"] is True
    as_of = dt.datetime.fromisoformat(stale["freshness"]["as_of"])
    assert as_of <= dt.datetime.now(dt.UTC) and as_of >= written_at - dt.timedelta(seconds=5)
    # Another month's read is not held back by the queued December: it is as of now.
    other = (await city.get("L", "summary", period="2024", settle=False)).json()
    assert not other["freshness"].get("pending")

    loop = asyncio.create_task(refresher.run(0.05))
    try:
        for _ in range(200):
            fresh = (await city.get("L", "summary", period="2025", settle=False)).json()
            if not fresh["freshness"].get("pending"):
                break
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
    assert not fresh["freshness"].get("pending") and _figure(fresh, "checks") == HAND["checks"] + 1
    assert fresh["freshness"]["as_of_label"].startswith(dt.datetime.now(dt.UTC).astimezone(TZ).strftime("%Y-%m-%d"))


async def test_repeat_offenders_follow_a_recount_with_and_without_new_records(city: City) -> None:
    """A month recounted for checks alone keeps its repeat-offender cubes; a new 三违 record recounts them."""
    from tests.server.stats.conftest import add_violation

    async def repeat(period: str, backend: str = "rollup") -> float | None:
        await stats_rollup.refresh()
        view = await stats_views.dashboard(LEADER, stats_query.query_from(period), backend=backend)  # type: ignore[arg-type]
        return next(f.value for f in view.summary.figures if f.key == "repeat_offenders")

    await city.add_inspection("I9", "E3", "routine", "D2", at("2025-05-20"), ["C"])  # May recounted, no new records
    assert [await repeat("2025"), await repeat("2025-Q2")] == [1, 0]
    # P2's second, in May: recorded on a check still open (a signed check takes no new 三违)
    await city.add_inspection("I10", "E3", "routine", "D2", at("2025-05-21"), ["C"], "in_progress")
    await add_violation(city, "I10", "P2", "labor_discipline", at("2025-05-21"), "C")
    assert [await repeat("2025"), await repeat("2025-Q2"), await repeat("2025-05")] == [2, 1, 1]
    for period in ("2025", "2025-Q2", "2025-05"):
        assert await repeat(period) == await repeat(period, "base")
