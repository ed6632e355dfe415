"""Hazards (查改督销): open, rectify, recheck, close, escalate; 回头看 rechecks and campaigns.

Every rule about states lives in :mod:`server.hazards.policy`; this module
loads rows, checks who may touch them, writes the result, audits each
transition and publishes what phones need to the sync change feed. The caller
owns the transaction; nothing here commits.

Times: every function takes ``now`` (default: the wall clock) so tests and the
scheduler control the clock. Deadlines are dates in the bureau's time zone
(``settings.hazards.timezone``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from schemas import hazards as wire
from schemas.audit import AuditRecord
from schemas import sync as sync_wire
from schemas.enforcement import ActionOrigin
from schemas.hazards import EscalationStep, RecheckReason, RecheckStatus
from schemas.problems import ErrorCode
from schemas.vocab import EnforcementKind, HazardLevel, HazardStatus, Role
from server import database
from server.accounts.policy import SYSTEM, Actor, may_manage_department, sees_all_departments
from server.accounts import service as accounts_service
from server.accounts.tables import User
from server.audit import service as audit_service
from server.checklists.tables import ChecklistItem
from server.enforcement import service as enforcement_service
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hazards import policy
from server.hazards.tables import Hazard, HazardEscalation, LookbackCampaign, Recheck, RecheckAssignee
from server.inspections import access
from server.inspections import service as inspections_service
from server.inspections.access import Mode, Write
from server.notifications import service as notifications
from server.registry import service as registry_service
from server.registry.tables import Enterprise
from server.settings import Settings, get_settings
from server.sync import scopes
from server.sync import service as sync_service

ENTITY = "hazard"
RECHECK_ENTITY = "recheck"

#: Enforcement actions each escalation rung proposes (the 督办通知 is the escalation record itself).
STEP_ACTIONS: dict[EscalationStep, tuple[EnforcementKind, ...]] = {
    EscalationStep.SUPERVISION_NOTICE: (),
    EscalationStep.NOTICE_OR_TALK: (EnforcementKind.PUBLIC_NOTICE, EnforcementKind.ADMONITION),
    EscalationStep.SUSPENSION_PROPOSAL: (EnforcementKind.SUSPENSION,),
    EscalationStep.CLOSURE_PROPOSAL: (EnforcementKind.CLOSURE_REQUEST,),
}


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def local_date(moment: dt.datetime, settings: Settings) -> dt.date:
    return policy.local_date(moment, settings.hazards.timezone)


def ladder(settings: Settings) -> tuple[policy.Rung, ...]:
    return policy.parse_ladder(settings.hazards.escalation_days)


def ids_to_column(ids: Iterable[uuid.UUID]) -> list[str]:
    """UUID lists go into array columns as text: SQLite's array serialiser cannot encode UUIDs."""
    return [str(i) for i in ids]


def ids_from_column(values: Iterable[Any] | None) -> list[uuid.UUID]:
    return [i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in values or ()]


# --- loading and access ------------------------------------------------------


async def _locked_hazard(hazard_id: uuid.UUID) -> dict[str, Any]:
    query = Hazard.select().where(Hazard.id == hazard_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    return row


async def _inspection(inspection_id: uuid.UUID, field: str = "inspection_id") -> dict[str, Any]:
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field=field)
    return dict((await access.load(inspection_id, missing=missing)).row)


async def _team(inspection_id: uuid.UUID) -> set[uuid.UUID]:
    found = (await access.load_many([inspection_id])).get(inspection_id)
    return set(found.team) if found else set()


async def followers(hazard_id: uuid.UUID) -> set[uuid.UUID]:
    """Who follows a hazard to closure: the team of the check that found it and its department's active supervisors."""
    row = await Hazard.select(
        Hazard.inspection, Hazard.inspection.department.as_alias("department")
    ).where(Hazard.id == hazard_id).first()
    if row is None:
        return set()
    people = await _team(row["inspection"])
    if row["department"] is not None:
        users = await accounts_service.list_users(role=Role.SUPERVISOR, department_id=row["department"])
        people |= {u.id for u in users if u.active}
    return people


async def _recheck_assignments(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await RecheckAssignee.select(RecheckAssignee.recheck, RecheckAssignee.recheck.hazard.as_alias("hazard")).where(
        RecheckAssignee.user == user_id
    )


async def _check_may_see(actor: Actor, hazard: dict[str, Any]) -> None:
    if actor.role in (Role.LEADER, Role.ADMIN):
        return
    inspection = await _inspection(hazard["inspection"])
    if actor.role == Role.SUPERVISOR and may_manage_department(actor, inspection["department"]):
        return
    if actor.role == Role.INSPECTOR:
        if actor.user_id in await _team(hazard["inspection"]):
            return
        if any(a["hazard"] == hazard["id"] for a in await _recheck_assignments(actor.user_id)):
            return
    raise NotFound("隐患不存在", "hazard not found", field="hazard_id")


async def _supervised_hazard(actor: Actor, hazard_id: uuid.UUID, what: str, what_en: str) -> dict[str, Any]:
    """The hazard, locked, if ``actor`` is a supervisor of its inspection's department (who alone may do ``what``)."""
    row = await _locked_hazard(hazard_id)
    await _check_may_see(actor, row)
    if actor.role != Role.SUPERVISOR or not may_manage_department(
        actor, (await _inspection(row["inspection"]))["department"]
    ):
        raise PermissionDenied(f"只有本科室负责人可以{what}", f"only the department's supervisor {what_en}")
    return row


async def _check_may_change(actor: Actor, hazard: dict[str, Any]) -> None:
    await _check_may_see(actor, hazard)
    access.require_writable(actor, await access.load(hazard["inspection"]), Write.FOLLOW_UP)


async def _writable_for_hazard(actor: Actor, data: wire.HazardCreate) -> tuple[access.InspectionFacts, Mode]:
    """The inspection a new hazard is recorded in, and whether the hazard is a record or an amendment of it."""
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field="inspection_id")
    return await access.writable(actor, data.inspection_id, Write.HAZARD, missing=missing)


async def _visible_hazard_ids(actor: Actor) -> list[uuid.UUID] | None:
    """Ids an actor may list (None: all)."""
    if actor.role in (Role.LEADER, Role.ADMIN):
        return None
    if actor.role == Role.SUPERVISOR:
        if actor.department_id is None:
            return []
        rows = await Hazard.select(Hazard.id).where(Hazard.inspection.department == actor.department_id)
        return [r["id"] for r in rows]
    own = await access.team_inspection_ids(actor.user_id)
    ids: set[uuid.UUID] = set()
    if own:
        rows = await Hazard.select(Hazard.id).where(Hazard.inspection.is_in(own))
        ids = {r["id"] for r in rows}
    ids |= {a["hazard"] for a in await _recheck_assignments(actor.user_id)}
    return list(ids)


# --- facts and wire ------------------------------------------------------------


def _five(row: dict[str, Any]) -> wire.FiveInPlace | None:
    if row["five_deadline_date"] is None:
        return None
    return wire.FiveInPlace(
        responsible_person=row["responsible_person"],
        measures=row["measures"],
        funds_yuan=row["funds_yuan"] or 0,
        deadline_date=row["five_deadline_date"],
        contingency_plan=row["contingency_plan"],
    )


def facts_of(row: dict[str, Any]) -> policy.HazardFacts:
    return policy.HazardFacts(
        status=HazardStatus(row["status"]),
        level=HazardLevel(row["level"]),
        deadline_date=row["deadline_date"],
        five_in_place=_five(row),
        escalation_level=row["escalation_step"],
        recheck_passed=row["recheck_passed"],
    )


def _five_columns(five: wire.FiveInPlace | None) -> dict[Any, Any]:
    if five is None:
        return {}
    return {
        Hazard.responsible_person: five.responsible_person.strip(),
        Hazard.measures: five.measures,
        Hazard.funds_yuan: five.funds_yuan,
        Hazard.five_deadline_date: five.deadline_date,
        Hazard.contingency_plan: five.contingency_plan,
    }


async def _escalations(hazard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[wire.Escalation]]:
    out: dict[uuid.UUID, list[wire.Escalation]] = {}
    if not hazard_ids:
        return out
    rows = await HazardEscalation.select().where(HazardEscalation.hazard.is_in(list(hazard_ids))).order_by(
        HazardEscalation.step
    )
    for r in rows:
        out.setdefault(r["hazard"], []).append(
            wire.Escalation(
                step=EscalationStep(r["action"]),
                applied_at=r["applied_at"],
                days_overdue=r["days_overdue"],
                enforcement_action_ids=ids_from_column(r["enforcement_action_ids"]),
            )
        )
    return out


async def _evidence_ids(hazard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    from server.evidence.tables import Evidence

    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not hazard_ids:
        return out
    rows = await Evidence.select(Evidence.id, Evidence.hazard).where(Evidence.hazard.is_in(list(hazard_ids)))
    for r in rows:
        out.setdefault(r["hazard"], []).append(r["id"])
    return out


async def to_wire(rows: Sequence[dict[str, Any]], settings: Settings, now: dt.datetime | None = None) -> list[wire.Hazard]:
    today = local_date(_now(now), settings)
    ids = [r["id"] for r in rows]
    escalations = await _escalations(ids)
    evidence = await _evidence_ids(ids)
    return [
        wire.Hazard(
            id=r["id"],
            inspection_id=r["inspection"],
            enterprise_id=r["enterprise"],
            level=HazardLevel(r["level"]),
            status=HazardStatus(r["status"]),
            description=r["description"],
            deadline_date=r["deadline_date"],
            overdue=policy.is_overdue(facts_of(r), today),
            days_overdue=policy.days_overdue(facts_of(r), today),
            listed_supervision=r["listed_supervision"],
            found_by=r["found_by"],
            found_at=r["found_at"],
            checklist_item_id=r["item"],
            location=r["location_text"],
            five_in_place=_five(r),
            evidence_ids=evidence.get(r["id"], []),
            escalations=escalations.get(r["id"], []),
            rectification_reported_at=r["rectification_reported_at"],
            closed_at=r["closed_at"],
            version=r["version"],
        )
        for r in rows
    ]


async def _one(hazard_id: uuid.UUID, settings: Settings, now: dt.datetime | None) -> wire.Hazard:
    row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    return (await to_wire([row], settings, now))[0]


# --- publishing to phones -------------------------------------------------------


async def sync_scopes(actor: Actor) -> set[str]:
    """Scope keys an inspector's phone receives for rechecks: each pending task, its hazard and enterprise."""
    if actor.role != Role.INSPECTOR or actor.user_id is None:
        return set()
    rows = await Recheck.select(Recheck.id, Recheck.hazard, Recheck.enterprise).where(
        Recheck.id.is_in(RecheckAssignee.select(RecheckAssignee.recheck).where(RecheckAssignee.user == actor.user_id))
        & (Recheck.status == RecheckStatus.PENDING)
    )
    keys: set[str] = set()
    for row in rows:
        keys.update((scopes.recheck(row["id"]), scopes.hazard(row["hazard"]), scopes.enterprise(row["enterprise"])))
    return keys


async def _publish_hazard(hazard_id: uuid.UUID, settings: Settings, now: dt.datetime) -> wire.Hazard:
    """Send the hazard to its inspection's team and to the inspectors rechecking it (``hazard:`` scope)."""
    record = await _one(hazard_id, settings, now)
    keys = [scopes.inspection(record.inspection_id), scopes.hazard(record.id)]
    await sync_service.publish(ENTITY, record.id, record, scope=keys)
    return record


async def republish(hazard_id: uuid.UUID) -> None:
    """Send the hazard again after something it shows changed elsewhere (a photo of it attached)."""
    await _publish_hazard(hazard_id, get_settings(), _now(None))


async def _publish_recheck(recheck_id: uuid.UUID) -> wire.Recheck:
    """Send a recheck task to its assignees' phones (``recheck:`` scope, in their set while it is pending)."""
    record = await get_recheck_record(recheck_id)
    await sync_service.publish(RECHECK_ENTITY, record.id, record, scope=scopes.recheck(record.id))
    return record


# --- transitions ------------------------------------------------------------------


async def _write(
    actor: Actor,
    row: dict[str, Any],
    new: policy.HazardFacts,
    action: str,
    now: dt.datetime,
    extra: dict[Any, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Store a transition and audit it (status, deadline and level as [old, new])."""
    old = facts_of(row)
    values: dict[Any, Any] = {
        Hazard.status: new.status,
        Hazard.deadline_date: new.deadline_date,
        Hazard.escalation_step: new.escalation_level,
        Hazard.recheck_passed: new.recheck_passed,
        Hazard.listed_supervision: policy.is_listed_supervision(new),
        Hazard.version: row["version"] + 1,
        Hazard.updated_at: now,
        **_five_columns(new.five_in_place if new.five_in_place != old.five_in_place else None),
        **(extra or {}),
    }
    await Hazard.update(values).where(Hazard.id == row["id"])
    diff: dict[str, Any] = {}
    if old.status != new.status:
        diff["status"] = [old.status, new.status]
    if old.deadline_date != new.deadline_date:
        diff["deadline_date"] = [old.deadline_date.isoformat(), new.deadline_date.isoformat()]
    if old.escalation_level != new.escalation_level:
        diff["escalation_step"] = [old.escalation_level, new.escalation_level]
    audit_service.record(actor, action, ENTITY, row["id"], {**diff, **(changes or {})})


async def create_hazard(
    actor: Actor, data: wire.HazardCreate, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    """Record a hazard found in an inspection; a major one is listed for supervision (挂牌督办)."""
    now = _now(now)
    facts, mode = await _writable_for_hazard(actor, data)
    if mode is Mode.AMEND:
        raise StateConflict(
            "该检查已签字提交，不能再直接记录隐患；签字后发现的隐患由手机同步为补正记录，或退回修改后记录",
            "the inspection is signed: a later hazard is kept as an amendment (sync) or recorded after a return",
            field="inspection_id",
        )
    inspection = dict(facts.row)
    existing = await Hazard.select(Hazard.id, Hazard.inspection).where(Hazard.id == data.id).first()
    if existing is not None:
        raise StateConflict("该隐患已记录", "hazard already recorded", code=ErrorCode.DUPLICATE, field="id")
    item_is_major: bool | None = None
    if data.checklist_item_id is not None:
        item = await ChecklistItem.select().where(ChecklistItem.id == data.checklist_item_id).first()
        if item is None or (inspection["template"] is not None and item["template"] != inspection["template"]):
            raise InvalidInput(
                "检查项不存在或不属于本次检查的检查表",
                "checklist item unknown or not in this inspection's template",
                code=ErrorCode.UNKNOWN_REFERENCE,
                field="checklist_item_id",
            )
        item_is_major = item["is_major_criterion"]
    found_at = data.found_at or now
    facts = policy.open_hazard(
        level=data.level,
        deadline_date=data.deadline_date,
        found_date=local_date(found_at, settings),
        five_in_place=data.five_in_place,
        item_is_major=item_is_major,
    )
    listed = policy.is_listed_supervision(facts)
    five = data.five_in_place
    await Hazard.insert(
        Hazard(
            id=data.id,
            inspection=inspection["id"],
            enterprise=inspection["enterprise"],
            item=data.checklist_item_id,
            level=facts.level,
            status=facts.status,
            description=data.description,
            location_text=data.location,
            deadline_date=facts.deadline_date,
            found_at=found_at,
            found_by=actor.user_id,
            responsible_person=five.responsible_person.strip() if five else "",
            measures=five.measures if five else "",
            funds_yuan=five.funds_yuan if five else None,
            five_deadline_date=five.deadline_date if five else None,
            contingency_plan=five.contingency_plan if five else "",
            listed_supervision=listed,
            listed_at=now if listed else None,
            escalation_step=0,
            recheck_passed=False,
            rectification_evidence_ids=[],
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    audit_service.record(actor, "hazard.open", ENTITY, data.id, data)
    if listed:
        audit_service.record(actor, "hazard.list_supervision", ENTITY, data.id, {"listed_at": now.isoformat()})
        await enforcement_service.check_section_113(inspection["enterprise"], settings, now=now)
    return await _publish_hazard(data.id, settings, now)


async def get_hazard(actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None) -> wire.Hazard:
    row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    await _check_may_see(actor, row)
    return (await to_wire([row], settings, now))[0]


async def list_for_inspection(
    actor: Actor, inspection_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> list[wire.Hazard]:
    """The hazards found in one inspection the actor may see, oldest first."""
    await inspections_service.get(actor, inspection_id)
    rows = await Hazard.select().where(Hazard.inspection == inspection_id).order_by(Hazard.found_at)
    return await to_wire(rows, settings, now)


async def history(actor: Actor, hazard_id: uuid.UUID) -> list[AuditRecord]:
    """The audit entries of a hazard and of its rechecks, oldest first."""
    row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    await _check_may_see(actor, row)
    rechecks = await Recheck.select(Recheck.id).where(Recheck.hazard == hazard_id)
    return await audit_service.entries_for([(ENTITY, hazard_id)] + [(RECHECK_ENTITY, r["id"]) for r in rechecks])


async def list_hazards(
    actor: Actor,
    settings: Settings,
    *,
    status: HazardStatus | None = None,
    level: HazardLevel | None = None,
    enterprise_id: uuid.UUID | None = None,
    overdue: bool | None = None,
    listed_supervision: bool | None = None,
    limit: int = 200,
    offset: int = 0,
    now: dt.datetime | None = None,
    inspection_id: uuid.UUID | None = None,
) -> list[wire.Hazard]:
    """Hazards the actor may see, newest first, filtered."""
    now = _now(now)
    query = Hazard.select()
    visible = await _visible_hazard_ids(actor)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Hazard.id.is_in(visible))
    if status is not None:
        query = query.where(Hazard.status == status)
    if level is not None:
        query = query.where(Hazard.level == level)
    if enterprise_id is not None:
        query = query.where(Hazard.enterprise == enterprise_id)
    if inspection_id is not None:
        query = query.where(Hazard.inspection == inspection_id)
    if listed_supervision is not None:
        query = query.where(Hazard.listed_supervision == listed_supervision)
    if overdue is not None:
        today = local_date(now, settings)
        open_states = list(policy.OPEN_STATES)
        if overdue:
            query = query.where(Hazard.status.is_in(open_states) & (Hazard.deadline_date < today))
        else:
            query = query.where(Hazard.status.not_in(open_states) | (Hazard.deadline_date >= today))
    rows = await query.order_by(Hazard.found_at, ascending=False).limit(limit).offset(offset)
    return await to_wire(rows, settings, now)


async def board(
    actor: Actor,
    settings: Settings,
    *,
    level: HazardLevel | None = None,
    listed_supervision: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> tuple[list[wire.Hazard], int]:
    """Hazards not yet closed that the actor may see: overdue first (longest overdue on top), then by deadline.

    Returns one page and the number of hazards on the whole board.
    """
    now = _now(now)
    today = local_date(now, settings)
    query = Hazard.select().where(Hazard.status != HazardStatus.CLOSED)
    visible = await _visible_hazard_ids(actor)
    if visible is not None:
        if not visible:
            return [], 0
        query = query.where(Hazard.id.is_in(visible))
    if level is not None:
        query = query.where(Hazard.level == level)
    if listed_supervision is not None:
        query = query.where(Hazard.listed_supervision == listed_supervision)
    rows = await query
    rows.sort(key=lambda r: (not policy.is_overdue(facts_of(r), today), r["deadline_date"], r["found_at"], str(r["id"])))
    return await to_wire(rows[offset:offset + limit], settings, now), len(rows)


async def start_rectification(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    now = _now(now)
    row = await _locked_hazard(hazard_id)
    await _check_may_change(actor, row)
    await _write(actor, row, policy.start_rectification(facts_of(row)), "hazard.start_rectification", now)
    return await _publish_hazard(hazard_id, settings, now)


async def report_rectification(
    actor: Actor,
    hazard_id: uuid.UUID,
    report: wire.RectificationReport,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> wire.Hazard:
    """The enterprise reports the fix; a 回头看 recheck is created unless one is already waiting."""
    now = _now(now)
    row = await _locked_hazard(hazard_id)
    await _check_may_change(actor, row)
    new = policy.report_rectification(facts_of(row))
    reported_at = report.reported_at or now
    await _write(
        actor,
        row,
        new,
        "hazard.report_rectification",
        now,
        extra={
            Hazard.rectification_reported_at: reported_at,
            Hazard.rectification_note: report.note,
            Hazard.rectification_evidence_ids: ids_to_column(report.evidence_ids),
        },
        changes={"note": report.note, "evidence_ids": report.evidence_ids, "reported_at": reported_at.isoformat()},
    )
    if not await _has_open_recheck(hazard_id):
        await create_recheck(SYSTEM, {**row, "status": new.status}, RecheckReason.RECTIFICATION_REPORTED, settings, now=now)
    return await _publish_hazard(hazard_id, settings, now)


async def close_hazard(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    """销号 (摘牌 for a major hazard) after a passed recheck; supervisors only."""
    now = _now(now)
    row = await _supervised_hazard(actor, hazard_id, "销号", "closes a hazard")
    await _close(actor, row, now)
    return await _publish_hazard(hazard_id, settings, now)


async def _close(actor: Actor, row: dict[str, Any], now: dt.datetime) -> None:
    new = policy.close_hazard(facts_of(row))
    await _write(actor, row, new, "hazard.close", now, extra={Hazard.closed_at: now, Hazard.closed_by: actor.user_id})


# --- rechecks ---------------------------------------------------------------------


async def _has_open_recheck(hazard_id: uuid.UUID) -> bool:
    return await Recheck.exists().where(
        (Recheck.hazard == hazard_id)
        & (Recheck.status == RecheckStatus.PENDING)
        & (Recheck.reason != RecheckReason.LOOKBACK)
    )


async def _recheck_pool(hazard: dict[str, Any]) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """Who may recheck (active inspectors covering the enterprise's district, else of the check's department, else the
    bureau's; never with a 回避) and the finders, whom :func:`policy.choose_recheckers` leaves out."""
    enterprise = await Enterprise.select(Enterprise.district).where(Enterprise.id == hazard["enterprise"]).first()
    district = enterprise["district"] if enterprise else None
    conflicted = await registry_service.conflicted_user_ids(hazard["enterprise"])
    inspectors = await User.select(User.id, User.districts, User.department).where(
        (User.role == Role.INSPECTOR) & (User.active == True)  # noqa: E712 (SQL comparison)
    )
    pool = [u["id"] for u in inspectors if district in (u["districts"] or []) and u["id"] not in conflicted]
    finders = await _finders(hazard)
    if not set(pool) - finders:
        inspection = await _inspection(hazard["inspection"])
        pool = [
            u["id"] for u in inspectors if u["department"] == inspection["department"] and u["id"] not in conflicted
        ]
    if not set(pool) - finders:
        pool = [u["id"] for u in inspectors if u["id"] not in conflicted]
    return pool, finders


async def _finders(hazard: dict[str, Any]) -> set[uuid.UUID]:
    """The team of the check that found the hazard, and whoever recorded it."""
    finders = await _team(hazard["inspection"])
    if hazard.get("found_by"):
        finders.add(hazard["found_by"])
    return finders


async def create_recheck(
    actor: Actor,
    hazard: dict[str, Any],
    reason: RecheckReason,
    settings: Settings,
    *,
    campaign_id: uuid.UUID | None = None,
    now: dt.datetime | None = None,
) -> uuid.UUID:
    """Create a recheck task, assign it away from the finders where the pool allows, send it to phones."""
    now = _now(now)
    pool, finders = await _recheck_pool(hazard)
    pending = await RecheckAssignee.select(RecheckAssignee.user).where(
        RecheckAssignee.recheck.status == RecheckStatus.PENDING
    )
    load: dict[uuid.UUID, int] = {}
    for p in pending:
        load[p["user"]] = load.get(p["user"], 0) + 1
    chosen = policy.choose_recheckers(pool, finders, load, settings.hazards.recheck_team_size)
    recheck_id = uuid.uuid4()
    await Recheck.insert(
        Recheck(
            id=recheck_id,
            hazard=hazard["id"],
            enterprise=hazard["enterprise"],
            campaign=campaign_id,
            reason=reason,
            status=RecheckStatus.PENDING,
            due_date=local_date(now, settings) + dt.timedelta(days=settings.hazards.recheck_days),
            evidence_ids=[],
            created_at=now,
        )
    )
    if chosen:
        await RecheckAssignee.insert(*[RecheckAssignee(id=uuid.uuid4(), recheck=recheck_id, user=u) for u in chosen])
    audit_service.record(
        actor,
        "recheck.create",
        RECHECK_ENTITY,
        recheck_id,
        {"hazard_id": hazard["id"], "reason": reason, "assignee_ids": chosen, "campaign_id": campaign_id},
    )
    await _publish_recheck(recheck_id)
    return recheck_id


async def order_recheck(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Recheck:
    """A supervisor of the department orders a recheck now; it is assigned as every recheck is (away from the finders, 回避)."""
    now = _now(now)
    row = await _supervised_hazard(actor, hazard_id, "安排复查", "orders a recheck")
    policy.check_recheck_order(facts_of(row), recheck_pending=await _has_open_recheck(hazard_id))
    recheck_id = await create_recheck(actor, row, RecheckReason.ORDERED, settings, now=now)
    return await get_recheck_record(recheck_id)


async def get_recheck_record(recheck_id: uuid.UUID) -> wire.Recheck:
    row = await Recheck.select().where(Recheck.id == recheck_id).first()
    if row is None:
        raise NotFound("复查任务不存在", "recheck not found", field="recheck_id")
    return (await _rechecks_to_wire([row]))[0]


async def _rechecks_to_wire(rows: Sequence[dict[str, Any]]) -> list[wire.Recheck]:
    today = local_date(_now(None), get_settings())
    ids = [r["id"] for r in rows]
    assignees: dict[uuid.UUID, list[uuid.UUID]] = {}
    if ids:
        for a in await RecheckAssignee.select().where(RecheckAssignee.recheck.is_in(ids)):
            assignees.setdefault(a["recheck"], []).append(a["user"])
    return [
        wire.Recheck(
            id=r["id"],
            hazard_id=r["hazard"],
            enterprise_id=r["enterprise"],
            reason=RecheckReason(r["reason"]),
            status=RecheckStatus(r["status"]),
            assignee_ids=sorted(assignees.get(r["id"], []), key=str),
            created_at=r["created_at"],
            due_date=r["due_date"],
            overdue=r["status"] == RecheckStatus.PENDING and r["due_date"] < today,
            campaign_id=r["campaign"],
            note=r["note"],
            evidence_ids=ids_from_column(r["evidence_ids"]),
            checked_by=r["result_by"],
            checked_at=r["result_at"],
        )
        for r in rows
    ]


async def list_rechecks(
    actor: Actor, *, status: RecheckStatus | None = None, hazard_id: uuid.UUID | None = None, limit: int = 200
) -> list[wire.Recheck]:
    """Inspectors see the rechecks assigned to them; supervisors their department's; leaders all."""
    query = Recheck.select()
    if actor.role == Role.INSPECTOR:
        mine = [a["recheck"] for a in await _recheck_assignments(actor.user_id)]
        if not mine:
            return []
        query = query.where(Recheck.id.is_in(mine))
    elif actor.role == Role.SUPERVISOR:
        if actor.department_id is None:
            return []
        query = query.where(Recheck.hazard.inspection.department == actor.department_id)
    if status is not None:
        query = query.where(Recheck.status == status)
    if hazard_id is not None:
        query = query.where(Recheck.hazard == hazard_id)
    rows = await query.order_by(Recheck.created_at, ascending=False).limit(limit)
    return await _rechecks_to_wire(rows)


async def record_recheck(
    actor: Actor,
    recheck_id: uuid.UUID,
    result: wire.RecheckResult,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> wire.Recheck:
    """An assigned inspector records the result: passed closes (a major hazard waits for 摘牌), failed escalates."""
    now = _now(now)
    found = await Recheck.select(Recheck.hazard).where(Recheck.id == recheck_id).first()
    if found is None:
        raise NotFound("复查任务不存在", "recheck not found", field="recheck_id")
    # Lock order everywhere: the hazard, then its rechecks.
    row = await _locked_hazard(found["hazard"])
    query = Recheck.select().where(Recheck.id == recheck_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    recheck = await query.first()
    assignees = {
        a["user"] for a in await RecheckAssignee.select(RecheckAssignee.user).where(RecheckAssignee.recheck == recheck_id)
    }
    policy.check_rechecker(actor.user_id, await _finders(row))
    if actor.user_id not in assignees:
        raise PermissionDenied("只有被指派的复查人员可以填报复查结果", "not assigned to this recheck", field="recheck_id")
    if recheck["status"] != RecheckStatus.PENDING:
        raise StateConflict("该复查任务已完成或已取消", "the recheck is no longer pending", field="recheck_id")
    today = local_date(result.checked_at or now, settings)
    before = facts_of(row)
    new = policy.record_recheck(before, passed=result.passed, new_deadline_date=result.new_deadline_date, today=today)
    checked_at = result.checked_at or now
    await Recheck.update(
        {
            Recheck.status: RecheckStatus.PASSED if result.passed else RecheckStatus.FAILED,
            Recheck.passed: result.passed,
            Recheck.note: result.note,
            Recheck.evidence_ids: ids_to_column(result.evidence_ids),
            Recheck.result_by: actor.user_id,
            Recheck.result_at: checked_at,
        }
    ).where(Recheck.id == recheck_id)
    audit_service.record(
        actor,
        "recheck.result",
        RECHECK_ENTITY,
        recheck_id,
        {"hazard_id": row["id"], "passed": result.passed, "note": result.note, "evidence_ids": result.evidence_ids},
    )
    if new != before:
        reopened = before.status is HazardStatus.CLOSED
        await _write(
            actor,
            row,
            new,
            "hazard.reopen" if reopened else "hazard.recheck",
            now,
            extra={Hazard.closed_at: None, Hazard.closed_by: None} if reopened else None,
            changes={"recheck_id": recheck_id, "passed": result.passed},
        )
        row = await _locked_hazard(row["id"])
        if result.passed and new.level is HazardLevel.GENERAL:
            await _close(actor, row, now)
        elif not result.passed:
            await _apply_failed_recheck_escalation(row, settings, now)
        await _cancel_other_rechecks(row["id"], recheck_id, now)
    await _publish_hazard(row["id"], settings, now)
    return await _publish_recheck(recheck_id)


async def _cancel_other_rechecks(hazard_id: uuid.UUID, keep: uuid.UUID, now: dt.datetime) -> None:
    others = await Recheck.select(Recheck.id).where(
        (Recheck.hazard == hazard_id) & (Recheck.status == RecheckStatus.PENDING) & (Recheck.id != keep)
    )
    for other in others:
        await Recheck.update({Recheck.status: RecheckStatus.CANCELLED}).where(Recheck.id == other["id"])
        audit_service.record(SYSTEM, "recheck.cancel", RECHECK_ENTITY, other["id"], {"superseded_by": keep})
        await _publish_recheck(other["id"])


# --- escalation ----------------------------------------------------------------


async def _apply_steps(
    row: dict[str, Any],
    facts: policy.HazardFacts,
    steps: Iterable[EscalationStep],
    trigger: str,
    settings: Settings,
    now: dt.datetime,
) -> int:
    """Record each rung once (unique per hazard and rung) and propose its enforcement actions."""
    today = local_date(now, settings)
    days = max(0, (today - row["deadline_date"]).days)
    applied = 0
    for index, step in enumerate(steps, start=row["escalation_step"] + 1):
        action_ids = [
            await enforcement_service.propose_system(
                kind=kind,
                enterprise_id=row["enterprise"],
                inspection_id=row["inspection"],
                hazard_id=row["id"],
                origin=ActionOrigin.ESCALATION,
                reason=f"隐患逾期未整改（逾期{days}日），{policy.STEP_LABELS[step]}",
                now=now,
            )
            for kind in STEP_ACTIONS[step]
        ]
        await HazardEscalation.insert(
            HazardEscalation(
                id=uuid.uuid4(),
                hazard=row["id"],
                step=index,
                action=step,
                days_overdue=days,
                trigger=trigger,
                enforcement_action_ids=ids_to_column(action_ids),
                applied_at=now,
            )
        )
        audit_service.record(
            SYSTEM,
            "hazard.escalate",
            ENTITY,
            row["id"],
            {"step": index, "action": step, "days_overdue": days, "trigger": trigger, "enforcement_action_ids": action_ids},
        )
        await notifications.notify(
            await followers(row["id"]), kind="hazard_escalated",
            key=f"hazard_escalated:{row['id']}:{index}", title=f"隐患逾期升级：{policy.STEP_LABELS[step]}",
            body=row["description"][:500], entity=(ENTITY, row["id"]), settings=settings, now=now,
        )
        applied += 1
    await Hazard.update(
        {Hazard.escalation_step: facts.escalation_level, Hazard.version: Hazard.version + 1, Hazard.updated_at: now}
    ).where(Hazard.id == row["id"])
    return applied


async def _apply_failed_recheck_escalation(row: dict[str, Any], settings: Settings, now: dt.datetime) -> None:
    facts, steps = policy.escalate_after_failed_recheck(facts_of(row), ladder(settings))
    if steps:
        await _apply_steps(row, facts, steps, "recheck_failed", settings, now)


async def escalate_overdue(settings: Settings, *, now: dt.datetime | None = None) -> wire.EscalationRun:
    """Apply every due rung of the ladder to every overdue hazard, once; create deadline rechecks.

    Safe to run as often as wanted (each rung is stored once per hazard, rows
    are locked while decided); ``POST /hazards/escalate`` calls it in one unit
    of work. The scheduled job (``server.jobs``) calls :func:`overdue_hazards`
    and :func:`escalate_one` instead, one unit of work per hazard.
    """
    now = _now(now)
    escalations = rechecks = 0
    for hazard_id in await overdue_hazards(settings, now=now):
        done = await escalate_one(hazard_id, settings, now=now)
        escalations += done.escalations
        rechecks += done.rechecks_created
    return wire.EscalationRun(ran_at=now, escalations=escalations, rechecks_created=rechecks)


async def overdue_hazards(settings: Settings, *, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Open hazards whose rectification deadline has passed (local calendar), the escalation pass's candidates."""
    today = local_date(_now(now), settings)
    rows = await Hazard.select(Hazard.id).where(
        Hazard.status.is_in(list(policy.OPEN_STATES)) & (Hazard.deadline_date < today)
    )
    return [r["id"] for r in rows]


async def escalate_one(hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None) -> wire.EscalationRun:
    """The escalation pass for one hazard, in the caller's unit of work."""
    now = _now(now)
    today = local_date(now, settings)
    row = await _locked_hazard(hazard_id)
    facts, steps = policy.escalate(facts_of(row), today, ladder(settings))
    escalations = rechecks = 0
    if steps:
        escalations = await _apply_steps(row, facts, steps, "overdue", settings, now)
    if policy.needs_deadline_recheck(facts, today, await _has_open_recheck(row["id"])):
        await create_recheck(SYSTEM, row, RecheckReason.DEADLINE_PASSED, settings, now=now)
        rechecks = 1
    if steps:
        await _publish_hazard(row["id"], settings, now)
    return wire.EscalationRun(ran_at=now, escalations=escalations, rechecks_created=rechecks)


# --- look-back campaigns ----------------------------------------------------------


async def open_lookback(
    actor: Actor, data: wire.LookbackCampaignCreate, settings: Settings, *, now: dt.datetime | None = None
) -> wire.LookbackCampaign:
    """A supervisor opens a 回头看 campaign: one recheck per closed hazard matching the criteria."""
    now = _now(now)
    if actor.role != Role.SUPERVISOR or actor.department_id is None:
        raise PermissionDenied("只有科室负责人可以组织回头看", "only supervisors open look-back campaigns")
    if data.closed_to_date < data.closed_from_date:
        raise InvalidInput("结束日期不得早于开始日期", "closed_to_date is before closed_from_date", field="closed_to_date")
    zone = ZoneInfo(settings.hazards.timezone)
    start = dt.datetime.combine(data.closed_from_date, dt.time.min, zone)
    end = dt.datetime.combine(data.closed_to_date + dt.timedelta(days=1), dt.time.min, zone)
    query = Hazard.select().where(
        (Hazard.status == HazardStatus.CLOSED)
        & (Hazard.closed_at >= start)
        & (Hazard.closed_at < end)
        & (Hazard.inspection.department == actor.department_id)
    )
    if data.level is not None:
        query = query.where(Hazard.level == data.level)
    if data.district is not None:
        query = query.where(Hazard.enterprise.district == data.district)
    if data.enterprise_ids:
        query = query.where(Hazard.enterprise.is_in(list(data.enterprise_ids)))
    rows = await query.order_by(Hazard.closed_at).limit(data.limit)
    campaign_id = uuid.uuid4()
    await LookbackCampaign.insert(
        LookbackCampaign(
            id=campaign_id,
            name=data.name,
            criteria=msgspec.json.encode(data).decode(),
            created_by=actor.user_id,
            created_at=now,
        )
    )
    audit_service.record(actor, "lookback.open", "lookback_campaign", campaign_id, data)
    recheck_ids = [
        await create_recheck(actor, row, RecheckReason.LOOKBACK, settings, campaign_id=campaign_id, now=now)
        for row in rows
    ]
    return wire.LookbackCampaign(id=campaign_id, name=data.name, created_by=actor.user_id, created_at=now, recheck_ids=recheck_ids)


async def get_lookback(actor: Actor, campaign_id: uuid.UUID) -> wire.LookbackCampaign:
    """A campaign, for leaders and admins, and for the supervisors of the department that opened it."""
    row = await LookbackCampaign.select(
        LookbackCampaign.all_columns(), LookbackCampaign.created_by.department.as_alias("department_id")
    ).where(LookbackCampaign.id == campaign_id).first()
    # A campaign belongs to its opener's department (only a department's supervisor opens one).
    if row is None or not (sees_all_departments(actor) or may_manage_department(actor, row["department_id"])):
        raise NotFound("回头看专项不存在", "campaign not found", field="campaign_id")
    rechecks = await Recheck.select(Recheck.id).where(Recheck.campaign == campaign_id).order_by(Recheck.created_at)
    return wire.LookbackCampaign(
        id=row["id"],
        name=row["name"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        recheck_ids=[r["id"] for r in rechecks],
    )


# --- offline mutations (registered in server/sync/mutations.py) ---------------------


async def apply_add_hazard(actor: Actor, mutation: wire.AddHazard) -> sync_wire.Applied:
    """A hazard pushed after the enterprise signed is kept as an amendment of the check, like a late item result."""
    _, mode = await _writable_for_hazard(actor, mutation.hazard)
    if mode is Mode.AMEND:
        amendment_id = uuid.uuid5(mutation.hazard.id, f"amend:{mutation.seq}")
        await inspections_service.add_amendment(
            actor, amendment_id, mutation.hazard.inspection_id, f"签字后发现隐患：{mutation.hazard.description}",
            {"kind": "amendment", "mutation": "add_hazard", "hazard": msgspec.to_builtins(mutation.hazard)},
            mutation.hazard.found_at or _now(None),
        )
        return sync_wire.Applied(seq=mutation.seq, entity_type="amendment", entity_id=amendment_id, amendment=True)
    record = await create_hazard(actor, mutation.hazard, get_settings())
    return sync_wire.Applied(seq=mutation.seq, entity_type=ENTITY, entity_id=record.id, version=record.version)


async def apply_report_rectification(actor: Actor, mutation: wire.ReportRectification) -> sync_wire.Applied:
    record = await report_rectification(actor, mutation.hazard_id, mutation.report, get_settings())
    return sync_wire.Applied(seq=mutation.seq, entity_type=ENTITY, entity_id=record.id, version=record.version)


async def apply_report_recheck(actor: Actor, mutation: wire.ReportRecheck) -> sync_wire.Applied:
    record = await record_recheck(actor, mutation.recheck_id, mutation.result, get_settings())
    return sync_wire.Applied(seq=mutation.seq, entity_type=RECHECK_ENTITY, entity_id=record.id)
