"""Spot-check campaigns: freeze the pool, commit, reveal, release, verify, publish (一公开).

The life of a draw, and why it is in two transactions::

    commit_draw   seed <- secrets; snapshot frozen; Draw row + audit
                  "spot_check.draw_commit" {seed_hash, pool_hash, algorithm}  ── COMMIT
    reveal_draw   policy.draw(snapshot, seed); result + tasks stored; audit
                  "spot_check.draw_result" {result_hash}; redacted tasks to
                  the teams' phones                                         ── COMMIT
    release_due_tasks(now)   at each task's release time: an inspection of
                  kind covert/spot_check for the team; the full task to their phones

The commitment is durable before any result exists, so a draw cannot be
quietly re-rolled: a second commitment for the campaign needs a recorded
reason and supersedes the first, in the audit chain for anyone to see.

Who sees what (the rule for covert targets lives in :mod:`server.spotchecks.covert`):

- targets (tasks, draw results, seeds) — only the campaign's supervisor
  (its creator); leaders and admins once every task is released;
- counts (progress) and campaign settings — the department's supervisors,
  leaders and admins;
- an inspector — their own tasks; before release only day and district
  (no inspection exists yet, so no inspection, enterprise, template or
  hazard scope can reach the phone either).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from schemas import spotchecks as wire
from schemas.enforcement import ActionStatus
from schemas.vocab import (
    District,
    EnforcementKind,
    HazardLevel,
    HazardStatus,
    InspectionKind,
    InspectionStatus,
    OperatingStatus,
    RiskGrade,
    Role,
    Sector,
    StandardizationLevel,
    label,
)
from server.accounts.policy import SYSTEM, Actor, sees_all_departments
from server.stats import exports
from server.accounts.tables import Department, User
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.checklists import service as checklists_service
from server.enforcement.tables import EnforcementAction
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hazards.tables import Hazard
from server.inspections import service as inspections_service
from server.inspections.tables import Inspection, InspectionInspector
from server.notifications import service as notifications
from server.registry import service as registry_service
from server.registry.tables import ConflictOfInterest, Enterprise
from server import database
from server.settings import Settings, get_settings
from server.spotchecks import covert, policy
from server.spotchecks.tables import Campaign, Draw, SpotCheckTask
from server.sync import scopes
from server.sync import service as sync_service

log = logging.getLogger("fieldcheck.spotchecks")

COMMIT_ACTION = "spot_check.draw_commit"
RESULT_ACTION = "spot_check.draw_result"
ENTITY = "spot_check_draw"
TASK_ENTITY = "spot_check_task"

#: Campaign statuses: defined, a draw committed but not revealed, drawn.
PLANNED, COMMITTED, DRAWN = "planned", "committed", "drawn"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().hazards.timezone)


def _local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(_zone()).date()


# --- campaigns ------------------------------------------------------------------


def _require_supervisor(actor: Actor) -> None:
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


def draw_rules(row: dict[str, Any], rules: wire.CampaignRules, *, attempt: int, as_of: dt.date) -> policy.DrawRules:
    """The policy's view of a campaign's settings (everything recorded in the pool snapshot)."""
    offset = dt.datetime.combine(as_of, dt.time(12), tzinfo=_zone()).utcoffset() or dt.timedelta(0)
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


def _rules_of(row: dict[str, Any]) -> wire.CampaignRules:
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
        rules=_rules_of(row),
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


async def create_campaign(actor: Actor, data: wire.CampaignCreate) -> wire.Campaign:
    """Define a campaign (抽查计划); its settings are checked as the draw will use them."""
    _require_supervisor(actor)
    if (data.rules.sample_size is None) == (data.rules.sample_percent is None):
        raise InvalidInput(
            "抽查数量与抽查比例须且只能填写一项", "give exactly one of sample_size and sample_percent", field="rules.sample_size"
        )
    _check_cap_keys(data.rules.annual_caps)
    departments = list(set(data.rules.inspector_department_ids))
    if departments and await Department.count().where(Department.id.is_in(departments)) != len(departments):
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
        "created_at": _now(),
    }
    try:
        policy.check_rules(draw_rules(row, data.rules, attempt=1, as_of=_local_date(_now())))
    except InvalidInput as exc:
        exc.field = _WIRE_FIELDS.get(exc.field or "", f"rules.{exc.field}")
        raise
    await Campaign.insert(Campaign(**row))
    audit_service.record(actor, "spot_check.campaign_create", "spot_check_campaign", row["id"], data)
    return _campaign_wire(row)


async def _campaign(actor: Actor, campaign_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
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


async def _owned_campaign(actor: Actor, campaign_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    """A campaign whose targets the actor may see and whose draws they may make: its own supervisor's.

    ``lock`` holds the campaign row until commit, so two draws of one campaign run one after the other.
    """
    row = await _campaign(actor, campaign_id, lock=lock)
    if not covert.is_owner(actor, row):
        raise PermissionDenied("只有本抽查计划的负责人可以查看抽查对象或抽取", "only the campaign's supervisor sees its targets")
    return row


async def get_campaign(actor: Actor, campaign_id: uuid.UUID) -> wire.Campaign:
    return _campaign_wire(await _campaign(actor, campaign_id))


async def list_campaigns(actor: Actor) -> list[wire.Campaign]:
    if actor.role == Role.INSPECTOR:
        return []
    rows = await Campaign.select().order_by(Campaign.created_at, ascending=False).output(load_json=True)
    return [_campaign_wire(r) for r in rows if _may_read(actor, r)]


# --- the pool snapshot ----------------------------------------------------------------


async def _enterprise_pool(filters: wire.TargetFilter, as_of: dt.date) -> list[policy.PoolEnterprise]:
    query = Enterprise.select(
        Enterprise.id,
        Enterprise.sector,
        Enterprise.district,
        Enterprise.risk_grade,
        Enterprise.standardization_level,
        Enterprise.major_hazard_source,
        Enterprise.operating_status,
    )
    if filters.sectors:
        query = query.where(Enterprise.sector.is_in([str(s) for s in filters.sectors]))
    if filters.districts:
        query = query.where(Enterprise.district.is_in([str(d) for d in filters.districts]))
    if filters.risk_grades:
        query = query.where(Enterprise.risk_grade.is_in([str(g) for g in filters.risk_grades]))
    if filters.standardization_levels:
        query = query.where(Enterprise.standardization_level.is_in([str(s) for s in filters.standardization_levels]))
    if filters.major_hazard_source is not None:
        query = query.where(Enterprise.major_hazard_source == filters.major_hazard_source)
    rows = await query
    ids = [r["id"] for r in rows]
    last: dict[uuid.UUID, dt.date] = {}
    this_year: Counter[uuid.UUID] = Counter()
    if ids:
        inspections = await Inspection.select(
            Inspection.enterprise, Inspection.status, Inspection.submitted_at, Inspection.planned_date, Inspection.created_at
        ).where(Inspection.enterprise.is_in(ids), Inspection.status != InspectionStatus.CANCELLED)
        for row in inspections:
            if row["submitted_at"] is not None:
                day = _local_date(row["submitted_at"])
                if day <= as_of:
                    last[row["enterprise"]] = max(day, last.get(row["enterprise"], day))
            else:
                day = row["planned_date"] or _local_date(row["created_at"])
            if day.year == as_of.year:
                this_year[row["enterprise"]] += 1
        # Drawn spot checks not yet turned into inspections count against the cap too.
        # An unreleased covert task is left out: its target must not show in another draw's inputs.
        pending = await SpotCheckTask.select(SpotCheckTask.enterprise, SpotCheckTask.planned_date).where(
            SpotCheckTask.enterprise.is_in(ids), SpotCheckTask.status == "drawn", covert.shown_tasks()
        )
        for row in pending:
            if row["planned_date"].year == as_of.year:
                this_year[row["enterprise"]] += 1
    return sorted(
        (
            policy.PoolEnterprise(
                id=str(r["id"]),
                sector=r["sector"],
                district=r["district"],
                risk_grade=r["risk_grade"],
                standardization_level=r["standardization_level"],
                major_hazard_source=r["major_hazard_source"],
                operating_status=r["operating_status"],
                last_inspected_date=last.get(r["id"]),
                inspections_this_year=this_year[r["id"]],
            )
            for r in rows
        ),
        key=lambda e: e.id,
    )


async def _inspector_pool(rules: wire.CampaignRules) -> list[policy.PoolInspector]:
    query = User.select(User.id, User.department, User.badge_number, User.districts).where(
        (User.role == Role.INSPECTOR) & (User.active == True)  # noqa: E712 - SQL comparison
    )
    if rules.inspector_department_ids:
        query = query.where(User.department.is_in(list(rules.inspector_department_ids)))
    rows = await query
    return sorted(
        (
            policy.PoolInspector(
                id=str(r["id"]),
                department=str(r["department"]) if r["department"] else None,
                certified=bool((r["badge_number"] or "").strip()),
                districts=tuple(sorted(r["districts"] or [])),
            )
            for r in rows
        ),
        key=lambda i: i.id,
    )


async def _history(
    enterprise_ids: Sequence[str], inspector_ids: Sequence[str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """Declared conflicts and past teams among the pool (for 回避 and the pair rule)."""
    enterprises = [uuid.UUID(e) for e in enterprise_ids]
    people = {uuid.UUID(i) for i in inspector_ids}
    if not enterprises or not people:
        return (), ()
    conflict_rows = await ConflictOfInterest.select(ConflictOfInterest.user, ConflictOfInterest.enterprise).where(
        ConflictOfInterest.enterprise.is_in(enterprises),
        ConflictOfInterest.user.is_in(list(people)),
        ConflictOfInterest.revoked_at.is_null(),
    )
    conflicts = tuple(sorted({(str(r["user"]), str(r["enterprise"])) for r in conflict_rows}))
    teams: dict[uuid.UUID, list[str]] = {}
    where: dict[uuid.UUID, str] = {}
    rows = await InspectionInspector.select(
        InspectionInspector.inspection, InspectionInspector.user, InspectionInspector.inspection.enterprise
    ).where(InspectionInspector.inspection.enterprise.is_in(enterprises))
    for row in rows:
        teams.setdefault(row["inspection"], []).append(str(row["user"]))
        where[row["inspection"]] = str(row["inspection.enterprise"])
    history: list[tuple[str, list[str]]] = [(where[i], team) for i, team in teams.items()]
    drawn = await SpotCheckTask.select(SpotCheckTask.enterprise, SpotCheckTask.team).where(
        SpotCheckTask.enterprise.is_in(enterprises), SpotCheckTask.status != "cancelled", covert.shown_tasks()
    ).output(load_json=True)
    history += [(str(r["enterprise"]), list(r["team"])) for r in drawn]
    return conflicts, policy.past_pairs(history)


async def build_snapshot(row: dict[str, Any], *, attempt: int, as_of: dt.date) -> policy.PoolSnapshot:
    """Freeze everything the draw depends on: rules, candidate enterprises and officers, 回避, past teams."""
    rules = _rules_of(row)
    enterprises = await _enterprise_pool(rules.filters, as_of)
    inspectors = await _inspector_pool(rules)
    conflicts, past = await _history([e.id for e in enterprises], [i.id for i in inspectors])
    return policy.PoolSnapshot(
        rules=draw_rules(row, rules, attempt=attempt, as_of=as_of),
        enterprises=tuple(enterprises),
        inspectors=tuple(inspectors),
        conflicts=conflicts,
        past_pairs=past,
    )


async def preview_pool(actor: Actor, campaign_id: uuid.UUID) -> wire.PoolPreview:
    """The pool a draw made now would freeze, screened as the draw screens it; its own supervisor's only."""
    _require_supervisor(actor)
    row = await _owned_campaign(actor, campaign_id)
    as_of = _local_date(_now())
    snapshot = await build_snapshot(row, attempt=len(await _draw_rows(campaign_id)) + 1, as_of=as_of)
    eligible, excluded = policy.screen(snapshot)
    strata = Counter(policy.stratum_of(e, snapshot.rules.stratify_by) for e in eligible)
    reasons = Counter(x.reason for x in excluded)
    vocab = {**{str(s): s for s in Sector}, **{str(d): d for d in District}}
    return wire.PoolPreview(
        campaign_id=campaign_id,
        as_of_date=as_of,
        enterprises=len(snapshot.enterprises),
        eligible_count=len(eligible),
        sample_size=policy.sample_size(len(eligible), snapshot.rules),
        excluded=[
            wire.ExclusionCount(reason=r, label=policy.EXCLUSION_LABELS.get(r, r), count=n) for r, n in sorted(reasons.items())
        ],
        strata=[
            wire.StratumCount(key=k, label=label(vocab[k]) if k in vocab else "全部", count=n) for k, n in sorted(strata.items())
        ],
        inspectors=len(snapshot.inspectors),
        certified_inspectors=sum(1 for i in snapshot.inspectors if i.certified),
    )


# --- committing and revealing a draw ----------------------------------------------


def _draw_wire(row: dict[str, Any], *, with_seed: bool) -> wire.Draw:
    result = row["result"] or {}
    reasons = Counter(x["reason"] for x in result.get("excluded", []))
    return wire.Draw(
        id=row["id"],
        campaign_id=row["campaign"],
        attempt=row["attempt"],
        algorithm_version=row["algorithm_version"],
        seed_hash=row["seed_hash"],
        pool_hash=row["pool_hash"],
        result_hash=row["result_hash"],
        revealed=bool(row["result_hash"]),
        superseded=row["superseded"],
        reason=row["reason"],
        drawn_by=row["drawn_by"],
        drawn_at=row["drawn_at"],
        eligible_count=result.get("eligible_count", 0),
        sample_size=result.get("sample_size", 0),
        task_count=len(result.get("tasks", [])),
        excluded=[
            wire.ExclusionCount(reason=r, label=policy.EXCLUSION_LABELS.get(r, r), count=n) for r, n in sorted(reasons.items())
        ],
        seed_hex=row["seed_hex"] if with_seed and row["result_hash"] else None,
    )


async def _draw_rows(campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Draw.select().where(Draw.campaign == campaign_id).order_by(Draw.attempt).output(load_json=True)


async def _cancel_tasks(draw_id: uuid.UUID) -> None:
    """Withdraw a superseded draw's tasks from the teams' phones."""
    tasks = await SpotCheckTask.select(SpotCheckTask.id, SpotCheckTask.team).where(
        SpotCheckTask.draw == draw_id, SpotCheckTask.status == "drawn"
    ).output(load_json=True)
    if not tasks:
        return
    await SpotCheckTask.update({SpotCheckTask.status: "cancelled"}).where(
        SpotCheckTask.id.is_in([t["id"] for t in tasks])
    )
    sync_service.publish_many((TASK_ENTITY, t["id"], None, [scopes.user(u) for u in t["team"]]) for t in tasks)


async def commit_draw(actor: Actor, campaign_id: uuid.UUID, data: wire.DrawRequest) -> wire.Draw:
    """Freeze the pool, take a fresh seed and commit both hashes to the audit chain (nothing revealed yet)."""
    _require_supervisor(actor)
    row = await _owned_campaign(actor, campaign_id, lock=True)
    earlier = await _draw_rows(campaign_id)
    live = [d for d in earlier if not d["superseded"]]
    reason = data.reason.strip()
    if earlier and len(reason) < 4:
        raise InvalidInput(
            "该计划已抽取过，重新抽取须填写理由（至少4个字）", "a redraw needs a recorded reason", field="reason"
        )
    if live:
        released = await SpotCheckTask.count().where(
            SpotCheckTask.draw.is_in([d["id"] for d in live]), SpotCheckTask.status != "drawn",
            SpotCheckTask.status != "cancelled",
        )
        if released:
            raise StateConflict("已有抽查任务发布，不能重新抽取", "tasks of this draw are already released", field="campaign_id")
        for d in live:
            await _cancel_tasks(d["id"])
        await Draw.update({Draw.superseded: True}).where(Draw.id.is_in([d["id"] for d in live]))
    now = _now()
    attempt = len(earlier) + 1
    snapshot = await build_snapshot(row, attempt=attempt, as_of=_local_date(now))
    eligible, _ = policy.screen(snapshot)
    if not eligible:
        raise InvalidInput("没有符合条件的检查对象", "no eligible enterprise in the pool", field="rules.filters")
    policy.check_rules(snapshot.rules)
    seed = secrets.token_bytes(32)
    draw_id = uuid.uuid4()
    snapshot_json = msgspec.json.decode(policy.canonical(snapshot))
    values = {
        "id": draw_id,
        "campaign": campaign_id,
        "attempt": attempt,
        "algorithm_version": snapshot.algorithm_version,
        "seed_hex": seed.hex(),
        "seed_hash": policy.seed_hash(seed),
        "pool_snapshot": snapshot_json,
        "pool_hash": policy.pool_hash(snapshot),
        "result": {},
        "result_hash": "",
        "reason": reason,
        "superseded": False,
        "drawn_by": actor.user_id,
        "drawn_at": now,
    }
    await Draw.insert(Draw(**values))
    await Campaign.update({Campaign.status: COMMITTED}).where(Campaign.id == campaign_id)
    audit_service.record(
        actor,
        COMMIT_ACTION,
        ENTITY,
        draw_id,
        {
            "campaign_id": str(campaign_id),
            "attempt": attempt,
            "algorithm_version": snapshot.algorithm_version,
            "seed_hash": values["seed_hash"],
            "pool_hash": values["pool_hash"],
            "reason": reason,
            "enterprises": len(snapshot.enterprises),
            "inspectors": len(snapshot.inspectors),
        },
    )
    return _draw_wire(values, with_seed=False)


async def _commitment(draw_id: uuid.UUID, action: str) -> dict[str, Any] | None:
    return await AuditEntry.select(AuditEntry.seq, AuditEntry.changes).where(
        (AuditEntry.entity_type == ENTITY) & (AuditEntry.entity_id == str(draw_id)) & (AuditEntry.action == action)
    ).order_by(AuditEntry.seq).output(load_json=True).first()


def _snapshot_of(row: dict[str, Any]) -> policy.PoolSnapshot:
    return msgspec.convert(row["pool_snapshot"], policy.PoolSnapshot)


async def reveal_draw(actor: Actor, draw_id: uuid.UUID) -> wire.Draw:
    """Run the committed draw, record its result and tasks, and tell the teams (redacted)."""
    _require_supervisor(actor)
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    campaign = await _owned_campaign(actor, row["campaign"], lock=True)
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()  # as of the lock
    if row["superseded"]:
        raise StateConflict("该次抽取已被重新抽取取代", "this draw was superseded", field="draw_id")
    if row["result_hash"]:
        return _draw_wire(row, with_seed=True)
    if await _commitment(draw_id, COMMIT_ACTION) is None:
        raise StateConflict("抽取承诺尚未写入审计链", "the commitment is not in the audit chain", field="draw_id")
    snapshot = _snapshot_of(row)
    seed = bytes.fromhex(row["seed_hex"])
    if policy.pool_hash(snapshot) != row["pool_hash"] or policy.seed_hash(seed) != row["seed_hash"]:
        raise StateConflict("抽取输入与承诺不符", "the draw inputs do not match their commitment", field="draw_id")
    result = policy.draw(snapshot, seed)
    result_json = msgspec.json.decode(policy.canonical(result))
    digest = policy.result_hash(result)
    now = _now()
    await Draw.update({Draw.result: result_json, Draw.result_hash: digest}).where(Draw.id == draw_id)
    tasks = [
        SpotCheckTask(
            id=uuid.uuid4(),
            campaign=row["campaign"],
            draw=draw_id,
            position=task.index,
            enterprise=uuid.UUID(task.enterprise_id),
            district=task.district,
            team=list(task.team),
            planned_date=task.planned_date,
            release_at=task.release_at or now,
            status="drawn",
        )
        for task in result.tasks
    ]
    if tasks:
        await SpotCheckTask.insert(*tasks)
    await Campaign.update({Campaign.status: DRAWN}).where(Campaign.id == row["campaign"])
    audit_service.record(
        actor,
        RESULT_ACTION,
        ENTITY,
        draw_id,
        {
            "campaign_id": str(row["campaign"]),
            "result_hash": digest,
            "seed_hash": row["seed_hash"],
            "pool_hash": row["pool_hash"],
            "tasks": len(tasks),
        },
    )
    stored = await SpotCheckTask.select().where(SpotCheckTask.draw == draw_id).output(load_json=True)
    sync_service.publish_many(
        (TASK_ENTITY, t["id"], _assigned(t, campaign), [scopes.user(u) for u in t["team"]]) for t in stored
    )
    if not campaign["covert"]:
        for task in stored:
            await _release(task, campaign, now)
    updated = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    return _draw_wire(updated, with_seed=True)


async def get_draw(actor: Actor, draw_id: uuid.UUID) -> wire.Draw:
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    campaign = await _campaign(actor, row["campaign"])
    return _draw_wire(row, with_seed=covert.is_owner(actor, campaign))


async def list_draws(actor: Actor, campaign_id: uuid.UUID) -> list[wire.Draw]:
    campaign = await _campaign(actor, campaign_id)
    mine = covert.is_owner(actor, campaign)
    return [_draw_wire(r, with_seed=mine) for r in await _draw_rows(campaign_id)]


# --- tasks and release --------------------------------------------------------------


def _assigned(task: dict[str, Any], campaign: dict[str, Any]) -> wire.AssignedTask:
    """What the team sees: before release the day and district only."""
    released = task["released_at"] is not None
    return wire.AssignedTask(
        id=task["id"],
        planned_date=task["planned_date"],
        district=task["district"],
        release_at=task["release_at"],
        released=released,
        covert=campaign["covert"],
        team=[uuid.UUID(u) for u in task["team"]],
        enterprise_id=task["enterprise"] if released else None,
        inspection_id=task["inspection"] if released else None,
        status=task["status"],
    )


def release_kind(campaign: dict[str, Any]) -> InspectionKind:
    """What a released task's check is: 暗查暗访, a 双随机 执法检查 (two certified officers), or a plain 随机抽查."""
    if campaign["covert"]:
        return InspectionKind.COVERT
    return InspectionKind.ENFORCEMENT if campaign["enforcement"] else InspectionKind.SPOT_CHECK


async def _release(task: dict[str, Any], campaign: dict[str, Any], now: dt.datetime) -> None:
    """Turn a task into an inspection of its team and send the target to their phones."""
    enterprise = await Enterprise.select(Enterprise.sector).where(Enterprise.id == task["enterprise"]).first()
    templates = await checklists_service.current_for_sector(Sector(enterprise["sector"]))
    inspection_id = await inspections_service.create_for_task(
        task_id=task["id"],
        kind=release_kind(campaign),
        enterprise_id=task["enterprise"],
        template_id=templates[0].id if templates else None,
        department_id=campaign["department"],
        planned_date=task["planned_date"],
        created_by=campaign["created_by"],
        team=[uuid.UUID(u) for u in task["team"]],
    )
    await SpotCheckTask.update(
        {SpotCheckTask.released_at: now, SpotCheckTask.status: "released", SpotCheckTask.inspection: inspection_id}
    ).where(SpotCheckTask.id == task["id"])
    audit_service.record(
        SYSTEM,
        "spot_check.release",
        TASK_ENTITY,
        task["id"],
        {"inspection_id": str(inspection_id), "campaign_id": str(campaign["id"]), "released_at": now.isoformat()},
    )
    await inspections_service.publish(inspection_id)
    # The enterprise record enters the team's replica now, through the scope the release just opened.
    target = await Enterprise.select().where(Enterprise.id == task["enterprise"]).first()
    await sync_service.publish(
        "enterprise", task["enterprise"], registry_service.to_enterprise(target), scope=scopes.enterprise(task["enterprise"])
    )
    await notifications.notify(
        [uuid.UUID(u) for u in task["team"]], kind="covert_released" if campaign["covert"] else "spot_check_released",
        key=f"released:{task['id']}", title=f"新的{'暗访' if campaign['covert'] else '双随机'}检查任务已下达：{target['name']}",
        body=f"计划日期 {task['planned_date']}，请同步后查看。", entity=("inspection", inspection_id), now=now,
    )
    released = {**task, "released_at": now, "status": "released", "inspection": inspection_id}
    await sync_service.publish(
        TASK_ENTITY, task["id"], _assigned(released, campaign), scope=[scopes.user(u) for u in task["team"]]
    )


async def release_due_tasks(now: dt.datetime | None = None) -> int:
    """Release every drawn task whose release time has come (see :func:`release_due_tasks_counted`)."""
    released, _ = await release_due_tasks_counted(now)
    return released


async def release_due_tasks_counted(now: dt.datetime | None = None) -> tuple[int, int]:
    """Release every due task, each in its own unit of work (``now`` for tests); ``(released, failed)``.

    One task that cannot be released (its row, its team, its enterprise) is logged with its id and left
    ``drawn`` for the next run; it never holds back the others.
    """
    now = now or _now()
    due = await SpotCheckTask.select(SpotCheckTask.id).where(
        (SpotCheckTask.status == "drawn") & (SpotCheckTask.release_at <= now)
    ).order_by(SpotCheckTask.release_at)
    released = failed = 0
    for row in due:
        try:
            async with database.transaction():
                released += await _release_if_due(row["id"], now)
        except Exception:  # one bad task must not stop the rest; it stays drawn and is retried next run
            log.exception("spot-check task %s could not be released; left for the next run", row["id"])
            failed += 1
    return released, failed


async def _release_if_due(task_id: uuid.UUID, now: dt.datetime) -> int:
    query = SpotCheckTask.select().where((SpotCheckTask.id == task_id) & (SpotCheckTask.status == "drawn")).output(
        load_json=True
    )
    if database.is_postgres():
        # Two servers running the job release each task once: the other one skips the row held here.
        query = query.lock_rows("UPDATE", skip_locked=True)
    task = await query.first()
    if task is None:
        return 0
    campaign = await Campaign.select().where(Campaign.id == task["campaign"]).first()
    await _release(task, campaign, now)
    return 1


async def _inspection_status(inspection_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = [i for i in inspection_ids if i is not None]
    if not ids:
        return {}
    rows = await Inspection.select(Inspection.id, Inspection.status, Inspection.submitted_at).where(Inspection.id.is_in(ids))
    return {r["id"]: r for r in rows}


async def my_tasks(actor: Actor) -> list[wire.AssignedTask]:
    """An inspector's own spot-check tasks (redacted until release)."""
    if actor.role != Role.INSPECTOR or actor.user_id is None:
        raise PermissionDenied("只有执法检查人员有抽查任务", "only inspectors have spot-check tasks")
    me = str(actor.user_id)
    rows = await SpotCheckTask.select().where(SpotCheckTask.status != "cancelled").output(load_json=True)
    mine = [r for r in rows if me in r["team"]]
    campaigns = {
        c["id"]: c
        for c in await Campaign.select(Campaign.id, Campaign.covert).where(
            Campaign.id.is_in(list({r["campaign"] for r in mine}) or [uuid.uuid4()])
        )
    }
    return [
        _assigned(r, campaigns[r["campaign"]])
        for r in sorted(mine, key=lambda r: (r["planned_date"], str(r["id"])))
    ]


def _task_state(row: dict[str, Any], today: dt.date) -> tuple[str, bool]:
    status = row["status"]  # ``done`` is stored when the check is signed (spotchecks.completion)
    overdue = status in ("drawn", "released") and row["planned_date"] < today
    return status, overdue


async def list_tasks(actor: Actor, campaign_id: uuid.UUID) -> list[wire.SpotCheckTask]:
    """The campaign's targets and teams: for its own supervisor only."""
    await _owned_campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(
        *SpotCheckTask.all_columns(), SpotCheckTask.enterprise.name
    ).where(SpotCheckTask.campaign == campaign_id).order_by(SpotCheckTask.draw.attempt).order_by(
        SpotCheckTask.position
    ).output(load_json=True)
    today = _local_date(_now())
    tasks = []
    for r in rows:
        status, overdue = _task_state(r, today)
        tasks.append(
            wire.SpotCheckTask(
                id=r["id"],
                campaign_id=r["campaign"],
                draw_id=r["draw"],
                index=r["position"],
                enterprise_id=r["enterprise"],
                enterprise_name=r["enterprise.name"],
                district=r["district"],
                planned_date=r["planned_date"],
                release_at=r["release_at"],
                released_at=r["released_at"],
                team=[uuid.UUID(u) for u in r["team"]],
                inspection_id=r["inspection"],
                status=status,
                overdue=overdue,
            )
        )
    return tasks


async def progress(actor: Actor, campaign_id: uuid.UUID, *, now: dt.datetime | None = None) -> wire.CampaignProgress:
    """Drawn, released, done, overdue: counts only, no targets."""
    campaign = await _campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(
        SpotCheckTask.status, SpotCheckTask.inspection, SpotCheckTask.planned_date
    ).where(SpotCheckTask.campaign == campaign_id)
    today = _local_date(now or _now())
    counts: Counter[str] = Counter()
    for r in rows:
        status, overdue = _task_state(r, today)
        counts[status] += 1
        counts["overdue"] += overdue
    live = sum(counts[s] for s in ("drawn", "released", "done"))
    return wire.CampaignProgress(
        campaign_id=campaign_id,
        status=campaign["status"],
        drawn=live,
        released=counts["released"] + counts["done"],
        done=counts["done"],
        overdue=counts["overdue"],
        cancelled=counts["cancelled"],
    )


# --- 一公开: the publishable result list ---------------------------------------------------


async def _findings(inspection_ids: list[uuid.UUID]) -> dict[uuid.UUID, policy.CheckFindings]:
    """What each check's records hold for its public line: answers, hazards, deadlines, closures, orders."""
    counts: dict[uuid.UUID, Counter[str]] = {i: Counter() for i in inspection_ids}
    for h in await Hazard.select(Hazard.inspection, Hazard.level, Hazard.deadline_date, Hazard.status).where(
        Hazard.inspection.is_in(inspection_ids)
    ):
        c = counts[h["inspection"]]
        c[h["level"]] += 1
        c["deadline"] += h["deadline_date"] is not None
        c["closed"] += h["status"] == HazardStatus.CLOSED
    orders = await EnforcementAction.select(
        EnforcementAction.inspection, EnforcementAction.hazard.inspection.as_alias("hazard_inspection")
    ).where(
        (EnforcementAction.kind == EnforcementKind.RECTIFY_ORDER)
        & (EnforcementAction.status == ActionStatus.IN_EFFECT)
        & (EnforcementAction.inspection.is_in(inspection_ids) | EnforcementAction.hazard.inspection.is_in(inspection_ids))
    )
    for o in orders:
        inspection_id = o["inspection"] if o["inspection"] in counts else o["hazard_inspection"]
        counts[inspection_id]["orders"] += 1
    templates = {
        r["id"]: r["template"]
        for r in await Inspection.select(Inspection.id, Inspection.template).where(Inspection.id.is_in(inspection_ids))
    }
    findings = {}
    for inspection_id, c in counts.items():
        unanswered = await inspections_service.unanswered_items(inspection_id, templates[inspection_id])
        findings[inspection_id] = policy.CheckFindings(
            unanswered_items=len(unanswered), general_hazards=c[HazardLevel.GENERAL], major_hazards=c[HazardLevel.MAJOR],
            hazards_with_deadline=c["deadline"], hazards_closed=c["closed"], rectification_orders=c["orders"],
        )
    return findings


async def public_results(actor: Actor, campaign_id: uuid.UUID) -> list[wire.PublicResult]:
    """Checks of a campaign a supervisor approved: enterprise, date, outcome — no inspectors, no personal data.

    A check that is only submitted (not yet reviewed) or was returned is not published.
    """
    campaign = await _campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(SpotCheckTask.inspection, SpotCheckTask.enterprise).where(
        (SpotCheckTask.campaign == campaign_id) & (SpotCheckTask.status == "done")
    )
    states = await _inspection_status(r["inspection"] for r in rows)
    done = [r for r in rows if states.get(r["inspection"], {}).get("status") == InspectionStatus.REVIEWED]
    if not done:
        return []
    enterprises = {
        e["id"]: e
        for e in await Enterprise.select(
            Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.district, Enterprise.sector
        ).where(Enterprise.id.is_in([r["enterprise"] for r in done]))
    }
    findings = await _findings([r["inspection"] for r in done])
    results = []
    for r in done:
        e = enterprises[r["enterprise"]]
        found = findings[r["inspection"]]
        results.append(
            wire.PublicResult(
                campaign=campaign["name"],
                enterprise_name=e["name"],
                credit_code=e["credit_code"],
                district=label(District(e["district"])),
                sector=label(Sector(e["sector"])),
                inspection_date=_local_date(states[r["inspection"]]["submitted_at"]),
                outcome=policy.public_outcome(found),
                general_hazards=found.general_hazards,
                major_hazards=found.major_hazards,
            )
        )
    return sorted(results, key=lambda x: (x.inspection_date, x.credit_code))


CSV_HEADER = ("抽查计划", "企业名称", "统一社会信用代码", "所在区县", "行业", "检查日期", "检查结果", "一般隐患数", "重大隐患数")


def results_csv(results: Sequence[wire.PublicResult]) -> str:
    """The 一公开 list as CSV (with a BOM so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in results:
        writer.writerow(
            exports.safe_row((r.campaign, r.enterprise_name, r.credit_code, r.district, r.sector, r.inspection_date.isoformat(),
             r.outcome, r.general_hazards, r.major_hazards))
        )
    return out.getvalue()


# --- verification ---------------------------------------------------------------------------


async def _draw_with_targets(actor: Actor | None, draw_id: uuid.UUID) -> dict[str, Any]:
    """A draw row, if ``actor`` may see its targets (``None``: the operator at the command line).

    The campaign's supervisor always; leaders and admins once no task of the
    campaign is still waiting for release.
    """
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    if actor is not None:
        campaign = await _campaign(actor, row["campaign"])
        waiting = await SpotCheckTask.count().where(
            (SpotCheckTask.campaign == row["campaign"]) & (SpotCheckTask.status == "drawn")
        )
        # A draw not yet revealed has nothing released either: its owner's alone.
        if not covert.may_see_targets(actor, campaign, unreleased=waiting if row["result_hash"] else 1):
            raise PermissionDenied("抽查对象发布前只有本计划负责人可以查看或复核", "only the campaign's supervisor sees a draw before release")
    return row


async def draw_inputs(actor: Actor, draw_id: uuid.UUID) -> wire.DrawInputs:
    """Everything needed to re-run a draw elsewhere: the snapshot, the seed and the recorded result."""
    row = await _draw_with_targets(actor, draw_id)
    if not row["result_hash"]:
        raise StateConflict("该次抽取尚未揭晓", "the draw is not revealed yet", field="draw_id")
    return wire.DrawInputs(
        draw_id=row["id"],
        algorithm_version=row["algorithm_version"],
        seed_hex=row["seed_hex"],
        seed_hash=row["seed_hash"],
        pool_hash=row["pool_hash"],
        result_hash=row["result_hash"],
        pool_snapshot=row["pool_snapshot"],
        result=row["result"],
    )


async def verify_draw(actor: Actor | None, draw_id: uuid.UUID) -> wire.DrawVerification:
    """Re-run a recorded draw from its recorded inputs and compare everything stored about it.

    ``actor`` None is the operator at the command line. Otherwise the campaign's
    supervisor, or a leader/admin once every task is released.
    """
    row = await _draw_with_targets(actor, draw_id)
    checks: list[wire.VerifyCheck] = []
    differences: list[wire.DrawDifference] = []

    def check(name: str, ok: bool, detail: str = "") -> bool:
        checks.append(wire.VerifyCheck(name=name, ok=ok, detail="" if ok else detail))
        return ok

    try:
        seed = bytes.fromhex(row["seed_hex"])
    except ValueError:
        seed = b""
    check("seed_hash", policy.seed_hash(seed) == row["seed_hash"], "种子与其哈希不符 / the seed does not match seed_hash")
    try:
        snapshot = _snapshot_of(row)
    except (msgspec.ValidationError, TypeError) as exc:
        check("pool_snapshot", False, f"名录快照无法读取 / unreadable snapshot: {exc}")
        return wire.DrawVerification(draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=False, checks=checks)
    stored_snapshot_hash = hashlib.sha256(policy.canonical(row["pool_snapshot"])).hexdigest()
    check("pool_hash", stored_snapshot_hash == row["pool_hash"], "名录快照与其哈希不符 / the snapshot does not match pool_hash")
    check(
        "algorithm_version",
        row["algorithm_version"] == snapshot.algorithm_version == policy.ALGORITHM_VERSION,
        f"算法版本 {row['algorithm_version']} 无法复核 / unknown algorithm",
    )
    commit = await _commitment(draw_id, COMMIT_ACTION)
    if check("commitment_recorded", commit is not None, "审计链中没有抽取承诺 / no commitment in the audit chain"):
        changes = commit["changes"]
        for key in ("seed_hash", "pool_hash", "algorithm_version"):
            if changes.get(key) != row[key]:
                differences.append(wire.DrawDifference(path=f"commitment.{key}", stored=row[key], recomputed=changes.get(key)))
        check("commitment_matches", all(changes.get(k) == row[k] for k in ("seed_hash", "pool_hash", "algorithm_version")),
              "抽取记录与审计链中的承诺不符 / the draw row differs from its commitment")
    if not row["result_hash"]:
        ok = all(c.ok for c in checks) and not differences
        return wire.DrawVerification(draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=ok, checks=checks,
                                     differences=differences)
    revealed = await _commitment(draw_id, RESULT_ACTION)
    if check("result_recorded", revealed is not None, "审计链中没有抽取结果 / no result in the audit chain") and commit:
        check("committed_before_revealed", commit["seq"] < revealed["seq"], "结果先于承诺 / the result precedes the commitment")
        if revealed["changes"].get("result_hash") != row["result_hash"]:
            differences.append(wire.DrawDifference(path="audit.result_hash", stored=row["result_hash"],
                                                   recomputed=revealed["changes"].get("result_hash")))
    stored_result_hash = hashlib.sha256(policy.canonical(row["result"])).hexdigest()
    check("result_hash", stored_result_hash == row["result_hash"], "抽取结果与其哈希不符 / the stored result does not match result_hash")
    recomputed: policy.DrawResult | None = None
    try:
        recomputed = policy.draw(snapshot, seed)
    except InvalidInput as exc:
        check("rerun", False, f"无法重新运行 / the re-run failed: {exc.message}")
    if recomputed is not None:
        again = msgspec.json.decode(policy.canonical(recomputed))
        differences += [
            wire.DrawDifference(path=f"result.{d.path}", stored=d.stored, recomputed=d.recomputed)
            for d in policy.differences(row["result"], again)
        ]
        differences += await _task_row_differences(draw_id, again, row["drawn_at"])
        check("rerun", True)
    ok = all(c.ok for c in checks) and not differences
    return wire.DrawVerification(
        draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=ok, checks=checks, differences=differences
    )


async def _task_row_differences(draw_id: uuid.UUID, result: dict[str, Any], drawn_at: dt.datetime) -> list[wire.DrawDifference]:
    """Compare the task rows (what teams and inspections are built from) with the re-run result."""
    rows = await SpotCheckTask.select().where(SpotCheckTask.draw == draw_id).order_by(SpotCheckTask.position).output(
        load_json=True
    )
    stored = [
        {
            "index": r["position"],
            "enterprise_id": str(r["enterprise"]),
            "district": r["district"],
            "team": list(r["team"]),
            "planned_date": r["planned_date"].isoformat(),
            "release_at": r["release_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for r in rows
    ]
    expected = [
        {
            "index": t["index"],
            "enterprise_id": t["enterprise_id"],
            "district": t["district"],
            "team": t["team"],
            "planned_date": t["planned_date"],
            # Announced tasks have no release time in the result: they were released when drawn.
            "release_at": t["release_at"] or stored[n]["release_at"] if n < len(stored) else t["release_at"],
        }
        for n, t in enumerate(result["tasks"])
    ]
    return [
        wire.DrawDifference(path=f"task_rows{d.path}" if d.path.startswith("[") else f"task_rows.{d.path}",
                            stored=d.stored, recomputed=d.recomputed)
        for d in policy.differences(stored, expected)
    ]
