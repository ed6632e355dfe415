"""A recheck's result: passed closes the hazard (a major one waits for 摘牌), failed escalates it; a closed one reopens.

The other pending rechecks of the hazard are cancelled once one has a result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from schemas import hazards as wire
from schemas import sync as sync_wire
from schemas.hazards import RecheckStatus
from schemas.vocab import HazardLevel, HazardStatus
from server import database, localtime
from server.accounts.policy import SYSTEM, Actor
from server.audit import service as audit_service
from server.context import Context
from server.errors import NotFound, PermissionDenied, StateConflict
from server.hazards import escalation, lifecycle, permissions, policy, rechecks, records
from server.hazards.tables import Hazard, Recheck, RecheckAssignee
from server.settings import Settings


async def record_recheck(
    actor: Actor,
    recheck_id: uuid.UUID,
    result: wire.RecheckResult,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> wire.Recheck:
    """An assigned inspector records the result: passed closes (a major hazard waits for 摘牌), failed escalates."""
    now = records.current_time(now)
    found = await Recheck.select(Recheck.hazard).where(Recheck.id == recheck_id).first()
    if found is None:
        raise NotFound("复查任务不存在", "recheck not found", field="recheck_id")
    # Lock order everywhere: the hazard, then its rechecks.
    row = await permissions.locked_hazard(found["hazard"])
    query = Recheck.select().where(Recheck.id == recheck_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    recheck = await query.first()
    assignees = {
        a["user"] for a in await RecheckAssignee.select(RecheckAssignee.user).where(RecheckAssignee.recheck == recheck_id)
    }
    policy.check_rechecker(actor.user_id, await rechecks.finders_of(row))
    if actor.user_id not in assignees:
        raise PermissionDenied("只有被指派的复查人员可以填报复查结果", "not assigned to this recheck", field="recheck_id")
    if recheck["status"] != RecheckStatus.PENDING:
        raise StateConflict("该复查任务已完成或已取消", "the recheck is no longer pending", field="recheck_id")
    today = localtime.local_date(result.checked_at or now, settings.hazards.timezone)
    before = records.facts_of(row)
    new = policy.record_recheck(before, passed=result.passed, new_deadline_date=result.new_deadline_date, today=today)
    checked_at = result.checked_at or now
    [recorded] = await Recheck.update(
        {
            Recheck.status: RecheckStatus.PASSED if result.passed else RecheckStatus.FAILED,
            Recheck.passed: result.passed,
            Recheck.note: result.note,
            Recheck.evidence_ids: records.ids_to_column(result.evidence_ids),
            Recheck.result_by: actor.user_id,
            Recheck.result_at: checked_at,
        }
    ).where(Recheck.id == recheck_id).returning(*Recheck.all_columns())
    audit_service.record(
        actor,
        "recheck.result",
        records.RECHECK_ENTITY,
        recheck_id,
        {"hazard_id": row["id"], "passed": result.passed, "note": result.note, "evidence_ids": result.evidence_ids},
    )
    current: dict[str, Any] | None = row  # the hazard as it now is, while known without reading it
    if new != before:
        reopened = before.status == HazardStatus.CLOSED
        row = current = await records.write_transition(
            actor,
            row,
            new,
            "hazard.reopen" if reopened else "hazard.recheck",
            now,
            extra={Hazard.closed_at: None, Hazard.closed_by: None} if reopened else None,
            changes={"recheck_id": recheck_id, "passed": result.passed},
        )
        if result.passed and new.level == HazardLevel.GENERAL:
            current = await lifecycle.close_row(actor, row, now)
        elif not result.passed:
            await escalation.escalate_after_failed_recheck(row, settings, now)
            current = None  # the ladder may have written it again
        await _cancel_other_rechecks(row["id"], recheck_id, localtime.local_date(now, settings.hazards.timezone))
    await records.publish_hazard(row["id"], settings, now, row=current)
    return await rechecks.publish_recheck(
        recheck_id, today=localtime.local_date(now, settings.hazards.timezone), row=recorded, assignees=assignees
    )


async def _cancel_other_rechecks(hazard_id: uuid.UUID, keep: uuid.UUID, today: dt.date) -> None:
    others = await Recheck.select(Recheck.id).where(
        (Recheck.hazard == hazard_id) & (Recheck.status == RecheckStatus.PENDING) & (Recheck.id != keep)
    )
    for other in others:
        await Recheck.update({Recheck.status: RecheckStatus.CANCELLED}).where(Recheck.id == other["id"])
        audit_service.record(SYSTEM, "recheck.cancel", records.RECHECK_ENTITY, other["id"], {"superseded_by": keep})
        await rechecks.publish_recheck(other["id"], today=today)


async def apply_report_recheck(ctx: Context, actor: Actor, mutation: wire.ReportRecheck) -> sync_wire.Applied:
    record = await record_recheck(actor, mutation.recheck_id, mutation.result, ctx.settings, now=ctx.now())
    return sync_wire.Applied(seq=mutation.seq, entity_type=records.RECHECK_ENTITY, entity_id=record.id)
