"""An inspection as read and sent: its wire record and team, who may list which, its history, publishing to phones.

Who may see and write an inspection, in which state, and which team may carry
it out is :mod:`server.inspections.access` (every other domain calls it too).
Every write of this package is audited and published to the change feed
(``inspection:<id>`` scope, :func:`publish`) in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.checklists import ChecklistTemplate
from schemas.inspections import Amendment, Inspection, ItemResult
from schemas.audit import AuditRecord
from schemas.vocab import District, InspectionKind, InspectionStatus, ItemOutcome, Role, Sector
from server import localtime
from server.accounts.policy import Actor, sees_all_departments
from server.audit import service as audit_service
from server.context import Context
from server.inspections import access
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import InspectionAmendment, InspectionInspector
from server.inspections.tables import ItemResult as ItemResultRow
from server.sync import scopes
from server.sync import service as sync_service


#: Statuses in which an inspection is on its inspectors' phones.
OPEN_STATUSES = (InspectionStatus.PLANNED, InspectionStatus.IN_PROGRESS, InspectionStatus.SUBMITTED)


def current_time() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_wire(row: dict[str, Any], team: Sequence[dict[str, Any]]) -> Inspection:
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


def item_wire(row: dict[str, Any]) -> ItemResult:
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


async def teams_of(inspection_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
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
    return to_wire(dict(inspection.row), (await teams_of([inspection_id]))[inspection_id])


@dataclass(frozen=True)
class InspectionFilter:
    """What the office narrows a list of checks by; the date is the day signed, or the planned day before.

    Days are the bureau's: a date range needs ``zone`` (``settings.hazards.timezone``), in which they are cut.
    """

    status: InspectionStatus | None = None
    district: District | None = None
    sector: Sector | None = None
    inspector_id: uuid.UUID | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    zone: str = ""

    def __post_init__(self) -> None:
        if (self.date_from is not None or self.date_to is not None) and not self.zone:
            raise ValueError("a date range of checks needs the bureau's time zone (zone=)")


async def _visible_where(actor: Actor, filters: InspectionFilter) -> list[Any]:
    """Conditions for the inspections an actor may list, narrowed by ``filters``."""
    where: list[Any] = []
    if actor.role == Role.INSPECTOR:
        mine = await InspectionInspector.select(InspectionInspector.inspection).where(
            InspectionInspector.user == actor.user_id
        )
        ids = [m["inspection"] for m in mine]
        hidden = await access.hidden_inspections(ids)
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
        first = filters.date_from or dt.date(1900, 1, 1)
        last = filters.date_to or dt.date(9999, 12, 30)
        start = localtime.midnight(first, filters.zone)
        end = localtime.midnight(last + dt.timedelta(days=1), filters.zone)
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
    teams = await teams_of([r["id"] for r in rows])
    return [to_wire(r, teams[r["id"]]) for r in rows]


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
    return [item_wire(r) for r in rows]


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


async def sync_scopes(ctx: Context, actor: Actor) -> set[str]:
    """The scope keys an actor's phone receives for inspections (see ``server.sync.scopes``)."""
    if actor.role != Role.INSPECTOR or actor.user_id is None:
        return set()
    # A submitted check stays on the team's phones for a while (amendments, a late photo), then leaves them;
    # returned for correction it is in progress again and comes back whole.
    kept_since = ctx.now() - dt.timedelta(hours=ctx.settings.sync.keep_submitted_hours)
    rows = await InspectionRow.select(
        InspectionRow.id, InspectionRow.enterprise, InspectionRow.template
    ).where(
        InspectionRow.id.is_in(
            InspectionInspector.select(InspectionInspector.inspection).where(InspectionInspector.user == actor.user_id)
        ),
        InspectionRow.status.is_in([s for s in OPEN_STATUSES if s != InspectionStatus.SUBMITTED])
        | ((InspectionRow.status == InspectionStatus.SUBMITTED) & (InspectionRow.submitted_at >= kept_since)),
    )
    hidden = await access.hidden_inspections([r["id"] for r in rows])
    keys: set[str] = set()
    for row in rows:
        if row["id"] in hidden:
            continue
        keys.add(scopes.inspection(row["id"]))
        keys.add(scopes.enterprise(row["enterprise"]))
        if row["template"] is not None:
            keys.add(scopes.template(row["template"]))
    return keys


async def publish_template(template_id: uuid.UUID | None, template: ChecklistTemplate | None = None) -> None:
    """Put the checklist (with its items) on the phones of inspections using it; versions never change.

    ``template``: the checklist as ``checklists_service.get`` gave it in this unit of work, when the caller holds it.
    """
    if template_id is None:
        return
    if template is None:
        from server.checklists import service as checklists_service
        from server.accounts.policy import SYSTEM

        template = await checklists_service.get(SYSTEM, template_id)
    await sync_service.publish("checklist_template", template_id, template, scope=scopes.template(template_id))


async def update_row(inspection_id: uuid.UUID, values: dict[Any, Any]) -> dict[str, Any]:
    """Write ``values`` to the inspection's row and give the row as it now is (UPDATE … RETURNING: no second read)."""
    rows = await InspectionRow.update(values).where(InspectionRow.id == inspection_id).returning(
        *InspectionRow.all_columns()
    )
    return rows[0]


async def publish(
    inspection_id: uuid.UUID, *, row: dict[str, Any] | None = None, team: Sequence[dict[str, Any]] | None = None
) -> Inspection:
    """Publish an inspection's current state to its scope (after any write to it or its team).

    ``row`` (as :func:`update_row` gives it) and ``team`` (as :func:`teams_of`, e.g. ``facts.team_rows()`` of a
    write that left the team alone) are the current state the caller holds; what it does not pass is read.
    """
    if row is None:
        row = await InspectionRow.select().where(InspectionRow.id == inspection_id).first()
    if team is None:
        team = (await teams_of([inspection_id]))[inspection_id]
    record = to_wire(row, team)
    await sync_service.publish("inspection", inspection_id, record, scope=scopes.inspection(inspection_id))
    return record
