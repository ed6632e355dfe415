"""Inspections: assignment, the offline mutations that fill them, conflicts and amendments.

Rules held here:

- Who may see and write an inspection, in which state, and which team may
  carry it out is :mod:`server.inspections.access` (every other domain calls
  it too).
- Item results merge field by field. A field another writer changed after
  the phone's ``base_version`` is a conflict when the values differ: the
  server value stays, the phone's value is kept in an ``ItemResultConflict``
  for a supervisor, and the phone is told. Nothing is dropped. A writer is one
  user on one device (``field_versions`` keeps both): the same inspector on
  two phones conflicts like two inspectors, while one phone's own later edit,
  or a device that had pulled the other's write, merges.
- A submitted (signed) inspection is locked: later item results and notes are
  stored as amendments beside it (:func:`add_amendment`, which hazards and
  三违 pushed after the signing use too).
- Every write is audited and published to the change feed
  (``inspection:<id>`` scope) in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from schemas import sync as sync_wire
from schemas.inspections import (
    ITEM_RESULT_FIELDS,
    AddNote,
    Amendment,
    ConflictResolution,
    Inspection,
    InspectionAssign,
    InspectionCancel,
    InspectionCreate,
    InspectionReview,
    InspectionSubmit,
    ItemResult,
    ItemResultConflict,
    RecordItemResult,
    StartInspection,
    SubmitInspection,
    item_result_refusal,
    unanswered_refusal,
)
from schemas.problems import ErrorCode
from schemas.audit import AuditRecord
from schemas.vocab import District, InspectionKind, InspectionStatus, ItemOutcome, Role, Sector
from server import database
from server.accounts.policy import Actor, may_manage_department, sees_all_departments
from server.accounts.tables import User
from server.audit import service as audit_service
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.inspections import access
from server.inspections.access import LOCKED_STATUSES, Mode, Write
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import InspectionAmendment, InspectionInspector, ItemResultConflict as ConflictRow
from server.inspections.tables import ItemResult as ItemResultRow
from server.notifications import service as notifications
from server.spotchecks import completion, covert
from server.registry.tables import Enterprise
from server.settings import get_settings
from server.sync import scopes, sql
from server.sync import service as sync_service

#: Statuses in which an inspection is on its inspectors' phones.
OPEN_STATUSES = (InspectionStatus.PLANNED, InspectionStatus.IN_PROGRESS, InspectionStatus.SUBMITTED)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- reading ------------------------------------------------------------------


def _to_wire(row: dict[str, Any], team: Sequence[dict[str, Any]]) -> Inspection:
    lead = next((m["user"] for m in team if m["is_lead"]), None)
    return Inspection(
        id=row["id"],
        kind=InspectionKind(row["kind"]),
        status=InspectionStatus(row["status"]),
        enterprise_id=row["enterprise"],
        inspector_ids=sorted((m["user"] for m in team), key=str),
        lead_inspector_id=lead,
        template_id=row["template"],
        department_id=row["department"],
        spot_check_task_id=row["spot_check_task_id"],
        recheck_of_hazard_id=row["recheck_of_hazard_id"],
        planned_date=row["planned_date"],
        started_at=row["started_at"],
        submitted_at=row["submitted_at"],
        longitude=row["longitude"],
        latitude=row["latitude"],
        summary=row["summary"],
        signed_by_name=row["signed_by_name"],
        version=row["version"],
        updated_at=row["updated_at"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        review_note=row["review_note"],
    )


def _item_wire(row: dict[str, Any]) -> ItemResult:
    return ItemResult(
        id=row["id"],
        inspection_id=row["inspection"],
        item_id=row["item"],
        outcome=ItemOutcome(row["outcome"]),
        note=row["note"],
        version=row["version"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


def _conflict_wire(row: dict[str, Any], inspection_id: uuid.UUID) -> ItemResultConflict:
    return ItemResultConflict(
        id=row["id"],
        item_result_id=row["item_result"],
        inspection_id=inspection_id,
        field=row["field"],
        server_value=row["server_value"],
        client_value=row["client_value"],
        client_user_id=row["client_user"],
        client_device_id=row["client_device"],
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        resolution=row["resolution"],
    )


async def _team(inspection_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    teams: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in inspection_ids}
    if inspection_ids:
        rows = await InspectionInspector.select(
            InspectionInspector.inspection, InspectionInspector.user, InspectionInspector.is_lead
        ).where(InspectionInspector.inspection.is_in(list(inspection_ids)))
        for row in rows:
            teams[row["inspection"]].append(row)
    return teams


async def get(actor: Actor, inspection_id: uuid.UUID) -> Inspection:
    inspection = await access.load(inspection_id)
    access.require_visible(actor, inspection)
    return _to_wire(dict(inspection.row), (await _team([inspection_id]))[inspection_id])


@dataclass(frozen=True)
class InspectionFilter:
    """What the office narrows a list of checks by; the date is the day signed, or the planned day before."""

    status: InspectionStatus | None = None
    district: District | None = None
    sector: Sector | None = None
    inspector_id: uuid.UUID | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


async def _visible_where(actor: Actor, filters: InspectionFilter) -> list[Any]:
    """Conditions for the inspections an actor may list, narrowed by ``filters``."""
    where: list[Any] = []
    if actor.role == Role.INSPECTOR:
        mine = await InspectionInspector.select(InspectionInspector.inspection).where(
            InspectionInspector.user == actor.user_id
        )
        ids = [m["inspection"] for m in mine]
        hidden = await covert.hidden_inspections(ids)
        where.append(InspectionRow.id.is_in([i for i in ids if i not in hidden] or [uuid.uuid4()]))
    elif not sees_all_departments(actor):
        where.append(InspectionRow.department == actor.department_id)
    if filters.status is not None:
        where.append(InspectionRow.status == filters.status)
    if filters.district is not None:
        where.append(InspectionRow.enterprise.district == filters.district)
    if filters.sector is not None:
        where.append(InspectionRow.enterprise.sector == filters.sector)
    if filters.inspector_id is not None:
        where.append(InspectionRow.id.is_in(
            InspectionInspector.select(InspectionInspector.inspection).where(InspectionInspector.user == filters.inspector_id)
        ))
    if filters.date_from is not None or filters.date_to is not None:
        zone = ZoneInfo(get_settings().hazards.timezone)
        first = filters.date_from or dt.date(1900, 1, 1)
        last = filters.date_to or dt.date(9999, 12, 30)
        start = dt.datetime.combine(first, dt.time(), zone)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        signed = InspectionRow.submitted_at.is_not_null() & (InspectionRow.submitted_at >= start) & (
            InspectionRow.submitted_at < end
        )
        planned = InspectionRow.submitted_at.is_null() & (InspectionRow.planned_date >= first) & (
            InspectionRow.planned_date <= last
        )
        where.append(signed | planned)
    return where


async def list_for(
    actor: Actor, filters: InspectionFilter = InspectionFilter(), *, limit: int = 200, offset: int = 0
) -> list[Inspection]:
    """Inspections the actor works on (inspectors) or manages (supervisors, admins, leaders), newest first."""
    query = InspectionRow.select().order_by(InspectionRow.created_at, ascending=False).order_by(InspectionRow.id)
    for condition in await _visible_where(actor, filters):
        query = query.where(condition)
    rows = await query.limit(limit).offset(offset)
    teams = await _team([r["id"] for r in rows])
    return [_to_wire(r, teams[r["id"]]) for r in rows]


async def count_for(actor: Actor, filters: InspectionFilter = InspectionFilter()) -> int:
    """How many inspections :func:`list_for` pages through with these filters."""
    query = InspectionRow.count()
    for condition in await _visible_where(actor, filters):
        query = query.where(condition)
    return await query


async def item_results(actor: Actor, inspection_id: uuid.UUID) -> list[ItemResult]:
    """Every item result of an inspection the actor may see."""
    access.require_visible(actor, await access.load(inspection_id))
    rows = await ItemResultRow.select().where(ItemResultRow.inspection == inspection_id).order_by(ItemResultRow.updated_at)
    return [_item_wire(r) for r in rows]


async def amendments(actor: Actor, inspection_id: uuid.UUID) -> list[Amendment]:
    """Notes and after-signing amendments of an inspection the actor may see, oldest first."""
    access.require_visible(actor, await access.load(inspection_id))
    rows = await InspectionAmendment.select().where(InspectionAmendment.inspection == inspection_id).order_by(
        InspectionAmendment.created_at
    ).output(load_json=True)
    return [
        Amendment(id=r["id"], inspection_id=r["inspection"], author_id=r["author"], text=r["text"],
                  payload=r["payload"] or {}, created_at=r["created_at"])
        for r in rows
    ]


async def history(actor: Actor, inspection_id: uuid.UUID) -> list[AuditRecord]:
    """The audit entries of an inspection and of its item results, oldest first."""
    access.require_visible(actor, await access.load(inspection_id))
    results = await ItemResultRow.select(ItemResultRow.id).where(ItemResultRow.inspection == inspection_id)
    return await audit_service.entries_for(
        [("inspection", inspection_id)] + [("item_result", r["id"]) for r in results]
    )


async def sync_scopes(actor: Actor) -> set[str]:
    """The scope keys an actor's phone receives for inspections (see ``server.sync.scopes``)."""
    if actor.role != Role.INSPECTOR or actor.user_id is None:
        return set()
    # A submitted check stays on the team's phones for a while (amendments, a late photo), then leaves them;
    # returned for correction it is in progress again and comes back whole.
    kept_since = _now() - dt.timedelta(hours=get_settings().sync.keep_submitted_hours)
    rows = await InspectionRow.select(
        InspectionRow.id, InspectionRow.enterprise, InspectionRow.template
    ).where(
        InspectionRow.id.is_in(
            InspectionInspector.select(InspectionInspector.inspection).where(InspectionInspector.user == actor.user_id)
        ),
        InspectionRow.status.is_in([s for s in OPEN_STATUSES if s != InspectionStatus.SUBMITTED])
        | ((InspectionRow.status == InspectionStatus.SUBMITTED) & (InspectionRow.submitted_at >= kept_since)),
    )
    hidden = await covert.hidden_inspections([r["id"] for r in rows])
    keys: set[str] = set()
    for row in rows:
        if row["id"] in hidden:
            continue
        keys.add(scopes.inspection(row["id"]))
        keys.add(scopes.enterprise(row["enterprise"]))
        if row["template"] is not None:
            keys.add(scopes.template(row["template"]))
    return keys


async def publish_template(template_id: uuid.UUID | None) -> None:
    """Put the checklist (with its items) on the phones of inspections using it; versions never change."""
    if template_id is None:
        return
    from server.checklists import service as checklists_service
    from server.accounts.policy import SYSTEM

    template = await checklists_service.get(SYSTEM, template_id)
    await sync_service.publish("checklist_template", template_id, template, scope=scopes.template(template_id))


async def publish(inspection_id: uuid.UUID) -> Inspection:
    """Publish an inspection's current state to its scope (after any write to it or its team)."""
    row = await InspectionRow.select().where(InspectionRow.id == inspection_id).first()
    team = (await _team([inspection_id]))[inspection_id]
    record = _to_wire(row, team)
    await sync_service.publish("inspection", inspection_id, record, scope=scopes.inspection(inspection_id))
    return record


# --- assignment -----------------------------------------------------------------


async def _check_team(kind: InspectionKind, enterprise_id: uuid.UUID, inspector_ids: Sequence[uuid.UUID]) -> None:
    """A team a supervisor names: distinct active inspectors, then the team rule of ``access.require_team``."""
    if len(set(inspector_ids)) != len(inspector_ids):
        raise InvalidInput("检查人员重复", "duplicate inspector", field="inspector_ids")
    users = await User.select(User.id, User.role, User.active).where(User.id.is_in(list(inspector_ids)))
    if len(users) != len(inspector_ids) or any(u["role"] != Role.INSPECTOR or not u["active"] for u in users):
        raise InvalidInput("检查人员须为在职的执法检查人员", "inspectors must be active inspectors", field="inspector_ids")
    await access.require_team(kind, enterprise_id, inspector_ids)


#: Kinds whose team is chosen by a draw or the recheck rule, never named by hand afterwards.
_DRAWN_TEAM_KINDS = (InspectionKind.SPOT_CHECK, InspectionKind.COVERT, InspectionKind.RECHECK)


async def assign_team(actor: Actor, inspection_id: uuid.UUID, data: InspectionAssign) -> Inspection:
    """A supervisor of the department (re)names the team of a check not yet started (the first listed leads)."""
    inspection = await access.load(inspection_id, lock=True)
    access.require_visible(actor, inspection)
    row = inspection.row
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN) or not may_manage_department(actor, row["department"]):
        raise PermissionDenied("只有本科室负责人可以指派检查组", "only the department's supervisor assigns a team")
    if row["status"] != InspectionStatus.PLANNED:
        raise StateConflict("只有尚未开始的检查可以重新指派", "only a planned check can be reassigned", field="status")
    if row["kind"] in _DRAWN_TEAM_KINDS:
        raise StateConflict(
            "随机抽取或复查指派的检查组不能手工更改", "a drawn or recheck team cannot be changed by hand", field="kind"
        )
    await _check_team(row["kind"], row["enterprise"], data.inspector_ids)
    now = _now()
    await InspectionInspector.delete().where(InspectionInspector.inspection == inspection_id)
    await _write_team(inspection_id, data.inspector_ids, now)
    await InspectionRow.update(
        {InspectionRow.updated_at: now, InspectionRow.version: InspectionRow.version + 1}
    ).where(InspectionRow.id == inspection_id)
    audit_service.record(actor, "inspection.assign", "inspection", inspection_id, {
        "inspector_ids": [[str(u) for u in inspection.team], [str(u) for u in data.inspector_ids]],
    })
    await publish_template(row["template"])
    return await publish(inspection_id)


async def create(actor: Actor, data: InspectionCreate) -> Inspection:
    """A supervisor assigns a check of an enterprise to a team (the first inspector leads)."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("只有科室/支队负责人可以分派检查", "only supervisors assign inspections")
    if data.kind == InspectionKind.COVERT:
        # A covert check's target is secret until its task's release, which is what creates the check.
        raise InvalidInput(
            "暗查暗访检查只能由随机抽查计划在发布时生成，不能手工分派",
            "covert checks are created only by a spot-check release",
            field="kind",
        )
    if await Enterprise.count().where(Enterprise.id == data.enterprise_id) == 0:
        raise InvalidInput("企业不存在", "unknown enterprise", field="enterprise_id")
    await _check_team(data.kind, data.enterprise_id, data.inspector_ids)
    if data.template_id is not None and await ChecklistTemplate.count().where(ChecklistTemplate.id == data.template_id) == 0:
        raise InvalidInput("检查表不存在", "unknown checklist template", field="template_id")
    if data.id is not None and await InspectionRow.exists().where(InspectionRow.id == data.id):
        raise StateConflict("该检查已存在", "an inspection with this id exists", code=ErrorCode.DUPLICATE, field="id")
    inspection_id = data.id or uuid.uuid4()
    await _insert(
        inspection_id, kind=data.kind, enterprise_id=data.enterprise_id, template_id=data.template_id,
        department_id=actor.department_id, planned_date=data.planned_date, created_by=actor.user_id,
        team=data.inspector_ids,
    )
    audit_service.record(actor, "inspection.create", "inspection", inspection_id, data)
    await publish_template(data.template_id)
    return await publish(inspection_id)


async def create_for_task(
    *,
    task_id: uuid.UUID,
    kind: InspectionKind,
    enterprise_id: uuid.UUID,
    template_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    planned_date: dt.date | None,
    created_by: uuid.UUID | None,
    team: Sequence[uuid.UUID],
) -> uuid.UUID:
    """The inspection a released spot-check task becomes (its team checked like any other); not yet published."""
    await access.require_team(kind, enterprise_id, team)
    inspection_id = uuid.uuid4()
    await _insert(
        inspection_id, kind=kind, enterprise_id=enterprise_id, template_id=template_id, department_id=department_id,
        planned_date=planned_date, created_by=created_by, team=team, spot_check_task_id=task_id,
    )
    return inspection_id


async def _write_team(inspection_id: uuid.UUID, team: Sequence[uuid.UUID], now: dt.datetime) -> None:
    """The members of an inspection's team, the first listed leading."""
    await InspectionInspector.insert(
        *[
            InspectionInspector(id=uuid.uuid4(), inspection=inspection_id, user=u, is_lead=(n == 0), assigned_at=now)
            for n, u in enumerate(team)
        ]
    )


async def _insert(
    inspection_id: uuid.UUID,
    *,
    kind: InspectionKind,
    enterprise_id: uuid.UUID,
    template_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    created_by: uuid.UUID | None,
    team: Sequence[uuid.UUID],
    planned_date: dt.date | None = None,
    spot_check_task_id: uuid.UUID | None = None,
    status: InspectionStatus = InspectionStatus.PLANNED,
    started_at: dt.datetime | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
) -> None:
    """Write an inspection and its team (the first member leads)."""
    now = _now()
    await InspectionRow.insert(
        InspectionRow(
            id=inspection_id, kind=kind, status=status, enterprise=enterprise_id, template=template_id,
            department=department_id, spot_check_task_id=spot_check_task_id, planned_date=planned_date,
            started_at=started_at, longitude=longitude, latitude=latitude, created_by=created_by,
            created_at=now, updated_at=now, version=1,
        )
    )
    await _write_team(inspection_id, team, now)


# --- offline mutations (registered in server/sync/mutations.py) -----------------


async def apply_start_inspection(actor: Actor, mutation: StartInspection) -> sync_wire.Applied:
    """Start an assigned inspection, or open a new 巡查 (the phone made its id)."""
    exists = await InspectionRow.count().where(InspectionRow.id == mutation.inspection_id)
    if not exists:
        if mutation.enterprise_id is None:
            raise NotFound("检查记录不存在", "inspection not found", field="inspection_id")
        if actor.role != Role.INSPECTOR:
            raise PermissionDenied("只有执法检查人员可以发起巡查", "only inspectors open patrols")
        if await Enterprise.count().where(Enterprise.id == mutation.enterprise_id) == 0:
            raise InvalidInput("企业不存在", "unknown enterprise", field="enterprise_id")
        if mutation.template_id is not None and (
            await ChecklistTemplate.count().where(ChecklistTemplate.id == mutation.template_id) == 0
        ):
            raise InvalidInput("检查表不存在", "unknown checklist template", field="template_id")
        await access.require_team(InspectionKind.ROUTINE, mutation.enterprise_id, [actor.user_id], field="enterprise_id")
        await _insert(
            mutation.inspection_id, kind=InspectionKind.ROUTINE, status=InspectionStatus.IN_PROGRESS,
            enterprise_id=mutation.enterprise_id, template_id=mutation.template_id, department_id=actor.department_id,
            started_at=mutation.started_at, longitude=mutation.longitude, latitude=mutation.latitude,
            created_by=actor.user_id, team=[actor.user_id],
        )
        await publish_template(mutation.template_id)
        audit_service.record(actor, "inspection.open_patrol", "inspection", mutation.inspection_id, mutation)
    else:
        inspection, _ = await access.writable(actor, mutation.inspection_id, Write.START)
        row = inspection.row
        if row["status"] != InspectionStatus.PLANNED:
            # Already started by a teammate (or submitted): starting again changes nothing.
            return sync_wire.Applied(seq=mutation.seq, entity_type="inspection", entity_id=row["id"], version=row["version"])
        await InspectionRow.update(
            {
                InspectionRow.status: InspectionStatus.IN_PROGRESS,
                InspectionRow.started_at: mutation.started_at,
                InspectionRow.longitude: mutation.longitude,
                InspectionRow.latitude: mutation.latitude,
                InspectionRow.updated_at: _now(),
                InspectionRow.version: InspectionRow.version + 1,
            }
        ).where(InspectionRow.id == mutation.inspection_id)
        audit_service.record(actor, "inspection.start", "inspection", mutation.inspection_id, mutation)
    record = await publish(mutation.inspection_id)
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
    # Imported here: the evidence service imports this module for its visibility checks.
    from server.evidence import service as evidence_service

    await evidence_service.ensure_none_pending(inspection_id)
    submitted_at = data.submitted_at or _now()
    await InspectionRow.update(
        {
            InspectionRow.status: InspectionStatus.SUBMITTED,
            InspectionRow.submitted_at: submitted_at,
            InspectionRow.started_at: row["started_at"] or submitted_at,
            InspectionRow.summary: data.summary,
            InspectionRow.signed_by_name: data.signed_by_name,
            InspectionRow.updated_at: _now(),
            InspectionRow.version: InspectionRow.version + 1,
        }
    ).where(InspectionRow.id == inspection_id)
    audit_service.record(actor, "inspection.submit", "inspection", inspection_id, data)
    await completion.follow_check(row["spot_check_task_id"], InspectionStatus.SUBMITTED)
    return await publish(inspection_id)


async def review(actor: Actor, inspection_id: uuid.UUID, data: InspectionReview) -> Inspection:
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
    now = _now()
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
    await InspectionRow.update(values).where(InspectionRow.id == inspection_id)
    await completion.follow_check(row["spot_check_task_id"], values[InspectionRow.status])
    audit_service.record(actor, f"inspection.review_{data.decision}", "inspection", inspection_id,
                         {"decision": data.decision, "reason": data.reason, "status": [row["status"], values[InspectionRow.status]]})
    if data.decision != "approve":
        team = await _team([inspection_id])
        await notifications.notify(
            [m["user"] for m in team.get(inspection_id, [])], kind="check_returned",
            key=f"check_returned:{inspection_id}:{now.isoformat()}", title="检查记录被退回修改",
            body=data.reason, entity=("inspection", inspection_id), now=now,
        )
    return await publish(inspection_id)


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
    now = _now()
    await InspectionRow.update({
        InspectionRow.status: InspectionStatus.CANCELLED, InspectionRow.review_note: data.reason,
        InspectionRow.updated_at: now, InspectionRow.version: InspectionRow.version + 1,
    }).where(InspectionRow.id == inspection_id)
    await completion.follow_check(inspection.row["spot_check_task_id"], InspectionStatus.CANCELLED)
    audit_service.record(actor, "inspection.cancel", "inspection", inspection_id,
                         {"reason": data.reason, "status": [inspection.status, InspectionStatus.CANCELLED]})
    return await publish(inspection_id)


async def apply_submit_inspection(actor: Actor, mutation: SubmitInspection) -> sync_wire.Applied:
    """The phone's sign-and-submit: :func:`submit`. Submitting an already submitted one is refused."""
    record = await submit(actor, mutation.inspection_id, mutation)
    return sync_wire.Applied(seq=mutation.seq, entity_type="inspection", entity_id=record.id, version=record.version)


async def apply_add_note(actor: Actor, mutation: AddNote) -> sync_wire.Applied:
    """Append a note (an amendment once the inspection is signed). Append-only: a retry is recognised by id."""
    _, mode = await access.writable(actor, mutation.inspection_id, Write.NOTE)
    if await InspectionAmendment.count().where(InspectionAmendment.id == mutation.id):
        raise InvalidInput("记录编号已被占用", "id already used", code=None, field="id")
    locked = mode is Mode.AMEND
    await add_amendment(actor, mutation.id, mutation.inspection_id, mutation.text,
                            {"kind": "amendment" if locked else "note"}, mutation.created_at)
    return sync_wire.Applied(seq=mutation.seq, entity_type="amendment", entity_id=mutation.id, amendment=locked)


async def add_amendment(
    actor: Actor, amendment_id: uuid.UUID, inspection_id: uuid.UUID, text: str, payload: dict[str, Any],
    created_at: dt.datetime,
) -> None:
    """Keep a note, or a write that came after the signing, beside the inspection (audited, sent to its team)."""
    await InspectionAmendment.insert(
        InspectionAmendment(
            id=amendment_id, inspection=inspection_id, author=actor.user_id, text=text, payload=payload, created_at=created_at
        )
    )
    audit_service.record(actor, "inspection.amend" if payload.get("kind") == "amendment" else "inspection.note",
                         "inspection", inspection_id, {"amendment_id": str(amendment_id), "text": text, **payload})
    await sync_service.publish(
        "amendment",
        amendment_id,
        Amendment(id=amendment_id, inspection_id=inspection_id, author_id=actor.user_id, text=text,
                  payload=payload, created_at=created_at),
        scope=scopes.inspection(inspection_id),
    )


# --- item results: validated in memory, written in bulk -------------------------


@dataclass
class _ItemState:
    """One item result as the batch sees it (loaded, then changed by each accepted mutation)."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    item_id: uuid.UUID
    outcome: str | None
    note: str
    field_versions: dict[str, Any]
    version: int
    updated_by: uuid.UUID | None
    updated_at: dt.datetime
    dirty: bool = False
    new: bool = False


@dataclass
class _Batch:
    inspections: dict[uuid.UUID, dict[str, Any]]
    access: dict[uuid.UUID, Mode | Exception]  # how the actor may write each (access.require_writable)
    template_items: dict[uuid.UUID, set[uuid.UUID]]
    results: dict[tuple[uuid.UUID, uuid.UUID], _ItemState]
    taken_ids: set[uuid.UUID]
    started: dict[uuid.UUID, dt.datetime] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


async def _load_batch(actor: Actor, mutations: Sequence[RecordItemResult]) -> _Batch:
    # Locked: read-merge-write, one writer at a time.
    facts = await access.load_many({m.inspection_id for m in mutations}, lock=True)
    inspections = {i: dict(f.row) for i, f in facts.items()}
    decisions: dict[uuid.UUID, Mode | Exception] = {}
    for inspection_id, inspection in facts.items():
        try:
            decisions[inspection_id] = access.require_writable(actor, inspection, Write.ITEM_RESULT)
        except (NotFound, PermissionDenied, StateConflict) as refusal:
            decisions[inspection_id] = refusal
    rows = list(inspections.values())
    templates = list({r["template"] for r in rows if r["template"] is not None})
    template_items: dict[uuid.UUID, set[uuid.UUID]] = {t: set() for t in templates}
    if templates:
        for item in await ChecklistItem.select(ChecklistItem.id, ChecklistItem.template).where(
            ChecklistItem.template.is_in(templates)
        ):
            template_items[item["template"]].add(item["id"])
    results: dict[tuple[uuid.UUID, uuid.UUID], _ItemState] = {}
    own_ids = list({m.id for m in mutations})
    if database.is_postgres():
        # Raw SQL: a thousand-row batch is read in two statements without ORM row handling.
        rows = await sql.fetch(
            "SELECT id, inspection, item, outcome, note, field_versions, version, updated_by, updated_at"
            " FROM item_result WHERE inspection = ANY($1::uuid[])",
            "",
            list(inspections),
        )
        loaded = [dict(r) | {"field_versions": msgspec.json.decode(r["field_versions"] or "{}")} for r in rows]
        taken = {r[0] for r in await sql.fetch("SELECT id FROM item_result WHERE id = ANY($1::uuid[])", "", own_ids)}
    else:
        loaded = await ItemResultRow.select().where(ItemResultRow.inspection.is_in(list(inspections) or [uuid.uuid4()])).output(
            load_json=True
        )
        taken = {r["id"] for r in await ItemResultRow.select(ItemResultRow.id).where(ItemResultRow.id.is_in(own_ids))}
    for r in loaded:
        results[(r["inspection"], r["item"])] = _ItemState(
            id=r["id"], inspection_id=r["inspection"], item_id=r["item"], outcome=r["outcome"], note=r["note"],
            field_versions=dict(r["field_versions"] or {}), version=r["version"], updated_by=r["updated_by"],
            updated_at=r["updated_at"],
        )
    return _Batch(inspections, decisions, template_items, results, taken)


def _apply_one(
    actor: Actor, batch: _Batch, m: RecordItemResult, now: dt.datetime
) -> sync_wire.Applied | sync_wire.Conflict | InvalidInput | NotFound | StateConflict | tuple[str, dict[str, Any]]:
    """Decide one mutation against the batch state; change the state only if it is accepted.

    Returns an outcome, a domain error to reject with, or ``("amend", payload)``
    when the inspection is locked and the edit must become an amendment.
    """
    inspection = batch.inspections.get(m.inspection_id)
    if inspection is None:
        return NotFound("检查记录不存在", "inspection not found", field="inspection_id")
    mode = batch.access[m.inspection_id]
    if isinstance(mode, Exception):
        return mode
    status = inspection["status"]
    template = inspection["template"]
    if template is not None and m.item_id not in batch.template_items.get(template, set()):
        return InvalidInput("检查项不属于该检查表", "item is not in the inspection's checklist", field="item_id")
    changes = {f: msgspec.to_builtins(getattr(m, f)) for f in ITEM_RESULT_FIELDS if getattr(m, f) is not msgspec.UNSET}
    if (refusal := item_result_refusal(changes, first=False)) is not None:
        return InvalidInput.of(refusal)
    if mode is Mode.AMEND:
        return ("amend", {"kind": "amendment", "mutation": "record_item_result", "item_id": str(m.item_id), "changes": changes})
    state = batch.results.get((m.inspection_id, m.item_id))
    user = str(actor.user_id)
    device = str(actor.device_id) if actor.device_id else None
    if state is None:
        if (refusal := item_result_refusal(changes, first=True)) is not None:
            return InvalidInput.of(refusal)
        if m.id in batch.taken_ids:
            return InvalidInput("记录编号已被占用", "id already used", field="id")
        state = _ItemState(
            id=m.id, inspection_id=m.inspection_id, item_id=m.item_id, outcome=None, note="", field_versions={},
            version=0, updated_by=actor.user_id, updated_at=now, new=True,
        )
        batch.results[(m.inspection_id, m.item_id)] = state
        batch.taken_ids.add(m.id)
    conflicted: list[tuple[str, Any, Any]] = []
    applied: dict[str, Any] = {}
    for name, value in changes.items():
        current = getattr(state, name)
        if current == value:
            continue
        written = state.field_versions.get(name) or {}
        if written.get("v", 0) > m.base_version and _by_other(written, user, device):
            conflicted.append((name, current, value))
        else:
            applied[name] = value
    if applied:
        state.version += 1
        for name, value in applied.items():
            setattr(state, name, value)
            state.field_versions[name] = {"v": state.version, "by": user, "dev": device}
        state.updated_by, state.updated_at, state.dirty = actor.user_id, now, True
        if status == InspectionStatus.PLANNED and m.inspection_id not in batch.started:
            batch.started[m.inspection_id] = m.recorded_at or now
            inspection["status"] = InspectionStatus.IN_PROGRESS
    conflict_ids = []
    for name, server_value, client_value in conflicted:
        conflict_id = uuid.uuid4()
        conflict_ids.append(conflict_id)
        batch.conflicts.append(
            {"id": conflict_id, "state": state, "field": name, "server_value": server_value, "client_value": client_value}
        )
    if conflicted:
        return sync_wire.Conflict(
            seq=m.seq, entity_type="item_result", entity_id=state.id, fields=[c[0] for c in conflicted],
            conflict_ids=conflict_ids, server_version=state.version,
            server_record=msgspec.to_builtins(_state_wire(state)),
        )
    return sync_wire.Applied(seq=m.seq, entity_type="item_result", entity_id=state.id, version=state.version)


def _by_other(written: dict[str, Any], user: str, device: str | None) -> bool:
    """True if a field's last write came from another writer: another user, or the same user on another device."""
    if written.get("by") is None:
        return False
    if written["by"] != user:
        return True
    # Entries written before devices were kept name only the user: read as this writer's own.
    return "dev" in written and written["dev"] != device


def _state_wire(state: _ItemState) -> ItemResult:
    return ItemResult(
        id=state.id, inspection_id=state.inspection_id, item_id=state.item_id, outcome=state.outcome, note=state.note,
        version=state.version, updated_by=state.updated_by, updated_at=state.updated_at,
    )


async def apply_record_item_results(
    actor: Actor, mutations: Sequence[RecordItemResult]
) -> list[sync_wire.Applied | sync_wire.Conflict | Exception]:
    """Apply many item results at once: read once, decide each in memory, write in bulk.

    Returns one entry per mutation: an outcome, or the domain error that
    rejects it (a rejected one changes nothing). The caller runs this inside a
    savepoint and falls back to one mutation at a time if the bulk write fails.
    """
    now = _now()
    batch = await _load_batch(actor, mutations)
    decided: list[Any] = []
    amendments: list[tuple[uuid.UUID, RecordItemResult, dict[str, Any]]] = []
    for m in mutations:
        result = _apply_one(actor, batch, m, now)
        if isinstance(result, tuple):
            # Derived from the mutation, so the amendment's id is the same whoever computes it.
            amendment_id = uuid.uuid5(m.id, f"amend:{m.seq}")
            amendments.append((amendment_id, m, result[1]))
            result = sync_wire.Applied(seq=m.seq, entity_type="amendment", entity_id=amendment_id, amendment=True)
        decided.append(result)
    await _write_batch(actor, batch, now)
    for amendment_id, m, payload in amendments:
        await add_amendment(actor, amendment_id, m.inspection_id, "签字后修改检查项", payload, m.recorded_at or now)
    # One audit entry per inspection per batch, listing every item result written in it (with the
    # device's seq): the trail stays complete while a 1,000-mutation push appends ~10 entries, not 1,000.
    per_inspection: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for m, result in zip(mutations, decided, strict=True):
        if not isinstance(result, Exception) and not (isinstance(result, sync_wire.Applied) and result.amendment):
            per_inspection.setdefault(m.inspection_id, []).append({
                "seq": m.seq,
                "item_result_id": str(result.entity_id),
                "item_id": str(m.item_id),
                "outcome": "conflict" if isinstance(result, sync_wire.Conflict) else "applied",
                **({} if m.outcome is msgspec.UNSET else {"result": str(m.outcome)}),
                **({} if m.note is msgspec.UNSET else {"note": m.note}),
            })
    for inspection_id, results in per_inspection.items():
        audit_service.record(actor, "inspection.item_results", "inspection", inspection_id, {"results": results})
    return decided


async def _write_batch(actor: Actor, batch: _Batch, now: dt.datetime) -> None:
    dirty = [s for s in batch.results.values() if s.dirty]
    if dirty:
        encode = msgspec.json.encode
        if database.is_postgres():
            await sql.bulk(
                """
                INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version, updated_by, updated_at)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::json[],
                                     $7::int[], $8::uuid[], $9::timestamptz[])
                ON CONFLICT (inspection, item) DO UPDATE SET outcome = excluded.outcome, note = excluded.note,
                    field_versions = excluded.field_versions, version = excluded.version,
                    updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """,
                "",
                [
                    [s.id for s in dirty], [s.inspection_id for s in dirty], [s.item_id for s in dirty],
                    [s.outcome for s in dirty], [s.note for s in dirty],
                    [encode(s.field_versions).decode() for s in dirty], [s.version for s in dirty],
                    [s.updated_by for s in dirty], [s.updated_at for s in dirty],
                ],
                (),
            )
        else:
            await sql.bulk(
                "",
                "INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version, updated_by, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inspection, item) DO UPDATE SET "
                "outcome = excluded.outcome, note = excluded.note, field_versions = excluded.field_versions, "
                "version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (),
                [
                    (s.id, s.inspection_id, s.item_id, s.outcome, s.note, encode(s.field_versions).decode(), s.version,
                     s.updated_by, s.updated_at)
                    for s in dirty
                ],
            )
    if batch.conflicts:
        await ConflictRow.insert(
            *[
                ConflictRow(
                    id=c["id"], item_result=c["state"].id, field=c["field"],
                    # JSON columns take JSON text: a bare string value would be read as JSON source.
                    server_value=msgspec.json.encode(c["server_value"]).decode(),
                    client_value=msgspec.json.encode(c["client_value"]).decode(), client_user=actor.user_id, client_device=actor.device_id,
                    created_at=now,
                )
                for c in batch.conflicts
            ]
        )
    for inspection_id, started_at in batch.started.items():
        await InspectionRow.update(
            {
                InspectionRow.status: InspectionStatus.IN_PROGRESS,
                InspectionRow.started_at: started_at,
                InspectionRow.updated_at: now,
                InspectionRow.version: InspectionRow.version + 1,
            }
        ).where(InspectionRow.id == inspection_id, InspectionRow.status == InspectionStatus.PLANNED)
        audit_service.record(actor, "inspection.start", "inspection", inspection_id, {"started_at": started_at})
        await publish(inspection_id)
    sync_service.publish_many(
        [("item_result", s.id, _state_wire(s), scopes.inspection(s.inspection_id)) for s in dirty]
        + [
            (
                "item_result_conflict",
                c["id"],
                ItemResultConflict(
                    id=c["id"], item_result_id=c["state"].id, inspection_id=c["state"].inspection_id, field=c["field"],
                    server_value=c["server_value"], client_value=c["client_value"], client_user_id=actor.user_id,
                    client_device_id=actor.device_id, created_at=now,
                ),
                scopes.inspection(c["state"].inspection_id),
            )
            for c in batch.conflicts
        ]
    )
    for c in batch.conflicts:
        audit_service.record(actor, "inspection.item_conflict", "item_result", c["state"].id,
                             {"conflict_id": str(c["id"]), "field": c["field"], "server_value": c["server_value"],
                              "client_value": c["client_value"]})


async def apply_record_item_result(actor: Actor, mutation: RecordItemResult) -> sync_wire.Applied | sync_wire.Conflict:
    """One item result (the batch path with a batch of one); raises the error that rejects it."""
    [result] = await apply_record_item_results(actor, [mutation])
    if isinstance(result, Exception):
        raise result
    return result


# --- conflicts --------------------------------------------------------------------


async def list_conflicts(actor: Actor, *, open_only: bool = True) -> list[ItemResultConflict]:
    """Conflicts a supervisor may decide (their department's; all for admins and leaders)."""
    if actor.role == Role.INSPECTOR:
        raise PermissionDenied("只有负责人可以查看冲突列表", "supervisors only")
    query = ConflictRow.select(
        ConflictRow.all_columns(), ConflictRow.item_result.inspection.as_alias("inspection_id"),
        ConflictRow.item_result.inspection.department.as_alias("department_id"),
    ).order_by(ConflictRow.created_at)
    if open_only:
        query = query.where(ConflictRow.resolved_at.is_null())
    rows = await query.output(load_json=True)
    visible = [r for r in rows if sees_all_departments(actor) or may_manage_department(actor, r["department_id"])]
    return [_conflict_wire(r, r["inspection_id"]) for r in visible]


async def resolve_conflict(actor: Actor, conflict_id: uuid.UUID, decision: ConflictResolution) -> ItemResultConflict:
    """A supervisor keeps the server value, takes the phone's, or sets another; both values stay on record."""
    row = await ConflictRow.select().where(ConflictRow.id == conflict_id).output(load_json=True).first()
    if row is None:
        raise NotFound("冲突记录不存在", "conflict not found")
    inspection_id = (await ItemResultRow.select(ItemResultRow.inspection).where(ItemResultRow.id == row["item_result"]).first())[
        "inspection"
    ]
    await sql.lock(sql.LOCK_INSPECTION, [str(inspection_id)])
    row = await ConflictRow.select().where(ConflictRow.id == conflict_id).output(load_json=True).first()
    result = await ItemResultRow.select().where(ItemResultRow.id == row["item_result"]).output(load_json=True).first()
    inspection = await InspectionRow.select().where(InspectionRow.id == inspection_id).first()
    if not may_manage_department(actor, inspection["department"]) or actor.role == Role.LEADER:
        raise PermissionDenied("只有本科室负责人可以裁定冲突", "only the department's supervisor resolves conflicts")
    if row["resolved_at"] is not None:
        raise StateConflict("该冲突已裁定", "already resolved")
    value = {"server": row["server_value"], "client": row["client_value"], "other": decision.value}[decision.choose]
    field_name = row["field"]
    if field_name == "outcome":
        from schemas.vocab import ItemOutcome

        try:
            value = str(ItemOutcome(value))
        except ValueError:
            raise InvalidInput("检查结果取值无效", "invalid outcome", field="value") from None
    elif not isinstance(value, str) or len(value) > 4000:
        raise InvalidInput("备注取值无效", "invalid note", field="value")
    now = _now()
    if inspection["status"] in LOCKED_STATUSES:
        await add_amendment(actor, uuid.uuid4(), inspection["id"], "负责人裁定冲突",
                                {"kind": "amendment", "conflict_id": str(conflict_id), "field": field_name, "value": value}, now)
    elif result[field_name] != value:
        versions = dict(result["field_versions"] or {})
        versions[field_name] = {"v": result["version"] + 1, "by": str(actor.user_id),
                                "dev": str(actor.device_id) if actor.device_id else None}
        await ItemResultRow.update(
            {
                getattr(ItemResultRow, field_name): value,
                ItemResultRow.field_versions: versions,
                ItemResultRow.version: result["version"] + 1,
                ItemResultRow.updated_by: actor.user_id,
                ItemResultRow.updated_at: now,
            }
        ).where(ItemResultRow.id == result["id"])
        fresh = await ItemResultRow.select().where(ItemResultRow.id == result["id"]).first()
        await sync_service.publish("item_result", result["id"], _item_wire(fresh), scope=scopes.inspection(inspection["id"]))
    resolution = {"choose": decision.choose, "value": value, "reason": decision.reason}
    await ConflictRow.update(
        {ConflictRow.resolved_at: now, ConflictRow.resolved_by: actor.user_id, ConflictRow.resolution: resolution}
    ).where(ConflictRow.id == conflict_id)
    audit_service.record(actor, "inspection.resolve_conflict", "item_result", result["id"],
                         {"conflict_id": str(conflict_id), **resolution})
    fresh_conflict = await ConflictRow.select().where(ConflictRow.id == conflict_id).output(load_json=True).first()
    record = _conflict_wire(fresh_conflict, inspection["id"])
    await sync_service.publish("item_result_conflict", conflict_id, record, scope=scopes.inspection(inspection["id"]))
    return record
