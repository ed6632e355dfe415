"""Creating inspections and naming their teams: by a supervisor, for a released spot-check task.

Every team passes :func:`server.inspections.access.require_team` (two certified
officers for 执法检查, 回避); a drawn or recheck team is never renamed by hand,
and a covert check is created only by its task's release.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from schemas.checklists import ChecklistTemplate
from schemas.inspections import Inspection, InspectionAssign, InspectionCreate
from schemas.problems import ErrorCode
from schemas.vocab import InspectionKind, InspectionStatus, Role
from server.accounts import service as accounts_service
from server.accounts.policy import SYSTEM, Actor, may_manage_department
from server.audit import service as audit_service
from server.checklists import service as checklists_service
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.inspections import access, records
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import InspectionInspector
from server.registry import service as registry_service


async def check_named_team(kind: InspectionKind, enterprise_id: uuid.UUID, inspector_ids: Sequence[uuid.UUID]) -> None:
    """A team a supervisor names: distinct active inspectors, then the team rule of ``access.require_team``."""
    if len(set(inspector_ids)) != len(inspector_ids):
        raise InvalidInput("检查人员重复", "duplicate inspector", field="inspector_ids")
    users = (await accounts_service.users_by_id(list(inspector_ids))).values()
    if len(users) != len(inspector_ids) or any(u.role != Role.INSPECTOR or not u.active for u in users):
        raise InvalidInput("检查人员须为在职的执法检查人员", "inspectors must be active inspectors", field="inspector_ids")
    await access.require_team(kind, enterprise_id, inspector_ids, certificates={u.id: u.badge_number for u in users})


async def require_enterprise(enterprise_id: uuid.UUID) -> None:
    """Refuse a check of an enterprise the registry does not hold."""
    try:
        await registry_service.get(SYSTEM, enterprise_id)
    except NotFound:
        raise InvalidInput("企业不存在", "unknown enterprise", field="enterprise_id") from None


async def require_template(template_id: uuid.UUID | None) -> ChecklistTemplate | None:
    """Refuse a check with a checklist that does not exist (none named is fine); gives it, for
    ``records.publish_template``."""
    if template_id is None:
        return None
    try:
        return await checklists_service.get(SYSTEM, template_id)
    except NotFound:
        raise InvalidInput("检查表不存在", "unknown checklist template", field="template_id") from None


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
    await check_named_team(row["kind"], row["enterprise"], data.inspector_ids)
    now = records.current_time()
    await InspectionInspector.delete().where(InspectionInspector.inspection == inspection_id)
    team = await write_team(inspection_id, data.inspector_ids, now)
    assigned = await records.update_row(
        inspection_id, {InspectionRow.updated_at: now, InspectionRow.version: InspectionRow.version + 1}
    )
    audit_service.record(actor, "inspection.assign", "inspection", inspection_id, {
        "inspector_ids": [[str(u) for u in inspection.team], [str(u) for u in data.inspector_ids]],
    })
    await records.publish_template(row["template"])
    return await records.publish(inspection_id, row=assigned, team=team)


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
    await require_enterprise(data.enterprise_id)
    await check_named_team(data.kind, data.enterprise_id, data.inspector_ids)
    template = await require_template(data.template_id)
    inspection_id = data.id or uuid.uuid4()
    row, team = await insert_inspection(
        inspection_id, kind=data.kind, enterprise_id=data.enterprise_id, template_id=data.template_id,
        department_id=actor.department_id, planned_date=data.planned_date, created_by=actor.user_id,
        team=data.inspector_ids,
    )
    audit_service.record(actor, "inspection.create", "inspection", inspection_id, data)
    await records.publish_template(data.template_id, template)
    return await records.publish(inspection_id, row=row, team=team)


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
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The inspection a released spot-check task becomes (its team checked like any other); not yet published.

    Gives its row and team as :func:`insert_inspection` does (what ``records.publish`` takes)."""
    await access.require_team(kind, enterprise_id, team)
    return await insert_inspection(
        uuid.uuid4(), kind=kind, enterprise_id=enterprise_id, template_id=template_id, department_id=department_id,
        planned_date=planned_date, created_by=created_by, team=team, spot_check_task_id=task_id,
    )


async def write_team(inspection_id: uuid.UUID, team: Sequence[uuid.UUID], now: dt.datetime) -> list[dict[str, Any]]:
    """The members of an inspection's team, the first listed leading; gives them as ``records.teams_of`` does."""
    members = [{"user": u, "is_lead": n == 0} for n, u in enumerate(team)]
    await InspectionInspector.insert(
        *[
            InspectionInspector(id=uuid.uuid4(), inspection=inspection_id, assigned_at=now, **m)
            for m in members
        ]
    )
    return members


async def insert_inspection(
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
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Write an inspection and its team (the first member leads); gives the row as written (RETURNING) and the team.

    An id already taken is refused (``duplicate``) by the insert itself, which then writes nothing.
    """
    now = records.current_time()
    written = await InspectionRow.insert(
        InspectionRow(
            id=inspection_id, kind=kind, status=status, enterprise=enterprise_id, template=template_id,
            department=department_id, spot_check_task_id=spot_check_task_id, planned_date=planned_date,
            started_at=started_at, longitude=longitude, latitude=latitude, created_by=created_by,
            created_at=now, updated_at=now, version=1,
        )
    ).on_conflict(target=InspectionRow.id, action="DO NOTHING").returning(*InspectionRow.all_columns())
    if not written:
        raise StateConflict("该检查已存在", "an inspection with this id exists", code=ErrorCode.DUPLICATE, field="id")
    return written[0], await write_team(inspection_id, team, now)
