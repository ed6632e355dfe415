"""A small city whose every figure was counted by hand (see ``HAND`` in test_indicators.py).

Two departments, three inspectors, five enterprises (one closed, one never
inspected), checks in 2024–2025 (one in progress, one on the Beijing-midnight
edge of 1 April), hazards round the whole loop, 三违 with a person caught at two
enterprises, actions that did and did not take effect, rechecks, and two
spot-check campaigns (one covert). The people, departments and enterprises come
from the shared helpers of tests/conftest.py; the checklist and every record of
the work (checks, answers, hazards, rechecks, 三违, actions, campaigns, draws,
releases) go through the services the sync push and the console call, each
given the moment it happened (``now=``), as ``server.demo.history`` does.
The draws are determined: each samples its whole pool and has one inspector to
choose from, on one day (see ``build_city``).

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

from schemas.checklists import ChecklistItemInput, ChecklistTemplateCreate
from schemas.enforcement import EnforcementDecision, EnforcementProposal, LegalReview, TransferRecord
from schemas.hazards import FiveInPlace, HazardCreate, RecheckResult, RectificationReport
from schemas.identifiers import id_number_check_char
from schemas.inspections import (
    InspectionCancel, InspectionCreate, InspectionReview, RecordItemResult, StartInspection, SubmitInspection,
)
from schemas.spotchecks import CampaignCreate, CampaignRules, DrawRequest, TargetFilter
from schemas.violations import ViolationCreate
from schemas.vocab import (
    District, EnforcementKind, HazardLevel, InspectionKind, OperatingStatus, Role, Sector, ViolationType,
)
from server import database
from server.accounts import service as accounts_service
from server.accounts.tables import User
from server.checklists import service as checklists_service
from server.enforcement import service as enforcement_service
from server.evidence import service as evidence_service  # noqa: F401 - registers the signing's evidence guard
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import recheck_results as hazard_recheck_results
from server.hazards.tables import Recheck, RecheckAssignee
from server.inspections import assignment as inspection_assignment
from server.inspections import item_results as inspection_item_results
from server.inspections import lifecycle as inspection_lifecycle
from server.context import Context, FixedClock
from server.settings import Settings
from server.spotchecks import campaigns as spotcheck_campaigns
from server.spotchecks import draws as spotcheck_draws
from server.spotchecks import release as spotcheck_release
from server.spotchecks.tables import SpotCheckTask
from server.stats import rollup as stats_rollup
from server.violations import service as violations_service
from tests.conftest import app_of, login, make_department, make_enterprise, make_user, username_of
from tests.server.registry.conftest import sqlite_client  # noqa: F401 (fixture)

BJ = dt.timezone(dt.timedelta(hours=8))


def at(day: str, time: str = "10:00") -> dt.datetime:
    """A Beijing wall-clock time."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=BJ)


def _id_number(person: str) -> str:
    """A valid 居民身份证号 per person (P1, P2, …): the same person, the same number."""
    first17 = f"64050219800101{int(person[1:]):03d}"
    return first17 + id_number_check_char(first17)


def _five_in_place(deadline: dt.date) -> FiveInPlace:
    return FiveInPlace(
        responsible_person="企业主要负责人", measures="停用相关设施，制定整改方案", funds_yuan=50000,
        deadline_date=deadline, contingency_plan="落实现场监护和应急处置措施",
    )


@dataclass
class Hazard:
    """A hazard to record during a check: name, level, deadline, and who records it (a team member)."""

    name: str
    level: str
    deadline: dt.date
    by: str


@dataclass
class City:
    client: httpx.AsyncClient
    settings: Settings
    departments: dict[str, uuid.UUID]
    users: dict[str, uuid.UUID]
    enterprises: dict[str, uuid.UUID]
    inspections: dict[str, uuid.UUID]
    hazards: dict[str, uuid.UUID]
    items: list[uuid.UUID]
    template_id: uuid.UUID
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def context(self) -> Context:
        return Context(self.settings)

    def at_time(self, moment: dt.datetime) -> Context:
        """The city's settings with a clock stopped at ``moment`` (a job or a phone acting then)."""
        return Context(self.settings, FixedClock(moment))

    async def headers(self, who: str) -> dict[str, str]:
        if who not in self._headers:
            self._headers[who] = await login(self.client, await username_of(self.users[who]))
        return self._headers[who]

    async def get(self, who: str, path: str, *, settle: bool = True, **params: Any) -> httpx.Response:
        """A statistics read; ``settle`` first runs the refresher's round, as the server does within seconds."""
        if settle:
            await stats_rollup.refresh()
        clean = {k: str(v) for k, v in params.items() if v is not None}
        return await self.client.get(f"/api/v1/stats/{path}", params=clean, headers=await self.headers(who))

    async def actor(self, who: str) -> Any:
        row = await User.select().where(User.id == self.users[who]).first()
        return accounts_service.actor_of(row)

    async def supervisor_of(self, department: str) -> Any:
        return await self.actor({"D1": "S1", "D2": "S2"}[department])

    async def add_inspection(
        self, name: str, enterprise: str, kind: str, department: str, when: dt.datetime | None, team: list[str],
        status: str = "submitted", *, outcomes: list[str] | None = None, hazards: list[Hazard] = (),
        violations: list[tuple[str, str, str]] = (), checklist: bool = True,
    ) -> uuid.UUID:
        """A check as the office assigns it and the team's phone pushes it: start, answers, hazards, signature.

        ``status``: ``in_progress`` (not signed), ``submitted`` or ``reviewed`` (approved by the supervisor).
        Items not named in ``outcomes`` are answered 不适用 (a check is signed only with every item answered);
        ``checklist=False``: a check without a checklist (nothing to answer).
        """
        supervisor = await self.supervisor_of(department)
        row_id = uuid.uuid4()
        async with database.transaction():
            await inspection_assignment.create(supervisor, InspectionCreate(
                id=row_id, enterprise_id=self.enterprises[enterprise], kind=InspectionKind(kind),
                inspector_ids=[self.users[m] for m in team], template_id=self.template_id if checklist else None,
            ))
        self.inspections[name] = row_id
        await self.carry_out(name, team[0], when or dt.datetime.now(BJ), status, outcomes=outcomes, hazards=hazards,
                             violations=violations, answer=checklist)
        return row_id

    async def carry_out(
        self, name: str, lead: str, when: dt.datetime, status: str = "submitted", *,
        outcomes: list[str] | None = None, hazards: list[Hazard] = (), violations: list[tuple[str, str, str]] = (),
        answer: bool = True,
    ) -> None:
        """The team does the check ``name`` at ``when``: its start, every answer, hazards, 三违 (person, type, recorder),
        then signing."""
        inspection_id = self.inspections[name]
        actor = await self.actor(lead)
        answers = list(outcomes or []) + ["not_applicable"] * (len(self.items) - len(outcomes or []))
        async with database.transaction():
            await inspection_lifecycle.apply_start_inspection(
                self.context, actor, StartInspection(seq=1, inspection_id=inspection_id, started_at=when)
            )
            results = await inspection_item_results.apply_record_item_results(self.context, actor, [
                RecordItemResult(seq=2 + n, id=uuid.uuid4(), inspection_id=inspection_id, item_id=item, outcome=outcome,
                                 recorded_at=when)
                for n, (item, outcome) in enumerate(zip(self.items, answers, strict=True))
            ]) if answer else []
            assert not [r for r in results if isinstance(r, Exception)], results
        for hazard in hazards:
            await self.add_hazard(hazard, name, when)
        for person, vtype, by in violations:
            await add_violation(self, name, person, vtype, when, by)
        if status == "in_progress":
            return
        async with database.transaction():
            await inspection_lifecycle.submit(actor, inspection_id, SubmitInspection(
                seq=100, inspection_id=inspection_id, signed_by_name="企业负责人", submitted_at=when,
            ))
        if status == "reviewed":
            department = {v: k for k, v in self.departments.items()}
            facts = await inspection_records_department(inspection_id)
            async with database.transaction():
                await inspection_lifecycle.review(
                    self.context, await self.supervisor_of(department[facts]), inspection_id,
                    InspectionReview(decision="approve"),
                )

    async def add_hazard(self, hazard: Hazard, inspection: str, found: dt.datetime) -> uuid.UUID:
        major = hazard.level == "major"
        async with database.transaction():
            created = await hazard_lifecycle.create_hazard(await self.actor(hazard.by), HazardCreate(
                id=uuid.uuid4(), inspection_id=self.inspections[inspection], level=HazardLevel(hazard.level),
                description=f"隐患{hazard.name}", deadline_date=hazard.deadline, found_at=found,
                five_in_place=_five_in_place(hazard.deadline) if major else None,
                checklist_item_id=self.items[1] if major else None,  # the major-hazard criterion
            ), self.settings, now=found)
        self.hazards[hazard.name] = created.id
        return created.id

    async def report_fixed(self, hazard: str, by: str, when: dt.datetime) -> uuid.UUID:
        """The enterprise reports the fix (through a team member); the service creates the 回头看 recheck."""
        async with database.transaction():
            await hazard_lifecycle.report_rectification(
                await self.actor(by), self.hazards[hazard], RectificationReport(note="企业报告已整改", reported_at=when),
                self.settings, now=when,
            )
        recheck = await Recheck.select(Recheck.id).where(
            (Recheck.hazard == self.hazards[hazard]) & (Recheck.status == "pending")
        ).first()
        return recheck["id"]

    async def recheck(self, recheck_id: uuid.UUID, passed: bool, when: dt.datetime,
                      new_deadline: dt.date | None = None) -> str:
        """The first inspector the service assigned records the result; returns who it was."""
        assigned = {r["user"] for r in await RecheckAssignee.select(RecheckAssignee.user).where(
            RecheckAssignee.recheck == recheck_id
        )}
        who = next(k for k in ("A", "B", "C") if self.users[k] in assigned)
        async with database.transaction():
            await hazard_recheck_results.record_recheck(await self.actor(who), recheck_id, RecheckResult(
                passed=passed, note="复查合格" if passed else "复查不合格", checked_at=when,
                new_deadline_date=new_deadline,
            ), self.settings, now=when)
        return who

    async def close(self, hazard: str, department: str, when: dt.datetime) -> None:
        """摘牌 of a major hazard after its passed recheck, by the department's supervisor."""
        async with database.transaction():
            await hazard_lifecycle.close_hazard(await self.supervisor_of(department), self.hazards[hazard],
                                                self.settings, now=when)


async def inspection_records_department(inspection_id: uuid.UUID) -> uuid.UUID:
    from server.inspections import access

    return (await access.load(inspection_id)).row["department"]


async def add_violation(city: City, inspection: str, person: str, vtype: str, when: dt.datetime, by: str) -> None:
    async with database.transaction():
        await violations_service.record_violation(await city.actor(by), ViolationCreate(
            id=uuid.uuid4(), inspection_id=city.inspections[inspection], person_name=f"人员{person}",
            id_number=_id_number(person), violation_type=ViolationType(vtype), description="未按规定佩戴劳动防护用品", recorded_at=when,
        ), city.settings, now=when)


async def propose(
    city: City, kind: str, inspection: str, *, by: str, when: dt.datetime, amount: int | None = None,
) -> uuid.UUID:
    async with database.transaction():
        action = await enforcement_service.propose(await city.actor(by), EnforcementProposal(
            id=uuid.uuid4(), kind=EnforcementKind(kind), reason="存在事故隐患，依法处理",
            inspection_id=city.inspections[inspection], amount_yuan=amount,
            legal_basis="《中华人民共和国安全生产法》第一百零二条",
        ), city.settings, now=when)
    return action.id


async def decide(city: City, action_id: uuid.UUID, department: str, when: dt.datetime) -> None:
    async with database.transaction():
        await enforcement_service.decide(await city.supervisor_of(department), action_id,
                                         EnforcementDecision(approve=True), city.settings, now=when)


async def add_campaign(
    city: City, department: str, *, covert: bool, day: dt.date, drawn_at: dt.datetime, sectors: list[Sector],
    districts: list[District], sample: int,
) -> list[dict[str, Any]]:
    """A campaign of ``department`` drawn through the services: the whole pool (``sample`` is its size), on ``day``,
    teams of one from 危险化学品安全监督管理科 (C is its only inspector), so the draw's result is determined.
    Returns its tasks, ordered by enterprise name."""
    supervisor = await city.supervisor_of(department)
    drawn = Context(city.settings, FixedClock(drawn_at))
    async with database.transaction():
        campaign = await spotcheck_campaigns.create_campaign(drawn, supervisor, CampaignCreate(
            name="2025年暗查暗访" if covert else "2025年“双随机”抽查", period_start=day, period_end=day,
            covert=covert, enforcement=False,
            rules=CampaignRules(
                filters=TargetFilter(sectors=sectors, districts=districts), sample_size=sample, team_size=1,
                inspector_department_ids=[city.departments["D2"]], weekdays=[1, 2, 3, 4, 5, 6, 7],
                release_time="00:00",
            ),
        ))
        draw = await spotcheck_draws.commit_draw(drawn, supervisor, campaign.id, DrawRequest())
    async with database.transaction():  # revealed once the commitment is in the audit chain
        await spotcheck_draws.reveal_draw(drawn, supervisor, draw.id)
    tasks = await SpotCheckTask.select().where(SpotCheckTask.campaign == campaign.id).output(load_json=True)
    names = {v: k for k, v in city.enterprises.items()}
    assert len(tasks) == sample, tasks  # the whole pool
    assert all(t["team"] == [str(city.users["C"])] and t["planned_date"] == day for t in tasks), tasks
    return sorted(tasks, key=lambda t: names[t["enterprise"]])


async def build_city(client: httpx.AsyncClient) -> City:
    d1 = await make_department("zfzd", "执法支队")
    d2 = await make_department("whpk", "危险化学品安全监督管理科")
    shapotou, zhongning = [District.SHAPOTOU], [District.ZHONGNING]
    users = {
        "A": await make_user(Role.INSPECTOR, department_id=d1, districts=shapotou),
        "B": await make_user(Role.INSPECTOR, department_id=d1, districts=shapotou),
        "C": await make_user(Role.INSPECTOR, department_id=d2, districts=zhongning),
        "S1": await make_user(Role.SUPERVISOR, department_id=d1),
        "S2": await make_user(Role.SUPERVISOR, department_id=d2),
        "LR": await make_user(Role.LEGAL_REVIEWER),
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
    admin = accounts_service.actor_of(await User.select().where(User.id == users["ADMIN"]).first())
    async with database.transaction():
        template = await checklists_service.create(admin, ChecklistTemplateCreate(
            code="stats-t", sector=Sector.HAZARDOUS_CHEMICALS, title="检查表", items=[
                ChecklistItemInput(code="1", text="安全警示标志"), ChecklistItemInput(
                    code="2", text="特种作业人员未持证上岗", is_major_criterion=True
                ),
            ],
        ))
    city = City(client, app_of(client).state.settings, {"D1": d1, "D2": d2}, users, enterprises, {}, {},
                [i.id for i in template.items], template.id)
    today = dt.datetime.now(BJ).date()

    # 2024: one routine check of E2 by B, its hazard fixed and rechecked (by A, the one of E2's district not on the team).
    await city.add_inspection("I6", "E2", "routine", "D1", at("2024-03-20"), ["B"],
                              hazards=[Hazard("H5", "general", dt.date(2024, 4, 1), "B")])
    await city.recheck(await city.report_fixed("H5", "B", at("2024-03-24")), True, at("2024-03-25"))

    # I1: routine, E1, A and B; an item failed; H1 fixed on time, H2 (major) fixed after its deadline.
    await city.add_inspection("I1", "E1", "routine", "D1", at("2025-03-10"), ["A", "B"], outcomes=["pass", "fail"],
                              hazards=[Hazard("H1", "general", dt.date(2025, 3, 20), "A"),
                                       Hazard("H2", "major", dt.date(2025, 4, 10), "B")],
                              violations=[("P1", "illegal_operation", "A")])
    fine = await propose(city, "fine", "I1", by="A", when=at("2025-03-10"), amount=50000)
    await decide(city, fine, "D1", at("2025-03-11"))
    await city.recheck(await city.report_fixed("H1", "A", at("2025-03-17")), True, at("2025-03-18"))
    await city.recheck(await city.report_fixed("H2", "B", at("2025-04-11")), False, at("2025-04-12"),
                       new_deadline=dt.date(2025, 4, 18))
    await city.recheck(await city.report_fixed("H2", "B", at("2025-04-19")), True, at("2025-04-20"))
    await city.close("H2", "D1", at("2025-04-20", "11:00"))

    # The covert campaign of D1: drawn on 25 March, its targets E1, E2, E5 (危化 and 工贸) released at 00:00 on 1 April
    # to C. E1's check (I2) is signed at 00:30 (31 March in UTC); E2's is still open; E5's is called off.
    covert = await city_covert(city)
    city.inspections["I2"] = covert["E1"]["inspection"]
    await city.carry_out("I2", "C", at("2025-04-01", "00:30"))
    async with database.transaction():
        await inspection_lifecycle.cancel(await city.supervisor_of("D1"), covert["E5"]["inspection"],
                                          InspectionCancel(reason="企业已停产，暗访取消"))

    # I3: enforcement check of E3 by C with A (two 执法证 holders); a major hazard past its deadline, a general one not yet.
    await city.add_inspection("I3", "E3", "enforcement", "D2", at("2025-05-05"), ["C", "A"],
                              outcomes=["not_applicable", "fail"],
                              hazards=[Hazard("H3", "major", dt.date(2025, 5, 20), "C"),
                                       Hazard("H4", "general", today + dt.timedelta(days=30), "C")],
                              violations=[("P1", "illegal_command", "C"), ("P2", "labor_discipline", "C")])
    suspension = await propose(city, "suspension", "I3", by="C", when=at("2025-05-05"))
    await decide(city, suspension, "D2", at("2025-05-06", "09:00"))
    async with database.transaction():  # 停产停业整顿 always waits for 法制审核
        await enforcement_service.review(await city.actor("LR"), suspension, LegalReview(approve=True, opinion="同意"),
                                         city.settings, now=at("2025-05-06"))
    await propose(city, "fine", "I3", by="C", when=at("2025-05-05"), amount=20000)  # proposed, never decided
    transfer = await propose(city, "judicial_transfer", "I3", by="C", when=at("2025-05-05"))
    await decide(city, transfer, "D2", at("2025-05-10"))
    async with database.transaction():
        await enforcement_service.record_transfer(await city.supervisor_of("D2"), transfer,
                                                  TransferRecord(receiving_agency="中宁县公安局"), now=at("2025-05-10", "15:00"))

    # I4: routine check of the closed quarry E4 by A. I5: E2, B, still in progress (two items failed, not signed).
    await city.add_inspection("I4", "E4", "routine", "D1", at("2025-06-01"), ["A"])
    await city.add_inspection("I5", "E2", "routine", "D1", at("2025-08-01"), ["B"], status="in_progress",
                              outcomes=["fail", "fail"])
    await add_violation(city, "I5", "P3", "illegal_operation", at("2025-08-01"), "B")
    # I7: a recheck-kind check of E3 by C, approved by S2.
    await city.add_inspection("I7", "E3", "recheck", "D2", at("2025-07-01"), ["C"], status="reviewed")

    # The announced campaign of D2: E3 (the only 冶金 enterprise), drawn on 25 August for 1 September, done then (I8).
    announced = await add_campaign(city, "D2", covert=False, day=dt.date(2025, 9, 1), drawn_at=at("2025-08-25", "09:00"),
                                   sectors=[Sector.METALLURGY], districts=[], sample=1)
    city.inspections["I8"] = announced[0]["inspection"]
    await city.carry_out("I8", "C", at("2025-09-01"), answer=False)  # no checklist for 冶金 in this city
    return city


async def city_covert(city: City) -> dict[str, dict[str, Any]]:
    tasks = await add_campaign(
        city, "D1", covert=True, day=dt.date(2025, 4, 1), drawn_at=at("2025-03-25", "09:00"),
        sectors=[Sector.HAZARDOUS_CHEMICALS, Sector.INDUSTRY_TRADE], districts=[], sample=3,
    )
    names = {v: k for k, v in city.enterprises.items()}
    assert {names[t["enterprise"]] for t in tasks} == {"E1", "E2", "E5"}
    # the release job, at release time
    assert await spotcheck_release.release_due_tasks(city.at_time(at("2025-04-01", "00:00"))) == 3
    released = await SpotCheckTask.select().where(SpotCheckTask.id.is_in([t["id"] for t in tasks]))
    return {names[t["enterprise"]]: t for t in released}


@pytest.fixture(params=["postgresql", "sqlite"])
def engine_client(request: pytest.FixtureRequest, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An HTTP client on an empty database: the session's PostgreSQL one, or a fresh embedded SQLite one."""
    if request.param == "postgresql":
        return client
    return request.getfixturevalue("sqlite_client")


@pytest.fixture
async def city(engine_client: httpx.AsyncClient) -> City:
    built = await build_city(engine_client)
    await stats_rollup.refresh()
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

    await stats_rollup.refresh()  # what the background refresher does within seconds

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
