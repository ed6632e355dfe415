"""A small city whose every figure was counted by hand (see ``HAND`` in test_indicators.py).

Two departments, three inspectors, five enterprises (one closed, one never
inspected), seven inspections in 2024–2025 (one in progress, one on the
Beijing-midnight edge of 1 April), hazards in every state, 三违 with a person
caught at two enterprises, actions that did and did not take effect,
rechecks, and two spot-check plans (one covert). Rows are written straight
into the domain tables, exactly as the sync push and the services store them.

Every test that takes ``city`` runs twice: on PostgreSQL and on the embedded
SQLite default, with the same hand counts.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from schemas.vocab import District, OperatingStatus, Role, Sector
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.enforcement.tables import EnforcementAction
from server.hazards.tables import Hazard, Recheck
from server.inspections.tables import Inspection, InspectionInspector, ItemResult
from server.spotchecks.tables import Campaign, Draw, SpotCheckTask
from server.violations.tables import ViolationRecord
from server.stats import service as stats_service
from tests.conftest import login, make_department, make_enterprise, make_user, username_of
from tests.server.registry.conftest import sqlite_client  # noqa: F401 (fixture)

BJ = dt.timezone(dt.timedelta(hours=8))


def at(day: str, time: str = "10:00") -> dt.datetime:
    """A Beijing wall-clock time."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=BJ)


@dataclass
class City:
    client: httpx.AsyncClient
    departments: dict[str, uuid.UUID]
    users: dict[str, uuid.UUID]
    enterprises: dict[str, uuid.UUID]
    inspections: dict[str, uuid.UUID]
    hazards: dict[str, uuid.UUID]
    items: list[uuid.UUID]
    template_id: uuid.UUID
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def headers(self, who: str) -> dict[str, str]:
        if who not in self._headers:
            self._headers[who] = await login(self.client, await username_of(self.users[who]))
        return self._headers[who]

    async def get(self, who: str, path: str, *, settle: bool = True, **params: Any) -> httpx.Response:
        """A statistics read; ``settle`` first runs the refresher's round, as the server does within seconds."""
        if settle:
            await stats_service.refresh()
        clean = {k: str(v) for k, v in params.items() if v is not None}
        return await self.client.get(f"/api/v1/stats/{path}", params=clean, headers=await self.headers(who))

    async def add_inspection(
        self, name: str, enterprise: str, kind: str, department: str, when: dt.datetime | None, team: list[str],
        status: str = "submitted",
    ) -> uuid.UUID:
        row_id = uuid.uuid4()
        now = dt.datetime.now(dt.UTC)
        await Inspection.insert(
            Inspection(
                id=row_id, kind=kind, status=status, enterprise=self.enterprises[enterprise],
                template=self.template_id, department=self.departments[department], submitted_at=when,
                started_at=when, created_at=now, updated_at=now,
            )
        )
        for index, member in enumerate(team):
            await InspectionInspector.insert(
                InspectionInspector(
                    id=uuid.uuid4(), inspection=row_id, user=self.users[member], is_lead=index == 0, assigned_at=now
                )
            )
        self.inspections[name] = row_id
        return row_id

    async def add_items(self, inspection: str, outcomes: list[str]) -> None:
        now = dt.datetime.now(dt.UTC)
        for item, outcome in zip(self.items, outcomes, strict=False):
            await ItemResult.insert(
                ItemResult(
                    id=uuid.uuid4(), inspection=self.inspections[inspection], item=item, outcome=outcome, updated_at=now
                )
            )

    async def add_hazard(
        self, name: str, inspection: str, enterprise: str, level: str, found: dt.datetime, deadline: dt.date,
        *, status: str = "rectifying", closed: dt.datetime | None = None, listed: bool = False, by: str = "A",
    ) -> uuid.UUID:
        row_id = uuid.uuid4()
        await Hazard.insert(
            Hazard(
                id=row_id, inspection=self.inspections[inspection], enterprise=self.enterprises[enterprise],
                level=level, status=status, description=f"隐患{name}", deadline_date=deadline, found_at=found,
                found_by=self.users[by], listed_supervision=listed, closed_at=closed,
                rectification_evidence_ids=[], created_at=found, updated_at=found,
            )
        )
        self.hazards[name] = row_id
        return row_id


async def add_violation(
    city: City, enterprise: str, inspection: str | None, person: str, vtype: str, when: dt.datetime, by: str
) -> None:
    await ViolationRecord.insert(
        ViolationRecord(
            id=uuid.uuid4(), inspection=city.inspections[inspection] if inspection else None,
            enterprise=city.enterprises[enterprise], person_name=f"人员{person}", id_number_hash=f"hash-{person}",
            id_number_masked="640502********123X", id_number_protected="sealed", violation_type=vtype,
            description="未按规定佩戴劳动防护用品", recorded_by=city.users[by], recorded_at=when,
            created_at=when, updated_at=when,
        )
    )


async def add_action(
    city: City, kind: str, enterprise: str, inspection: str | None, status: str, *, by: str,
    effective: dt.datetime | None = None, decided: dt.datetime | None = None, amount: int | None = None,
) -> None:
    when = effective or decided or dt.datetime.now(dt.UTC)
    await EnforcementAction.insert(
        EnforcementAction(
            id=uuid.uuid4(), kind=kind, status=status, enterprise=city.enterprises[enterprise],
            inspection=city.inspections[inspection] if inspection else None, amount_yuan=amount,
            proposed_by=city.users[by], proposed_at=when, decided_at=decided, effective_at=effective, updated_at=when,
        )
    )


async def add_recheck(city: City, hazard: str, enterprise: str, status: str, when: dt.datetime | None, by: str) -> None:
    await Recheck.insert(
        Recheck(
            id=uuid.uuid4(), hazard=city.hazards[hazard], enterprise=city.enterprises[enterprise],
            reason="rectification_reported", status=status, due_date=dt.date(2025, 12, 31),
            passed={"passed": True, "failed": False}.get(status), result_by=city.users[by] if when else None,
            result_at=when, evidence_ids=[], created_at=when or dt.datetime.now(dt.UTC),
        )
    )


async def add_campaign(city: City, department: str, covert: bool, tasks: list[tuple[str, dt.date, str]]) -> None:
    now = dt.datetime.now(dt.UTC)
    campaign_id, draw_id = uuid.uuid4(), uuid.uuid4()
    await Campaign.insert(
        Campaign(
            id=campaign_id, name="2025年危化品暗访抽查" if covert else "2025年双随机抽查", covert=covert,
            period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31),
            department=city.departments[department], status="drawn", created_at=now,
        )
    )
    await Draw.insert(
        Draw(
            id=draw_id, campaign=campaign_id, attempt=1, algorithm_version="fc-draw-v1", seed_hex="00",
            seed_hash="00", pool_snapshot=[], pool_hash="00", result=[], result_hash="00", drawn_at=now,
        )
    )
    for enterprise, planned, status in tasks:
        await SpotCheckTask.insert(
            SpotCheckTask(
                id=uuid.uuid4(), campaign=campaign_id, draw=draw_id, enterprise=city.enterprises[enterprise],
                district=District.SHAPOTOU, team=[], planned_date=planned,
                release_at=dt.datetime.combine(planned, dt.time(), BJ), status=status,
                # As the release job leaves a task it released (an announced one is released when drawn).
                released_at=dt.datetime.combine(planned, dt.time(), BJ) if status in ("released", "done") else None,
            )
        )


async def build_city(client: httpx.AsyncClient) -> City:
    d1 = await make_department("zfzd", "执法支队")
    d2 = await make_department("whpk", "危险化学品安全监督管理科")
    users = {
        "A": await make_user(Role.INSPECTOR, department_id=d1),
        "B": await make_user(Role.INSPECTOR, department_id=d1),
        "C": await make_user(Role.INSPECTOR, department_id=d2),
        "S1": await make_user(Role.SUPERVISOR, department_id=d1),
        "L": await make_user(Role.LEADER),
        "ADMIN": await make_user(Role.ADMIN),
    }
    enterprises = {
        "E1": await make_enterprise(name="中卫市美利化工有限公司", district=District.SHAPOTOU, sector=Sector.HAZARDOUS_CHEMICALS),
        "E2": await make_enterprise(name="中卫市沙坡头商贸有限公司", district=District.SHAPOTOU, sector=Sector.INDUSTRY_TRADE),
        "E3": await make_enterprise(name="中宁县宁钢冶金有限公司", district=District.ZHONGNING, sector=Sector.METALLURGY),
        "E4": await make_enterprise(
            name="海原县石料矿", district=District.HAIYUAN, sector=Sector.MINING, operating_status=OperatingStatus.CLOSED
        ),
        "E5": await make_enterprise(name="中宁县枸杞加工厂", district=District.ZHONGNING, sector=Sector.INDUSTRY_TRADE),
    }
    template_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    await ChecklistTemplate.insert(
        ChecklistTemplate(id=template_id, code="stats-t", version=1, sector=Sector.HAZARDOUS_CHEMICALS, title="检查表", created_at=now)
    )
    items = [uuid.uuid4(), uuid.uuid4()]
    await ChecklistItem.insert(
        ChecklistItem(id=items[0], template=template_id, position=0, code="1", text="安全警示标志"),
        ChecklistItem(id=items[1], template=template_id, position=1, code="2", text="特种作业人员持证上岗"),
    )
    city = City(client, {"D1": d1, "D2": d2}, users, enterprises, {}, {}, items, template_id)

    await city.add_inspection("I1", "E1", "routine", "D1", at("2025-03-10"), ["A", "B"])
    await city.add_inspection("I2", "E1", "covert", "D1", at("2025-04-01", "00:30"), ["A"])  # 31 March in UTC
    await city.add_inspection("I3", "E3", "enforcement", "D2", at("2025-05-05"), ["C"])
    await city.add_inspection("I4", "E4", "spot_check", "D1", at("2025-06-01"), ["A"])
    await city.add_inspection("I5", "E2", "routine", "D1", None, ["B"], status="in_progress")
    await city.add_inspection("I6", "E2", "routine", "D1", at("2024-03-20"), ["B"])
    await city.add_inspection("I7", "E3", "recheck", "D2", at("2025-07-01"), ["C"], status="reviewed")
    await city.add_items("I1", ["pass", "fail"])
    await city.add_items("I3", ["fail", "not_applicable"])
    await city.add_items("I5", ["fail", "fail"])

    today = dt.datetime.now(BJ).date()
    await city.add_hazard("H1", "I1", "E1", "general", at("2025-03-10"), dt.date(2025, 3, 20),
                          status="closed", closed=at("2025-03-18"), by="A")
    await city.add_hazard("H2", "I1", "E1", "major", at("2025-03-10"), dt.date(2025, 4, 10),
                          status="closed", closed=at("2025-04-20"), listed=True, by="B")
    await city.add_hazard("H3", "I3", "E3", "major", at("2025-05-05"), dt.date(2025, 5, 20), listed=True, by="C")
    await city.add_hazard("H4", "I3", "E3", "general", at("2025-05-05"), today + dt.timedelta(days=30), by="C")
    await city.add_hazard("H5", "I6", "E2", "general", at("2024-03-20"), dt.date(2024, 4, 1),
                          status="closed", closed=at("2024-03-25"), by="B")

    await add_violation(city, "E1", "I1", "P1", "illegal_operation", at("2025-03-10"), "A")
    await add_violation(city, "E3", "I3", "P1", "illegal_command", at("2025-05-05"), "C")
    await add_violation(city, "E3", "I3", "P2", "labor_discipline", at("2025-05-05"), "C")
    await add_violation(city, "E2", None, "P3", "illegal_operation", at("2025-08-01"), "A")

    await add_action(city, "fine", "E1", "I1", "in_effect", by="A", effective=at("2025-03-12"), decided=at("2025-03-11"), amount=50000)
    await add_action(city, "suspension", "E3", "I3", "in_effect", by="C", effective=at("2025-05-06"), decided=at("2025-05-06"))
    await add_action(city, "fine", "E3", "I3", "proposed", by="C", amount=20000)
    await add_action(city, "judicial_transfer", "E3", "I3", "transferred", by="C", decided=at("2025-05-10"))

    await add_recheck(city, "H1", "E1", "passed", at("2025-03-18"), "A")
    await add_recheck(city, "H2", "E1", "failed", at("2025-04-12"), "B")
    await add_recheck(city, "H2", "E1", "passed", at("2025-04-20"), "B")
    await add_recheck(city, "H3", "E3", "pending", None, "C")

    await add_campaign(city, "D1", True, [("E1", dt.date(2025, 6, 1), "done"), ("E2", dt.date(2025, 6, 2), "released"),
                                          ("E3", dt.date(2025, 6, 3), "cancelled")])
    await add_campaign(city, "D2", False, [("E3", dt.date(2025, 9, 1), "done")])
    return city


@pytest.fixture(params=["postgresql", "sqlite"])
def engine_client(request: pytest.FixtureRequest, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An HTTP client on an empty database: the session's PostgreSQL one, or a fresh embedded SQLite one."""
    if request.param == "postgresql":
        return client
    return request.getfixturevalue("sqlite_client")


@pytest.fixture
async def city(engine_client: httpx.AsyncClient) -> City:
    built = await build_city(engine_client)
    await stats_service.refresh()
    return built


def comparable(value: Any) -> Any:
    """A statistics body without the moments it was generated at and is fresh to (all that moves between two reads)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in ("generated_at", "freshness")}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def _xlsx_text(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return b"".join(book.read(n) for n in sorted(book.namelist()) if n.startswith(("xl/worksheets/", "xl/sharedStrings")))


async def every_statistic(client: httpx.AsyncClient, headers: dict[str, str], period: str) -> dict[str, Any]:
    """Every statistics read a caller can make of ``period``: views, splits, every drill-down and export.

    Values are comparable between two reads (JSON without ``generated_at``; export rows as text).
    """
    from server.stats.definitions import INDICATORS, Dim

    await stats_service.refresh()  # what the background refresher does within seconds

    async def read(path: str, **params: Any) -> httpx.Response:
        response = await client.get(f"/api/v1/stats/{path}", params={"period": period, **params}, headers=headers)
        assert response.status_code == 200, (path, params, response.text)
        return response

    out: dict[str, Any] = {}
    for path in ("summary", "dashboard"):
        out[path] = comparable((await read(path)).json())
    groups: dict[Dim, list[str]] = {}
    for dim in Dim:
        body = (await read("breakdown", by=str(dim))).json()
        out[f"breakdown/{dim}"] = comparable(body)
        groups[dim] = [r["group"] for r in body["rows"]]
    for key, indicator in INDICATORS.items():
        out[f"drilldown/{key}"] = comparable((await read("drilldown", indicator=key, page_size=500)).json())
        if not key.startswith("spot_"):
            continue
        for dim in indicator.dims:
            for group in groups[dim]:
                name = f"drilldown/{key}/{dim}/{group}"
                out[name] = comparable((await read("drilldown", indicator=key, by=str(dim), group=group)).json())
        for fmt in ("csv", "xlsx"):
            content = (await read("export", view="drilldown", indicator=key, format=fmt)).content
            out[f"export/{key}.{fmt}"] = _xlsx_text(content) if fmt == "xlsx" else content
    for view in ("summary", "breakdown"):
        for fmt in ("csv", "xlsx"):
            content = (await read("export", view=view, format=fmt, by="district")).content
            out[f"export/{view}.{fmt}"] = _xlsx_text(content) if fmt == "xlsx" else content
    return out
