"""Item-result conflicts: listed for the department's supervisor, who decides each; both values stay on record."""

from __future__ import annotations

import uuid
from typing import Any

from schemas.inspections import ConflictResolution, ItemResultConflict
from schemas.vocab import ItemOutcome, Role
from server.accounts.policy import Actor, may_manage_department, sees_all_departments
from server.audit import service as audit_service
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.inspections.access import LOCKED_STATUSES
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import ItemResultConflict as ConflictRow
from server.inspections.tables import ItemResult as ItemResultRow
from server.sync import scopes, sql
from server.sync import service as sync_service
from server.inspections import notes, records


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
    now = records.current_time()
    if inspection["status"] in LOCKED_STATUSES:
        await notes.add_amendment(actor, uuid.uuid4(), inspection["id"], "负责人裁定冲突",
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
        await sync_service.publish("item_result", result["id"], records.item_wire(fresh), scope=scopes.inspection(inspection["id"]))
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
