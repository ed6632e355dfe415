"""Spot-check campaigns (抽查计划): define one, read it, and who may.

A campaign's settings and counts are for the department's supervisors, leaders
and admins; its targets for its own supervisor (its creator) only — the rule
for covert targets lives in :mod:`server.spotchecks.covert`. How a campaign's
settings become the draw's rules is :func:`draw_rules`, used by the pool
snapshot (:mod:`server.spotchecks.pool`) and checked here when it is created.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from schemas import spotchecks as wire
from schemas.vocab import RiskGrade, Role, Sector, StandardizationLevel
from server import localtime
from server.accounts.policy import Actor, sees_all_departments
from server.accounts import service as accounts_service
from server.audit import service as audit_service
from server.context import Context
from server.errors import InvalidInput, NotFound, PermissionDenied
from server import database
from server.spotchecks import covert, policy
from server.spotchecks.tables import Campaign


#: Campaign statuses: defined, a draw committed but not revealed, drawn.
PLANNED, COMMITTED, DRAWN = "planned", "committed", "drawn"


def require_supervisor(actor: Actor) -> None:
    if actor.role != Role.SUPERVISOR or actor.user_id is None:
        raise PermissionDenied("只有科室/支队负责人可以组织随机抽查", "only supervisors run spot-check campaigns")


def _bp(percent: float | None) -> int | None:
    return None if percent is None else max(1, round(percent * 100))


def _release_minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _check_cap_keys(caps: dict[str, int]) -> None:
    sectors = {str(s) for s in Sector}
    grades = {str(g) for g in RiskGrade} | {str(s) for s in StandardizationLevel}
    for key in caps:
        sector, grade = key.split(":", 1)
        if sector not in sectors or grade not in grades:
            raise InvalidInput(f"年度检查频次上限的分类无效：{key}", f"unknown cap key {key}", field=f"rules.annual_caps.{key}")


def draw_rules(
    row: dict[str, Any], rules: wire.CampaignRules, *, attempt: int, as_of: dt.date, zone: ZoneInfo
) -> policy.DrawRules:
    """The policy's view of a campaign's settings (everything recorded in the pool snapshot); ``zone``: the bureau's."""
    offset = localtime.at(as_of, dt.time(12), zone).utcoffset() or dt.timedelta(0)
    filters = rules.filters
    return policy.DrawRules(
        campaign_id=str(row["id"]),
        attempt=attempt,
        as_of_date=as_of,
        start_date=row["period_start"],
        end_date=row["period_end"],
        filters=policy.TargetFilter(
            sectors=tuple(sorted(str(s) for s in filters.sectors)),
            districts=tuple(sorted(str(d) for d in filters.districts)),
            risk_grades=tuple(sorted(str(g) for g in filters.risk_grades)),
            standardization_levels=tuple(sorted(str(s) for s in filters.standardization_levels)),
            major_hazard_source=filters.major_hazard_source,
        ),
        include_suspended=rules.include_suspended,
        exclude_inspected_within_days=rules.exclude_inspected_within_days,
        annual_caps=policy.annual_caps(rules.annual_caps),
        sample_size=rules.sample_size,
        sample_bp=_bp(rules.sample_percent),
        stratify_by=rules.stratify_by,
        team_size=rules.team_size,
        enforcement=row["enforcement"],
        require_certified=rules.certified_only,
        inspector_departments=tuple(sorted(str(d) for d in rules.inspector_department_ids)),
        match_district=rules.match_district,
        weekdays=tuple(sorted(set(rules.weekdays))),
        covert=row["covert"],
        release_minute=_release_minute(rules.release_time),
        utc_offset_minutes=int(offset.total_seconds() // 60),
    )


def rules_of(row: dict[str, Any]) -> wire.CampaignRules:
    return msgspec.convert(row["target_rules"], wire.CampaignRules)


def _campaign_wire(row: dict[str, Any]) -> wire.Campaign:
    return wire.Campaign(
        id=row["id"],
        name=row["name"],
        label=row["label"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        covert=row["covert"],
        enforcement=row["enforcement"],
        rules=rules_of(row),
        status=row["status"],
        department_id=row["department"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


#: Where the policy's field names live in a CampaignCreate body.
_WIRE_FIELDS = {
    "require_certified": "rules.certified_only",
    "sample_ratio": "rules.sample_percent",
    "end_date": "period_end",
}


async def create_campaign(ctx: Context, actor: Actor, data: wire.CampaignCreate) -> wire.Campaign:
    """Define a campaign (抽查计划) at ``ctx``'s time; its settings are checked as the draw will use them."""
    require_supervisor(actor)
    now = ctx.now()
    if (data.rules.sample_size is None) == (data.rules.sample_percent is None):
        raise InvalidInput(
            "抽查数量与抽查比例须且只能填写一项", "give exactly one of sample_size and sample_percent", field="rules.sample_size"
        )
    _check_cap_keys(data.rules.annual_caps)
    departments = list(set(data.rules.inspector_department_ids))
    if departments and not set(departments) <= {d.id for d in await accounts_service.list_departments()}:
        raise InvalidInput("执法人员所在科室不存在", "unknown department", field="rules.inspector_department_ids")
    row = {
        "id": uuid.uuid4(),
        "name": data.name,
        "label": data.label,
        "covert": data.covert,
        "enforcement": data.enforcement,
        "period_start": data.period_start,
        "period_end": data.period_end,
        "target_rules": msgspec.to_builtins(data.rules),
        "inspector_rules": {},
        "team_size": data.rules.team_size,
        "department": actor.department_id,
        "status": PLANNED,
        "created_by": actor.user_id,
        "created_at": now,
    }
    try:
        policy.check_rules(draw_rules(row, data.rules, attempt=1, as_of=ctx.local_date(now), zone=ctx.zone))
    except InvalidInput as exc:
        exc.field = _WIRE_FIELDS.get(exc.field or "", f"rules.{exc.field}")
        raise
    await Campaign.insert(Campaign(**row))
    audit_service.record(actor, "spot_check.campaign_create", "spot_check_campaign", row["id"], data)
    return _campaign_wire(row)


async def readable_campaign(actor: Actor, campaign_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    """A campaign the actor may read (its settings and counts, not its targets)."""
    query = Campaign.select().where(Campaign.id == campaign_id).output(load_json=True)
    if lock and database.is_postgres():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None or not _may_read(actor, row):
        raise NotFound("抽查计划不存在", "campaign not found", field="campaign_id")
    return row


def _may_read(actor: Actor, row: dict[str, Any]) -> bool:
    if sees_all_departments(actor) or row["created_by"] == actor.user_id:
        return True
    return actor.role == Role.SUPERVISOR and row["department"] is not None and row["department"] == actor.department_id


async def owned_campaign(actor: Actor, campaign_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    """A campaign whose targets the actor may see and whose draws they may make: its own supervisor's.

    ``lock`` holds the campaign row until commit, so two draws of one campaign run one after the other.
    """
    row = await readable_campaign(actor, campaign_id, lock=lock)
    if not covert.is_owner(actor, row):
        raise PermissionDenied("只有本抽查计划的负责人可以查看抽查对象或抽取", "only the campaign's supervisor sees its targets")
    return row


async def get_campaign(actor: Actor, campaign_id: uuid.UUID) -> wire.Campaign:
    return _campaign_wire(await readable_campaign(actor, campaign_id))


async def list_campaigns(actor: Actor) -> list[wire.Campaign]:
    if actor.role == Role.INSPECTOR:
        return []
    rows = await Campaign.select().order_by(Campaign.created_at, ascending=False).output(load_json=True)
    return [_campaign_wire(r) for r in rows if _may_read(actor, r)]
