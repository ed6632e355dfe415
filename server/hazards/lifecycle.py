"""A hazard's life (查改督销): record it, read and list it, rectification started and reported, 销号.

Recording needs the check writable for a hazard; one pushed after the
enterprise signed is kept as an amendment of the check (:func:`apply_add_hazard`).
A reported rectification opens a recheck (:mod:`server.hazards.rechecks`); a
recheck's result is :mod:`server.hazards.recheck_results`'s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from schemas import hazards as wire
from schemas.audit import AuditRecord
from schemas import sync as sync_wire
from schemas.hazards import RecheckReason
from schemas.problems import ErrorCode
from schemas.vocab import HazardLevel, HazardStatus
from server import localtime
from server.accounts.policy import SYSTEM, Actor
from server.audit import service as audit_service
from server.checklists import service as checklists_service
from server.context import Context
from server.errors import InvalidInput, NotFound, StateConflict
from server.hazards import permissions, policy, proposals, rechecks, records
from server.hazards.tables import Hazard, Recheck
from server.inspections import notes as inspection_notes
from server.inspections import records as inspection_records
from server.inspections.access import Mode
from server.settings import Settings


async def create_hazard(
    actor: Actor, data: wire.HazardCreate, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    """Record a hazard found in an inspection; a major one is listed for supervision (挂牌督办)."""
    now = records.current_time(now)
    facts, mode = await permissions.writable_for_hazard(actor, data)
    if mode is Mode.AMEND:
        raise StateConflict(
            "该检查已签字提交，不能再直接记录隐患；签字后发现的隐患由手机同步为补正记录，或退回修改后记录",
            "the inspection is signed: a later hazard is kept as an amendment (sync) or recorded after a return",
            field="inspection_id",
        )
    inspection = dict(facts.row)
    item_is_major: bool | None = None
    if data.checklist_item_id is not None:
        item = await checklists_service.item_of(data.checklist_item_id)
        if item is None or (inspection["template"] is not None and item[0] != inspection["template"]):
            raise InvalidInput(
                "检查项不存在或不属于本次检查的检查表",
                "checklist item unknown or not in this inspection's template",
                code=ErrorCode.UNKNOWN_REFERENCE,
                field="checklist_item_id",
            )
        item_is_major = item[1]
    found_at = data.found_at or now
    facts = policy.open_hazard(
        level=data.level,
        deadline_date=data.deadline_date,
        found_date=localtime.local_date(found_at, settings.hazards.timezone),
        five_in_place=data.five_in_place,
        item_is_major=item_is_major,
    )
    listed = policy.is_listed_supervision(facts)
    five = data.five_in_place
    written = await Hazard.insert(
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
    ).on_conflict(target=Hazard.id, action="DO NOTHING").returning(*Hazard.all_columns())
    if not written:  # the id is taken: the insert wrote nothing
        raise StateConflict("该隐患已记录", "hazard already recorded", code=ErrorCode.DUPLICATE, field="id")
    audit_service.record(actor, "hazard.open", records.ENTITY, data.id, data)
    if listed:
        audit_service.record(actor, "hazard.list_supervision", records.ENTITY, data.id, {"listed_at": now.isoformat()})
        await proposals.SECTION_113.one()(inspection["enterprise"], settings, now=now)  # proposes; leaves the row alone
    return await records.publish_hazard(data.id, settings, now, row=written[0])


async def get_hazard(actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None) -> wire.Hazard:
    row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    await permissions.check_may_see(actor, row)
    return (await records.to_wire([row], settings, now))[0]


async def list_for_inspection(
    actor: Actor, inspection_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> list[wire.Hazard]:
    """The hazards found in one inspection the actor may see, oldest first."""
    await inspection_records.get(actor, inspection_id)
    rows = await Hazard.select().where(Hazard.inspection == inspection_id).order_by(Hazard.found_at)
    return await records.to_wire(rows, settings, now)


async def history(actor: Actor, hazard_id: uuid.UUID) -> list[AuditRecord]:
    """The audit entries of a hazard and of its rechecks, oldest first."""
    row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    await permissions.check_may_see(actor, row)
    its_rechecks = await Recheck.select(Recheck.id).where(Recheck.hazard == hazard_id)
    return await audit_service.entries_for([(records.ENTITY, hazard_id)] + [(records.RECHECK_ENTITY, r["id"]) for r in its_rechecks])


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
    now = records.current_time(now)
    query = Hazard.select()
    visible = await permissions.visible_hazard_ids(actor)
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
        today = localtime.local_date(now, settings.hazards.timezone)
        open_states = list(policy.OPEN_STATES)
        if overdue:
            query = query.where(Hazard.status.is_in(open_states) & (Hazard.deadline_date < today))
        else:
            query = query.where(Hazard.status.not_in(open_states) | (Hazard.deadline_date >= today))
    rows = await query.order_by(Hazard.found_at, ascending=False).limit(limit).offset(offset)
    return await records.to_wire(rows, settings, now)


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
    now = records.current_time(now)
    today = localtime.local_date(now, settings.hazards.timezone)
    query = Hazard.select().where(Hazard.status != HazardStatus.CLOSED)
    visible = await permissions.visible_hazard_ids(actor)
    if visible is not None:
        if not visible:
            return [], 0
        query = query.where(Hazard.id.is_in(visible))
    if level is not None:
        query = query.where(Hazard.level == level)
    if listed_supervision is not None:
        query = query.where(Hazard.listed_supervision == listed_supervision)
    rows = await query
    rows.sort(key=lambda r: (not policy.is_overdue(records.facts_of(r), today), r["deadline_date"], r["found_at"], str(r["id"])))
    return await records.to_wire(rows[offset:offset + limit], settings, now), len(rows)


async def start_rectification(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    now = records.current_time(now)
    row = await permissions.locked_hazard(hazard_id)
    await permissions.check_may_change(actor, row)
    written = await records.write_transition(
        actor, row, policy.start_rectification(records.facts_of(row)), "hazard.start_rectification", now
    )
    return await records.publish_hazard(hazard_id, settings, now, row=written)


async def report_rectification(
    actor: Actor,
    hazard_id: uuid.UUID,
    report: wire.RectificationReport,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> wire.Hazard:
    """The enterprise reports the fix; a 回头看 recheck is created unless one is already waiting."""
    now = records.current_time(now)
    row = await permissions.locked_hazard(hazard_id)
    await permissions.check_may_change(actor, row)
    new = policy.report_rectification(records.facts_of(row))
    reported_at = report.reported_at or now
    written = await records.write_transition(
        actor,
        row,
        new,
        "hazard.report_rectification",
        now,
        extra={
            Hazard.rectification_reported_at: reported_at,
            Hazard.rectification_note: report.note,
            Hazard.rectification_evidence_ids: records.ids_to_column(report.evidence_ids),
        },
        changes={"note": report.note, "evidence_ids": report.evidence_ids, "reported_at": reported_at.isoformat()},
    )
    if not await rechecks.has_open_recheck(hazard_id):
        await rechecks.create_recheck(SYSTEM, written, RecheckReason.RECTIFICATION_REPORTED, settings, now=now)
    return await records.publish_hazard(hazard_id, settings, now, row=written)  # a recheck leaves the row alone


async def close_hazard(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Hazard:
    """销号 (摘牌 for a major hazard) after a passed recheck; supervisors only."""
    now = records.current_time(now)
    row = await permissions.supervised_hazard(actor, hazard_id, "销号", "closes a hazard")
    closed = await close_row(actor, row, now)
    return await records.publish_hazard(hazard_id, settings, now, row=closed)


async def close_row(actor: Actor, row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Close the hazard (销号); gives its row as it now is."""
    new = policy.close_hazard(records.facts_of(row))
    return await records.write_transition(actor, row, new, "hazard.close", now, extra={Hazard.closed_at: now, Hazard.closed_by: actor.user_id})


async def apply_add_hazard(ctx: Context, actor: Actor, mutation: wire.AddHazard) -> sync_wire.Applied:
    """A hazard pushed after the enterprise signed is kept as an amendment of the check, like a late item result."""
    _, mode = await permissions.writable_for_hazard(actor, mutation.hazard)
    if mode is Mode.AMEND:
        amendment_id = uuid.uuid5(mutation.hazard.id, f"amend:{mutation.seq}")
        await inspection_notes.add_amendment(
            actor, amendment_id, mutation.hazard.inspection_id, f"签字后发现隐患：{mutation.hazard.description}",
            {"kind": "amendment", "mutation": "add_hazard", "hazard": msgspec.to_builtins(mutation.hazard)},
            mutation.hazard.found_at or ctx.now(),
        )
        return sync_wire.Applied(seq=mutation.seq, entity_type="amendment", entity_id=amendment_id, amendment=True)
    record = await create_hazard(actor, mutation.hazard, ctx.settings, now=ctx.now())
    return sync_wire.Applied(seq=mutation.seq, entity_type=records.ENTITY, entity_id=record.id, version=record.version)


async def apply_report_rectification(
    ctx: Context, actor: Actor, mutation: wire.ReportRectification
) -> sync_wire.Applied:
    record = await report_rectification(actor, mutation.hazard_id, mutation.report, ctx.settings, now=ctx.now())
    return sync_wire.Applied(seq=mutation.seq, entity_type=records.ENTITY, entity_id=record.id, version=record.version)
