"""回头看 campaigns: a supervisor rechecks closed hazards matching criteria, one recheck each."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from schemas import hazards as wire
from schemas.hazards import RecheckReason
from schemas.vocab import HazardStatus, Role
from server import localtime
from server.accounts.policy import Actor, may_manage_department, sees_all_departments
from server.audit import service as audit_service
from server.errors import InvalidInput, NotFound, PermissionDenied
from server.hazards.tables import Hazard, LookbackCampaign, Recheck
from server.settings import Settings
from server.hazards import rechecks, records


async def open_lookback(
    actor: Actor, data: wire.LookbackCampaignCreate, settings: Settings, *, now: dt.datetime | None = None
) -> wire.LookbackCampaign:
    """A supervisor opens a 回头看 campaign: one recheck per closed hazard matching the criteria."""
    now = records.current_time(now)
    if actor.role != Role.SUPERVISOR or actor.department_id is None:
        raise PermissionDenied("只有科室负责人可以组织回头看", "only supervisors open look-back campaigns")
    if data.closed_to_date < data.closed_from_date:
        raise InvalidInput("结束日期不得早于开始日期", "closed_to_date is before closed_from_date", field="closed_to_date")
    zone = localtime.zone(settings.hazards.timezone)
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
        await rechecks.create_recheck(actor, row, RecheckReason.LOOKBACK, settings, campaign_id=campaign_id, now=now)
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
    its_rechecks = await Recheck.select(Recheck.id).where(Recheck.campaign == campaign_id).order_by(Recheck.created_at)
    return wire.LookbackCampaign(
        id=row["id"],
        name=row["name"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        recheck_ids=[r["id"] for r in its_rechecks],
    )
