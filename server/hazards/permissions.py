"""Who may see, change and follow a hazard, and the locked row they act on.

A hazard is seen by leaders and admins, the supervisors of its check's
department, the check's team and the inspectors assigned to recheck it; it is
changed (rectification) only while its check is writable for follow-up
(:func:`server.inspections.access.require_writable`); some steps are the
department supervisor's alone (:func:`supervised_hazard`).
"""

from __future__ import annotations

import uuid
from typing import Any

from schemas import hazards as wire
from schemas.problems import ErrorCode
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor, may_manage_department
from server.accounts import service as accounts_service
from server.errors import InvalidInput, NotFound, PermissionDenied
from server.hazards.tables import Hazard, RecheckAssignee
from server.inspections import access
from server.inspections.access import Mode, Write


async def locked_hazard(hazard_id: uuid.UUID) -> dict[str, Any]:
    query = Hazard.select().where(Hazard.id == hazard_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    return row


async def inspection_row(inspection_id: uuid.UUID, field: str = "inspection_id") -> dict[str, Any]:
    return dict((await _inspection(inspection_id, field)).row)


async def _inspection(inspection_id: uuid.UUID, field: str = "inspection_id") -> access.InspectionFacts:
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field=field)
    return await access.load(inspection_id, missing=missing)


async def team_of(inspection_id: uuid.UUID) -> set[uuid.UUID]:
    return await access.team_of(inspection_id)


async def followers(hazard_id: uuid.UUID) -> set[uuid.UUID]:
    """Who follows a hazard to closure: the team of the check that found it and its department's active supervisors."""
    row = await Hazard.select(
        Hazard.inspection, Hazard.inspection.department.as_alias("department")
    ).where(Hazard.id == hazard_id).first()
    if row is None:
        return set()
    people = await team_of(row["inspection"])
    if row["department"] is not None:
        users = await accounts_service.list_users(role=Role.SUPERVISOR, department_id=row["department"])
        people |= {u.id for u in users if u.active}
    return people


async def recheck_assignments(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await RecheckAssignee.select(RecheckAssignee.recheck, RecheckAssignee.recheck.hazard.as_alias("hazard")).where(
        RecheckAssignee.user == user_id
    )


async def check_may_see(actor: Actor, hazard: dict[str, Any]) -> None:
    await _check_may_see(actor, hazard)


async def _check_may_see(actor: Actor, hazard: dict[str, Any]) -> access.InspectionFacts | None:
    """Raise NotFound unless ``actor`` may see ``hazard``; the facts of its inspection once loaded (None: not needed)."""
    if actor.role in (Role.LEADER, Role.ADMIN):
        return None
    inspection = await _inspection(hazard["inspection"])
    if actor.role == Role.SUPERVISOR and may_manage_department(actor, inspection.department):
        return inspection
    if actor.role == Role.INSPECTOR:
        if actor.user_id in inspection.team:
            return inspection
        if any(a["hazard"] == hazard["id"] for a in await recheck_assignments(actor.user_id)):
            return inspection
    raise NotFound("隐患不存在", "hazard not found", field="hazard_id")


async def supervised_hazard(actor: Actor, hazard_id: uuid.UUID, what: str, what_en: str) -> dict[str, Any]:
    """The hazard, locked, if ``actor`` is a supervisor of its inspection's department (who alone may do ``what``)."""
    row = await locked_hazard(hazard_id)
    inspection = await _check_may_see(actor, row)
    if actor.role != Role.SUPERVISOR or not may_manage_department(
        actor, (inspection or await _inspection(row["inspection"])).department
    ):
        raise PermissionDenied(f"只有本科室负责人可以{what}", f"only the department's supervisor {what_en}")
    return row


async def check_may_change(actor: Actor, hazard: dict[str, Any]) -> None:
    inspection = await _check_may_see(actor, hazard)
    access.require_writable(actor, inspection or await access.load(hazard["inspection"]), Write.FOLLOW_UP)


async def writable_for_hazard(actor: Actor, data: wire.HazardCreate) -> tuple[access.InspectionFacts, Mode]:
    """The inspection a new hazard is recorded in, and whether the hazard is a record or an amendment of it."""
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field="inspection_id")
    return await access.writable(actor, data.inspection_id, Write.HAZARD, missing=missing)


async def visible_hazard_ids(actor: Actor) -> list[uuid.UUID] | None:
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
    ids |= {a["hazard"] for a in await recheck_assignments(actor.user_id)}
    return list(ids)
