"""Two years of the demo city's work, written through the services as the phones and the office would.

Each check is one unit of work, as one sync push is: supervisor1 plans it, the
team starts it, answers every item, records hazards and 三违 with the time the
phone saw them, signs and submits; supervisor1 approves it. Hazards then go
round the loop (the enterprise reports the fix, the recheck team passes or
fails it), some checks lead to a proposed action that supervisor2 decides.
Every service is given the moment the thing happened (``now=``), so a record
carries the date it would carry had it been entered then. Busy months follow
``server.stats.generate.MONTH_WEIGHT`` (the Spring Festival lull, 安全生产月 in June).
Deterministic: the same seed gives the same city; a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from schemas.enforcement import EnforcementDecision, EnforcementProposal
from schemas.hazards import FiveInPlace, HazardCreate, RecheckResult, RectificationReport
from schemas.identifiers import id_number_check_char
from schemas.inspections import InspectionCreate, InspectionReview, RecordItemResult, StartInspection, SubmitInspection
from schemas.spotchecks import CampaignCreate, CampaignRules, DrawRequest
from schemas.violations import ViolationCreate
from schemas.vocab import EnforcementKind, InspectionKind, ViolationType
from server import database, localtime
from server.accounts import service as accounts_service
from server.accounts.tables import User
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.context import Context, FixedClock
from server.enforcement import service as enforcement_service
from server.errors import FieldcheckError
from server.evidence import service as evidence_service  # noqa: F401 - registers the signing's evidence guard (submit below)
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import recheck_results as hazard_recheck_results
from server.hazards.tables import RecheckAssignee
from server.inspections import assignment as inspection_assignment
from server.inspections import item_results as inspection_item_results
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise
from server.settings import Settings
from server.spotchecks import campaigns as spotcheck_campaigns
from server.spotchecks import draws as spotcheck_draws
from server.spotchecks import release as spotcheck_release
from server.spotchecks.tables import SpotCheckTask
from server.stats.generate import MONTH_WEIGHT
from server.stats.periods import add_months
from server.violations import service as violations_service

_NAMESPACE = uuid.UUID("0d7c4a52-9b1e-4f63-8a20-5c3e91b7d604")
MONTHS = 24
CHECKS_PER_MONTH = 8  # at weight 1.0
_TEAM_POOL = [f"inspector{n}" for n in range(1, 5)]  # 执法支队, supervisor1's department
_PEOPLE = [(f"{s}{g}", f"6405{d}19{70 + n % 30:02d}0{1 + n % 9}1{n % 10}{n % 7}{n % 10}1") for n, (s, g, d) in enumerate(
    (s, g, d) for s in "马王李张刘杨" for g in ("建国", "海龙", "小军", "春生") for d in ("02", "21", "22")
)]


@dataclass
class HistoryReport:
    checks: int = 0
    hazards: int = 0
    closed: int = 0
    violations: int = 0
    actions: int = 0
    campaigns: int = 0
    spot_tasks: int = 0
    spot_done: int = 0
    skipped: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


def _id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def _when(rng: random.Random, month: dt.date, today: dt.date, zone: ZoneInfo) -> dt.datetime:
    """A working moment in ``month`` (the bureau's time), never after today."""
    last = (add_months(month, 1) - dt.timedelta(days=1)) if add_months(month, 1) <= today else today
    day = month + dt.timedelta(days=rng.randrange((last - month).days + 1))
    return dt.datetime.combine(day, dt.time(8 + rng.randrange(9), rng.randrange(60)), zone)


async def _actors() -> dict[str, Any]:
    """Every account as an actor, by username: the team pool and the supervisors act, any inspector may recheck."""
    return {r["username"]: accounts_service.actor_of(r) for r in await User.select()}


async def _templates() -> dict[str, tuple[uuid.UUID, list[uuid.UUID], set[uuid.UUID]]]:
    """Per sector: the current template, its items in order, and the items that are major-hazard criteria."""
    out = {}
    for t in await ChecklistTemplate.select().where(ChecklistTemplate.is_current == True):  # noqa: E712
        items = await ChecklistItem.select(ChecklistItem.id, ChecklistItem.is_major_criterion).where(
            ChecklistItem.template == t["id"]
        ).order_by(ChecklistItem.position)
        out[t["sector"]] = (t["id"], [i["id"] for i in items], {i["id"] for i in items if i["is_major_criterion"]})
    return out


async def load(settings: Settings, *, seed: int = 2023, now: dt.datetime | None = None) -> HistoryReport:
    """Write the missing part of the history (the database must be started and the demo world loaded)."""
    report = HistoryReport()
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(localtime.zone(settings.hazards.timezone)).date()
    first = await Inspection.exists().where(Inspection.id == uuid.uuid5(_NAMESPACE, f"{seed}-0"))
    if first:
        return report
    rng = random.Random(seed)
    actors = await _actors()
    templates = await _templates()
    enterprises = await Enterprise.select(Enterprise.id, Enterprise.sector, Enterprise.risk_grade).order_by(
        Enterprise.credit_code
    )
    weights = [{"A": 0.6, "B": 1.0, "C": 2.0, "D": 4.0}.get(str(e["risk_grade"]), 1.0) for e in enterprises]
    start = add_months(today.replace(day=1), -(MONTHS - 1))
    serial = 0
    async with database.settled_at_end():  # 24 months of commits, numbered by one settle
        for m in range(MONTHS):
            month = add_months(start, m)
            share = 1.0 if add_months(month, 1) <= today else today.day / 30
            # A month's work in one unit of work, as a phone's batch is; each check in a savepoint of its own.
            async with database.transaction() as uow:
                for _ in range(round(CHECKS_PER_MONTH * MONTH_WEIGHT[month.month] * share)):
                    enterprise = rng.choices(enterprises, weights)[0]
                    if enterprise["sector"] not in templates:
                        continue
                    when = _when(rng, month, today, localtime.zone(settings.hazards.timezone))
                    try:
                        async with uow.savepoint():
                            await _one_check(report, rng, actors, templates, enterprise, when, now, serial, seed, settings)
                    except FieldcheckError as refused:  # a rule refused this story (a declared conflict, say): moving on
                        report.skipped += 1
                        reason = f"{refused.code}: {getattr(refused, 'message_en', '') or refused}"
                        report.refusals[reason] = report.refusals.get(reason, 0) + 1
                    serial += 1
    await _campaigns(report, rng, actors, templates, start, today, now, settings)
    return report


#: Each quarter a 双随机 draw of this many enterprises, announced (its tasks go out when drawn); each half-year a covert
#: one (暗查暗访: each target reaches its team only at 07:00 on its planned day, and counts only from then on).
ANNOUNCED_SAMPLE, COVERT_SAMPLE = 6, 3
#: The share of the released tasks whose check the team has done by their planned day (the rest are still open).
DONE_SHARE = 0.85


async def _campaigns(
    report: HistoryReport, rng: random.Random, actors: dict[str, Any], templates: dict, start: dt.date, today: dt.date,
    now: dt.datetime, settings_: Settings,
) -> None:
    """Spot-check campaigns drawn at the start of each quarter, released, and carried out, through the services."""
    zone = localtime.zone(settings_.hazards.timezone)
    supervisor = actors["supervisor1"]
    quarter = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    if quarter < start:
        quarter = add_months(quarter, 3)
    campaign_ids = []
    while quarter <= today:
        drawn_at = min(dt.datetime.combine(quarter, dt.time(9), zone), now)
        label = f"{quarter.year}年第{(quarter.month - 1) // 3 + 1}季度"
        kinds = [(False, ANNOUNCED_SAMPLE)] + ([(True, COVERT_SAMPLE)] if quarter.month in (1, 7) else [])
        for covert, sample in kinds:
            async with database.transaction():
                drawn = Context(settings_, FixedClock(drawn_at))
                campaign = await spotcheck_campaigns.create_campaign(drawn, supervisor, CampaignCreate(
                    name=f"{label}{'暗查暗访' if covert else '“双随机”抽查'}", label="重点时段" if covert else "",
                    period_start=quarter, period_end=add_months(quarter, 3) - dt.timedelta(days=1), covert=covert,
                    rules=CampaignRules(sample_size=sample, inspector_department_ids=[supervisor.department_id]),
                ))
                draw = await spotcheck_draws.commit_draw(drawn, supervisor, campaign.id, DrawRequest())
            async with database.transaction():  # revealed once the commitment is in the audit chain
                await spotcheck_draws.reveal_draw(drawn, supervisor, draw.id)
            campaign_ids.append(campaign.id)
            report.campaigns += 1
        quarter = add_months(quarter, 3)
    tasks = await SpotCheckTask.select().where(SpotCheckTask.campaign.is_in(campaign_ids)).order_by(SpotCheckTask.release_at)
    report.spot_tasks = len(tasks)
    # The release job, run at each covert task's release time (announced tasks went out with their draw).
    for release_at in sorted({t["release_at"] for t in tasks if t["status"] == "drawn" and t["release_at"] <= now}):
        await spotcheck_release.release_due_tasks(Context(settings_, FixedClock(release_at)))
    by_user = {actors[n].user_id: actors[n] for n in (*_TEAM_POOL, "supervisor1", "supervisor2")}
    sectors = {e["id"]: e["sector"] for e in await Enterprise.select(Enterprise.id, Enterprise.sector)}
    released = await SpotCheckTask.select().where(
        SpotCheckTask.campaign.is_in(campaign_ids) & (SpotCheckTask.status == "released")
    ).order_by(SpotCheckTask.planned_date).output(load_json=True)
    async with database.settled_at_end():  # the released tasks carried out: nothing here reads the chain back
        for task in released:
            when = dt.datetime.combine(task["planned_date"], dt.time(9 + rng.randrange(7), rng.randrange(60)), zone)
            lead = by_user.get(uuid.UUID(str(task["team"][0]))) if task["team"] else None
            template = templates.get(sectors.get(task["enterprise"]))
            if when >= now or lead is None or template is None or rng.random() > DONE_SHARE:
                continue
            async with database.transaction() as uow:
                try:
                    async with uow.savepoint():
                        await _carry_out(report, rng, actors, template, task["inspection"], lead, when, now, settings_)
                        report.spot_done += 1
                except FieldcheckError as refused:
                    report.skipped += 1
                    reason = f"{refused.code}: {getattr(refused, 'message_en', '') or refused}"
                    report.refusals[reason] = report.refusals.get(reason, 0) + 1


async def _one_check(
    report: HistoryReport, rng: random.Random, actors: dict[str, Any], templates: dict, enterprise: dict,
    when: dt.datetime, now: dt.datetime, serial: int, seed: int, settings_: Settings,
) -> None:
    supervisor = actors["supervisor1"]
    team_names = rng.sample(_TEAM_POOL, 2)
    lead = actors[team_names[0]]
    template_id = templates[enterprise["sector"]][0]
    inspection_id = uuid.uuid5(_NAMESPACE, f"{seed}-{serial}")
    kind = rng.choices(
        [InspectionKind.ROUTINE, InspectionKind.ENFORCEMENT, InspectionKind.CAMPAIGN, InspectionKind.RECHECK],
        [60, 15, 15, 10],
    )[0]
    await inspection_assignment.create(supervisor, InspectionCreate(
        id=inspection_id, enterprise_id=enterprise["id"], kind=kind,
        inspector_ids=[actors[n].user_id for n in team_names], template_id=template_id,
    ))
    await _carry_out(report, rng, actors, templates[enterprise["sector"]], inspection_id, lead, when, now, settings_)


async def _carry_out(
    report: HistoryReport, rng: random.Random, actors: dict[str, Any], template: tuple, inspection_id: uuid.UUID,
    lead: Any, when: dt.datetime, now: dt.datetime, settings_: Settings,
) -> None:
    """The team does a planned check at ``when``: items, hazards, 三违, signature; approval, actions, the hazard loop."""
    supervisor, deciding = actors["supervisor1"], actors["supervisor2"]
    ctx = Context(settings_)  # the phone's records carry ``when``; the server applies them now, as a push would
    _, items, major_items = template
    await inspection_lifecycle.apply_start_inspection(ctx, lead, StartInspection(seq=1, inspection_id=inspection_id, started_at=when))
    # Mostly ordinary items fail; now and then one that makes the hazard major (重大事故隐患判定标准).
    ordinary = [i for i in items if i not in major_items]
    failing = set(rng.sample(ordinary, k=min(len(ordinary), rng.choice([0, 0, 1, 1, 2]))))
    if major_items and rng.random() < 0.06:
        failing.add(rng.choice(sorted(major_items)))
    answers = [
        RecordItemResult(
            seq=2 + n, id=uuid.uuid5(inspection_id, f"item-{n}"), inspection_id=inspection_id, item_id=item,
            outcome="fail" if item in failing else rng.choice(["pass", "pass", "pass", "not_applicable"]), recorded_at=when,
        )
        for n, item in enumerate(items)
    ]
    # As a push applies a run of answers: in one bulk write.
    for outcome in await inspection_item_results.apply_record_item_results(ctx, lead, answers):
        if isinstance(outcome, Exception):
            raise outcome
    hazards = []
    for n, item in enumerate(sorted(failing)):
        major = item in major_items
        deadline = (when + dt.timedelta(days=rng.choice([7, 15, 30]))).date()
        hazard = await hazard_lifecycle.create_hazard(lead, HazardCreate(
            id=uuid.uuid5(inspection_id, f"hazard-{n}"), inspection_id=inspection_id,
            level="major" if major else "general", description="检查发现不符合项，责令限期整改",
            deadline_date=deadline, checklist_item_id=item, found_at=when,
            five_in_place=FiveInPlace(
                responsible_person="企业主要负责人", measures="停用相关设施，制定整改方案", funds_yuan=50000,
                deadline_date=deadline, contingency_plan="落实现场监护和应急处置措施",
            ) if major else None,
        ), settings_, now=when)
        hazards.append((hazard.id, deadline, major))
        report.hazards += 1
    if rng.random() < 0.18:
        name, first17 = rng.choice(_PEOPLE[:24]) if rng.random() < 0.5 else rng.choice(_PEOPLE)
        await violations_service.record_violation(lead, ViolationCreate(
            id=uuid.uuid5(inspection_id, "violation"), inspection_id=inspection_id, person_name=name,
            id_number=_id_number(first17), violation_type=rng.choice(list(ViolationType)),
            description="作业现场未按规定佩戴劳动防护用品", recorded_at=when,
        ), settings_, now=when)
        report.violations += 1
    await inspection_lifecycle.submit(lead, inspection_id, SubmitInspection(
        seq=100, inspection_id=inspection_id, signed_by_name="企业负责人", submitted_at=when,
    ))
    await inspection_lifecycle.review(Context(settings_), supervisor, inspection_id, InspectionReview(decision="approve"))
    report.checks += 1
    if hazards and rng.random() < 0.25:
        kind_ = rng.choice([EnforcementKind.RECTIFY_ORDER, EnforcementKind.FINE, EnforcementKind.FINE])
        action = await enforcement_service.propose(lead, EnforcementProposal(
            id=uuid.uuid5(inspection_id, "action"), kind=kind_, reason="存在事故隐患，依法处理",
            inspection_id=inspection_id, amount_yuan=rng.choice([5000, 10000, 20000, 30000]) if kind_ == EnforcementKind.FINE else None,
            legal_basis="《中华人民共和国安全生产法》第一百零二条",
            deadline_date=hazards[0][1] if kind_ == EnforcementKind.RECTIFY_ORDER else None,
        ), settings_, now=when)
        decided = min(when + dt.timedelta(days=rng.randrange(1, 5)), now)
        await enforcement_service.decide(deciding, action.id, EnforcementDecision(approve=True), settings_, now=decided)
        report.actions += 1
    for hazard_id, deadline, major in hazards:
        if rng.random() > (0.7 if major else 0.85):
            continue  # a few fixes are late or never come (a major one more often: 停产停业整顿, 资金)
        reported = dt.datetime.combine(deadline, dt.time(10), ctx.zone) - dt.timedelta(days=rng.randrange(0, 4))
        if reported >= now or reported <= when:
            continue
        await hazard_lifecycle.report_rectification(lead, hazard_id, RectificationReport(
            note="企业报告已整改", reported_at=reported,
        ), settings_, now=reported)
        checked = await _recheck(hazard_id, rng, reported, now, settings_, actors)
        if checked is None:
            continue
        if major:  # a passed 回头看 leaves a major hazard listed until the supervisor 摘牌销号
            delisted = checked + dt.timedelta(days=rng.randrange(1, 8))
            if delisted >= now:
                continue
            await hazard_lifecycle.close_hazard(actors["supervisor1"], hazard_id, settings_, now=delisted)
        report.closed += 1


async def _recheck(hazard_id: uuid.UUID, rng: random.Random, reported: dt.datetime, now: dt.datetime, settings_: Settings,
                   actors: dict[str, Any]) -> dt.datetime | None:
    """The 回头看 of a reported fix, passed; when it was done (None if not yet)."""
    assignee = await RecheckAssignee.select(RecheckAssignee.recheck, RecheckAssignee.user).where(
        (RecheckAssignee.recheck.hazard == hazard_id) & (RecheckAssignee.recheck.status == "pending")
    ).first()
    if assignee is None:
        return None
    checked = reported + dt.timedelta(days=rng.randrange(1, 4))
    if checked >= now:
        return None
    rechecker = next(a for a in actors.values() if a.user_id == assignee["user"])
    await hazard_recheck_results.record_recheck(rechecker, assignee["recheck"], RecheckResult(
        passed=True, note="复查合格", checked_at=checked,
    ), settings_, now=checked)
    return checked
