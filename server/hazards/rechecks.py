"""Recheck tasks (复查): who may recheck (回避, never the finders where the pool allows), creating, ordering and reading them.

Each pending recheck goes to its assignees' phones through the ``recheck:``
scope (:func:`sync_scopes`). Recording a result is :mod:`server.hazards.recheck_results`'s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from schemas import hazards as wire
from schemas.hazards import RecheckReason, RecheckStatus
from schemas.vocab import Role
from server import localtime
from server.accounts import service as accounts_service
from server.accounts.policy import SYSTEM, Actor
from server.audit import service as audit_service
from server.context import Context
from server.errors import NotFound
from server.hazards import permissions, policy, records
from server.hazards.tables import Recheck, RecheckAssignee
from server.registry import service as registry_service
from server.settings import Settings
from server.sync import scopes
from server.sync import service as sync_service


async def sync_scopes(ctx: Context, actor: Actor) -> set[str]:
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


async def assigned_enterprises(actor: Actor) -> set[uuid.UUID]:
    """The enterprises of every recheck assigned to ``actor`` (pending or done): theirs to read in the registry."""
    rows = await Recheck.select(Recheck.enterprise).where(
        Recheck.id.is_in(RecheckAssignee.select(RecheckAssignee.recheck).where(RecheckAssignee.user == actor.user_id))
    )
    return {r["enterprise"] for r in rows}


registry_service.WORK_SOURCES.register("hazards", assigned_enterprises)


async def publish_recheck(
    recheck_id: uuid.UUID,
    *,
    today: dt.date,
    row: dict[str, Any] | None = None,
    assignees: Iterable[uuid.UUID] | None = None,
) -> wire.Recheck:
    """Send a recheck task to its assignees' phones (``recheck:`` scope, in their set while it is pending).

    ``today`` is the bureau's date the task's ``overdue`` is read against (here and in the others below).
    ``row`` (as an INSERT/UPDATE … RETURNING gave it) and ``assignees`` are its current state when the caller holds
    them; the record is then made without reading the recheck again.
    """
    if row is None or assignees is None:
        record = await get_recheck_record(recheck_id, today=today)
    else:
        record = (await _rechecks_to_wire([row], today, {recheck_id: list(assignees)}))[0]
    await sync_service.publish(records.RECHECK_ENTITY, record.id, record, scope=scopes.recheck(record.id))
    return record


async def has_open_recheck(hazard_id: uuid.UUID) -> bool:
    return await Recheck.exists().where(
        (Recheck.hazard == hazard_id)
        & (Recheck.status == RecheckStatus.PENDING)
        & (Recheck.reason != RecheckReason.LOOKBACK)
    )


async def _recheck_pool(hazard: dict[str, Any]) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """Who may recheck (active inspectors covering the enterprise's district, else of the check's department, else the
    bureau's; never with a 回避) and the finders, whom :func:`policy.choose_recheckers` leaves out."""
    district = (await registry_service.get(SYSTEM, hazard["enterprise"])).district
    conflicted = await registry_service.conflicted_user_ids(hazard["enterprise"])
    inspectors = [u for u in await accounts_service.list_users(role=Role.INSPECTOR) if u.active]
    pool = [u.id for u in inspectors if district in u.districts and u.id not in conflicted]
    finders = await finders_of(hazard)
    if not set(pool) - finders:
        inspection = await permissions.inspection_row(hazard["inspection"])
        pool = [
            u.id for u in inspectors if u.department_id == inspection["department"] and u.id not in conflicted
        ]
    if not set(pool) - finders:
        pool = [u.id for u in inspectors if u.id not in conflicted]
    return pool, finders


async def finders_of(hazard: dict[str, Any]) -> set[uuid.UUID]:
    """The team of the check that found the hazard, and whoever recorded it."""
    finders = await permissions.team_of(hazard["inspection"])
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
    now = records.current_time(now)
    pool, finders = await _recheck_pool(hazard)
    pending = await RecheckAssignee.select(RecheckAssignee.user).where(
        RecheckAssignee.recheck.status == RecheckStatus.PENDING
    )
    load: dict[uuid.UUID, int] = {}
    for p in pending:
        load[p["user"]] = load.get(p["user"], 0) + 1
    chosen = policy.choose_recheckers(pool, finders, load, settings.hazards.recheck_team_size)
    recheck_id = uuid.uuid4()
    [row] = await Recheck.insert(
        Recheck(
            id=recheck_id,
            hazard=hazard["id"],
            enterprise=hazard["enterprise"],
            campaign=campaign_id,
            reason=reason,
            status=RecheckStatus.PENDING,
            due_date=localtime.local_date(now, settings.hazards.timezone) + dt.timedelta(days=settings.hazards.recheck_days),
            evidence_ids=[],
            created_at=now,
        )
    ).returning(*Recheck.all_columns())
    if chosen:
        await RecheckAssignee.insert(*[RecheckAssignee(id=uuid.uuid4(), recheck=recheck_id, user=u) for u in chosen])
    audit_service.record(
        actor,
        "recheck.create",
        records.RECHECK_ENTITY,
        recheck_id,
        {"hazard_id": hazard["id"], "reason": reason, "assignee_ids": chosen, "campaign_id": campaign_id},
    )
    await publish_recheck(recheck_id, today=localtime.local_date(now, settings.hazards.timezone), row=row, assignees=chosen)
    return recheck_id


async def order_recheck(
    actor: Actor, hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Recheck:
    """A supervisor of the department orders a recheck now; it is assigned as every recheck is (away from the finders, 回避)."""
    now = records.current_time(now)
    row = await permissions.supervised_hazard(actor, hazard_id, "安排复查", "orders a recheck")
    policy.check_recheck_order(records.facts_of(row), recheck_pending=await has_open_recheck(hazard_id))
    recheck_id = await create_recheck(actor, row, RecheckReason.ORDERED, settings, now=now)
    return await get_recheck_record(recheck_id, today=localtime.local_date(now, settings.hazards.timezone))


async def get_recheck_record(recheck_id: uuid.UUID, *, today: dt.date) -> wire.Recheck:
    row = await Recheck.select().where(Recheck.id == recheck_id).first()
    if row is None:
        raise NotFound("复查任务不存在", "recheck not found", field="recheck_id")
    return (await _rechecks_to_wire([row], today))[0]


async def _rechecks_to_wire(
    rows: Sequence[dict[str, Any]], today: dt.date, assignees: dict[uuid.UUID, list[uuid.UUID]] | None = None
) -> list[wire.Recheck]:
    """The wire records of these rechecks; ``assignees`` by recheck when the caller holds them (else read)."""
    ids = [r["id"] for r in rows]
    if assignees is None:
        assignees = {}
        members = await RecheckAssignee.select().where(RecheckAssignee.recheck.is_in(ids)) if ids else []
        for a in members:
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
            evidence_ids=records.ids_from_column(r["evidence_ids"]),
            checked_by=r["result_by"],
            checked_at=r["result_at"],
        )
        for r in rows
    ]


async def list_rechecks(
    actor: Actor,
    *,
    today: dt.date,
    status: RecheckStatus | None = None,
    hazard_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[wire.Recheck]:
    """Inspectors see the rechecks assigned to them; supervisors their department's; leaders all."""
    query = Recheck.select()
    if actor.role == Role.INSPECTOR:
        mine = [a["recheck"] for a in await permissions.recheck_assignments(actor.user_id)]
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
    return await _rechecks_to_wire(rows, today)
