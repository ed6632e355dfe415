"""An inspection's states: started (or a patrol opened from the phone), signed and submitted, reviewed, cancelled.

A submitted (signed) inspection is locked: later item results and notes are
stored as amendments beside it (:mod:`server.inspections.notes`). A check with
a spot-check task carries its task along (:data:`TASK_FOLLOWERS`: the spot-check domain registers
:func:`server.spotchecks.completion.follow_check`, so this package imports nothing of spotchecks).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from schemas import sync as sync_wire
from schemas.inspections import (
    Inspection,
    InspectionCancel,
    InspectionReview,
    InspectionSubmit,
    StartInspection,
    SubmitInspection,
    unanswered_refusal,
)
from schemas.vocab import InspectionKind, InspectionStatus, Role
from server.accounts.policy import Actor, may_manage_department
from server.audit import service as audit_service
from server.checklists.tables import ChecklistItem
from server.context import Context
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hooks import Hooks
from server.inspections import access, assignment, records
from server.inspections.access import Write
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import ItemResult as ItemResultRow
from server.notifications import service as notifications


#: A rule another domain holds over the signing: raises the refusal, or returns.
SubmitGuard = Callable[[uuid.UUID], Awaitable[None]]

#: The guards every signing runs, by name, each registered by the domain that owns its rule (this package
#: imports none of them): ``evidence`` is :func:`server.evidence.service.ensure_none_pending`. A guard not
#: registered in this process is an error at the signing, never a rule silently skipped.
SUBMIT_GUARDS = ("evidence",)
_submit_guards: dict[str, SubmitGuard] = {}


def register_submit_guard(name: str, guard: SubmitGuard) -> None:
    """Make every signing of a check run ``guard(inspection_id)`` before it is stored."""
    if name not in SUBMIT_GUARDS:
        raise ValueError(f"no submit guard named {name!r} is expected (SUBMIT_GUARDS)")
    _submit_guards[name] = guard


#: What a check's new status does to its spot-check task, in the unit of work that changed the check.
TaskFollower = Callable[[uuid.UUID, InspectionStatus], Awaitable[None]]

#: Registered by the spot-check domain that owns the task (:func:`server.spotchecks.completion.follow_check`).
TASK_FOLLOWERS: Hooks[TaskFollower] = Hooks("task follower", ("spotchecks",))


async def _follow_task(task_id: uuid.UUID | None, status: InspectionStatus) -> None:
    """Carry a check's task along to the check's new ``status`` (nothing for a check without a task)."""
    if task_id is None:
        return
    for follow in TASK_FOLLOWERS.each():
        await follow(task_id, status)


async def _run_submit_guards(inspection_id: uuid.UUID) -> None:
    for name in SUBMIT_GUARDS:
        guard = _submit_guards.get(name)
        if guard is None:
            raise RuntimeError(f"the submit guard {name!r} is not registered (its domain's service was never imported)")
        await guard(inspection_id)


async def apply_start_inspection(ctx: Context, actor: Actor, mutation: StartInspection) -> sync_wire.Applied:
    """Start an assigned inspection, or open a new 巡查 (the phone made its id)."""
    # Loaded (and locked) once: the planned check it starts, or nothing when the phone opens a patrol with this id.
    inspection = (await access.load_many([mutation.inspection_id], lock=True)).get(mutation.inspection_id)
    if inspection is None:
        if mutation.enterprise_id is None:
            raise NotFound("检查记录不存在", "inspection not found", field="inspection_id")
        if actor.role != Role.INSPECTOR:
            raise PermissionDenied("只有执法检查人员可以发起巡查", "only inspectors open patrols")
        await assignment.require_enterprise(mutation.enterprise_id)
        template = await assignment.require_template(mutation.template_id)
        await access.require_team(InspectionKind.ROUTINE, mutation.enterprise_id, [actor.user_id], field="enterprise_id")
        opened, team = await assignment.insert_inspection(
            mutation.inspection_id, kind=InspectionKind.ROUTINE, status=InspectionStatus.IN_PROGRESS,
            enterprise_id=mutation.enterprise_id, template_id=mutation.template_id, department_id=actor.department_id,
            started_at=mutation.started_at, longitude=mutation.longitude, latitude=mutation.latitude,
            created_by=actor.user_id, team=[actor.user_id],
        )
        await records.publish_template(mutation.template_id, template)
        audit_service.record(actor, "inspection.open_patrol", "inspection", mutation.inspection_id, mutation)
        record = await records.publish(mutation.inspection_id, row=opened, team=team)
    else:
        access.require_writable(actor, inspection, Write.START)
        row = inspection.row
        if row["status"] != InspectionStatus.PLANNED:
            # Already started by a teammate (or submitted): starting again changes nothing.
            return sync_wire.Applied(seq=mutation.seq, entity_type="inspection", entity_id=row["id"], version=row["version"])
        started = await records.update_row(
            mutation.inspection_id,
            {
                InspectionRow.status: InspectionStatus.IN_PROGRESS,
                InspectionRow.started_at: mutation.started_at,
                InspectionRow.longitude: mutation.longitude,
                InspectionRow.latitude: mutation.latitude,
                InspectionRow.updated_at: ctx.now(),
                InspectionRow.version: InspectionRow.version + 1,
            },
        )
        audit_service.record(actor, "inspection.start", "inspection", mutation.inspection_id, mutation)
        record = await records.publish(mutation.inspection_id, row=started, team=inspection.team_rows())
    return sync_wire.Applied(seq=mutation.seq, entity_type="inspection", entity_id=record.id, version=record.version)


async def unanswered_items(inspection_id: uuid.UUID, template_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The checklist items of an inspection with no outcome yet, in checklist order."""
    if template_id is None:
        return []
    answered = ItemResultRow.select(ItemResultRow.item).where(ItemResultRow.inspection == inspection_id)
    return await ChecklistItem.select(ChecklistItem.id, ChecklistItem.code, ChecklistItem.text).where(
        (ChecklistItem.template == template_id) & ChecklistItem.id.not_in(answered)
    ).order_by(ChecklistItem.position)


async def ensure_all_answered(inspection_id: uuid.UUID, template_id: uuid.UUID | None) -> None:
    """Refuse (``items_unanswered``, naming them) while any checklist item has no outcome (the phone's rule too)."""
    refusal = unanswered_refusal(await unanswered_items(inspection_id, template_id), answered_item_ids=())
    if refusal is not None:
        raise StateConflict.of(refusal)


async def submit(actor: Actor, inspection_id: uuid.UUID, data: SubmitInspection | InspectionSubmit) -> Inspection:
    """Sign and submit (phone push or HTTP): every item answered, no photo pending; then locked."""
    inspection, _ = await access.writable(actor, inspection_id, Write.SUBMIT)
    row = inspection.row
    await ensure_all_answered(inspection_id, row["template"])
    await _run_submit_guards(inspection_id)
    submitted_at = data.submitted_at or records.current_time()
    submitted = await records.update_row(
        inspection_id,
        {
            InspectionRow.status: InspectionStatus.SUBMITTED,
            InspectionRow.submitted_at: submitted_at,
            InspectionRow.started_at: row["started_at"] or submitted_at,
            InspectionRow.summary: data.summary,
            InspectionRow.signed_by_name: data.signed_by_name,
            InspectionRow.updated_at: records.current_time(),
            InspectionRow.version: InspectionRow.version + 1,
        },
    )
    audit_service.record(actor, "inspection.submit", "inspection", inspection_id, data)
    await _follow_task(row["spot_check_task_id"], InspectionStatus.SUBMITTED)
    return await records.publish(inspection_id, row=submitted, team=inspection.team_rows())


async def review(ctx: Context, actor: Actor, inspection_id: uuid.UUID, data: InspectionReview) -> Inspection:
    """A supervisor of the check's department approves it (→ reviewed, publishable) or returns it to the team.

    A returned check is open again (in_progress): the team's phones receive it
    and record and sign once more; what was amended meanwhile stays beside it.
    """
    inspection = await access.load(inspection_id, lock=True)
    access.require_visible(actor, inspection)
    row = inspection.row
    if actor.role != Role.SUPERVISOR or not may_manage_department(actor, row["department"]):
        raise PermissionDenied("只有本科室负责人可以审核检查", "only the department's supervisor reviews a check")
    if row["status"] != InspectionStatus.SUBMITTED:
        raise StateConflict("只有已签字提交、待审核的检查可以审核", "only a submitted check can be reviewed", field="status")
    now = ctx.now()
    values: dict[Any, Any] = {
        InspectionRow.reviewed_by: actor.user_id,
        InspectionRow.reviewed_at: now,
        InspectionRow.review_note: data.reason,
        InspectionRow.updated_at: now,
        InspectionRow.version: InspectionRow.version + 1,
    }
    if data.decision == "approve":
        await ensure_all_answered(inspection_id, row["template"])  # a check signed before the rule existed
        values[InspectionRow.status] = InspectionStatus.REVIEWED
    else:
        if not data.reason.strip():
            raise InvalidInput("退回修改须写明理由", "returning a check needs the reason", field="reason")
        values[InspectionRow.status] = InspectionStatus.IN_PROGRESS
        values[InspectionRow.submitted_at] = None
    reviewed = await records.update_row(inspection_id, values)
    await _follow_task(row["spot_check_task_id"], values[InspectionRow.status])
    audit_service.record(actor, f"inspection.review_{data.decision}", "inspection", inspection_id,
                         {"decision": data.decision, "reason": data.reason, "status": [row["status"], values[InspectionRow.status]]})
    if data.decision != "approve":
        await notifications.notify(
            list(inspection.team), kind="check_returned",
            key=f"check_returned:{inspection_id}:{now.isoformat()}", title="检查记录被退回修改",
            body=data.reason, entity=("inspection", inspection_id), settings=ctx.settings, now=now,
        )
    return await records.publish(inspection_id, row=reviewed, team=inspection.team_rows())


async def cancel(actor: Actor, inspection_id: uuid.UUID, data: InspectionCancel) -> Inspection:
    """A supervisor of the check's department calls off a check not yet signed; the team's phones drop it."""
    inspection = await access.load(inspection_id, lock=True)
    access.require_visible(actor, inspection)
    if actor.role != Role.SUPERVISOR or not may_manage_department(actor, inspection.department):
        raise PermissionDenied("只有本科室负责人可以取消检查", "only the department's supervisor cancels a check")
    if inspection.status not in (InspectionStatus.PLANNED, InspectionStatus.IN_PROGRESS):
        raise StateConflict("只有尚未签字提交的检查可以取消", "only a check not yet signed can be cancelled", field="status")
    if not data.reason.strip():
        raise InvalidInput("取消检查须写明理由", "cancelling a check needs the reason", field="reason")
    now = records.current_time()
    cancelled = await records.update_row(inspection_id, {
        InspectionRow.status: InspectionStatus.CANCELLED, InspectionRow.review_note: data.reason,
        InspectionRow.updated_at: now, InspectionRow.version: InspectionRow.version + 1,
    })
    await _follow_task(inspection.row["spot_check_task_id"], InspectionStatus.CANCELLED)
    audit_service.record(actor, "inspection.cancel", "inspection", inspection_id,
                         {"reason": data.reason, "status": [inspection.status, InspectionStatus.CANCELLED]})
    return await records.publish(inspection_id, row=cancelled, team=inspection.team_rows())


async def apply_submit_inspection(ctx: Context, actor: Actor, mutation: SubmitInspection) -> sync_wire.Applied:
    """The phone's sign-and-submit: :func:`submit`. Submitting an already submitted one is refused."""
    record = await submit(actor, mutation.inspection_id, mutation)
    return sync_wire.Applied(seq=mutation.seq, entity_type="inspection", entity_id=record.id, version=record.version)
