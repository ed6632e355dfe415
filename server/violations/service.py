"""The 三违 register: record a violation by a named person, show it masked, find repeat offenders.

The full ID number is checked (GB 11643) before anything is written, stored
only sealed, never audited or published in clear, and opened only for
supervisors through :func:`reveal_id_number`, which is itself audited.
The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.query.functions.aggregate import Count

from schemas import violations as wire
from schemas import sync as sync_wire
from schemas.problems import ErrorCode
from schemas.vocab import Role, ViolationType
from server import database
from server.accounts.policy import Actor, may_manage_department
from server.audit import service as audit_service
from server.context import Context
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hooks import Hooks
from server.inspections import access
from server.inspections.access import Mode, Write
from server.settings import Settings
from server.sync import scopes
from server.sync import service as sync_service
from server.violations import policy
from server.violations.tables import ViolationRecord

ENTITY = "violation"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


#: The evidence (photos) attached to each of these 三违, by record id.
EvidenceIds = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[uuid.UUID]]]]

#: A 三违 lists its photos: the evidence domain, which attaches them, registers the query
#: (:func:`server.evidence.service.violation_evidence_ids`), so violations never read its table.
EVIDENCE_IDS: Hooks[EvidenceIds] = Hooks("三违's evidence list", ("evidence",))


async def to_wire(rows: list[dict[str, Any]]) -> list[wire.Violation]:
    evidence = await EVIDENCE_IDS.one()([r["id"] for r in rows])
    return [
        wire.Violation(
            id=r["id"],
            enterprise_id=r["enterprise"],
            person_key=r["id_number_hash"],
            person_name=r["person_name"],
            id_number_masked=r["id_number_masked"],
            violation_type=ViolationType(r["violation_type"]),
            description=r["description"],
            recorded_by=r["recorded_by"],
            recorded_at=r["recorded_at"],
            inspection_id=r["inspection"],
            post=r["post"],
            certificate_required=r["certificate_required"],
            certificate_held=r["certificate_held"],
            disposition=r["disposition"],
            evidence_ids=evidence.get(r["id"], []),
        )
        for r in rows
    ]


async def belongs_to(violation_id: uuid.UUID, inspection_id: uuid.UUID) -> bool:
    """Whether the 三违 exists and was recorded on this inspection (or on none): what a photo may attach to."""
    row = await ViolationRecord.select(ViolationRecord.inspection).where(ViolationRecord.id == violation_id).first()
    return row is not None and row["inspection"] in (None, inspection_id)


async def republish(violation_id: uuid.UUID) -> None:
    """Send the record again after something it shows changed elsewhere (a photo of it attached)."""
    row = await _one(violation_id)
    if row["inspection"] is not None:
        (record,) = await to_wire([row])
        await sync_service.publish(ENTITY, record.id, record, scope=scopes.inspection(row["inspection"]))


async def _one(violation_id: uuid.UUID) -> dict[str, Any]:
    row = await ViolationRecord.select().where(ViolationRecord.id == violation_id).first()
    if row is None:
        raise NotFound("三违记录不存在", "violation not found", field="violation_id")
    return row


async def _department_of(row: dict[str, Any]) -> uuid.UUID | None:
    if row["inspection"] is None:
        return None
    found = (await access.load_many([row["inspection"]])).get(row["inspection"])
    return found.department if found else None


async def _check_may_see(actor: Actor, row: dict[str, Any]) -> None:
    if actor.role in (Role.LEADER, Role.ADMIN):
        return
    if actor.role == Role.SUPERVISOR and may_manage_department(actor, await _department_of(row)):
        return
    if actor.role == Role.INSPECTOR and row["inspection"] is not None:
        found = (await access.load_many([row["inspection"]])).get(row["inspection"])
        if found is not None and found.on_team(actor):
            return
    raise NotFound("三违记录不存在", "violation not found", field="violation_id")


async def record_violation(
    actor: Actor, data: wire.ViolationCreate, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Violation:
    """An inspector records a 三违 found in an inspection."""
    now = _now(now)
    number = policy.check_id_number(data.id_number)
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field="inspection_id")
    facts, mode = await access.writable(actor, data.inspection_id, Write.VIOLATION, missing=missing)
    if mode is Mode.AMEND:
        # Not an amendment: one would carry the ID number in clear into the audit log and onto phones.
        raise StateConflict(
            "该检查已签字提交，不能再登记三违；请负责人退回修改后登记", "the inspection is signed: return it to record a 三违",
            field="inspection_id",
        )
    inspection = dict(facts.row)
    if await ViolationRecord.exists().where(ViolationRecord.id == data.id):
        raise StateConflict("该三违记录已登记", "violation already recorded", code=ErrorCode.DUPLICATE, field="id")
    key = policy.person_key(settings.privacy.id_hash_key, number)
    masked = policy.masked(number)
    await ViolationRecord.insert(
        ViolationRecord(
            id=data.id,
            inspection=inspection["id"],
            enterprise=inspection["enterprise"],
            person_name=data.person_name.strip(),
            id_number_hash=key,
            id_number_masked=masked,
            id_number_protected=policy.seal(settings.privacy.id_hash_key, number, key),
            post=data.post,
            certificate_required=data.certificate_required,
            certificate_held=data.certificate_held,
            violation_type=data.violation_type,
            description=data.description,
            disposition=data.disposition,
            recorded_by=actor.user_id,
            recorded_at=data.recorded_at or now,
            created_at=now,
            updated_at=now,
        )
    )
    audit_service.record(
        actor,
        "violation.record",
        ENTITY,
        data.id,
        {
            "inspection_id": inspection["id"],
            "enterprise_id": inspection["enterprise"],
            "person_name": data.person_name,
            "person_key": key,
            "id_number_masked": masked,
            "violation_type": data.violation_type,
            "post": data.post,
            "certificate_required": data.certificate_required,
            "certificate_held": data.certificate_held,
            "description": data.description,
            "disposition": data.disposition,
        },
    )
    (record,) = await to_wire([await _one(data.id)])
    await sync_service.publish(ENTITY, record.id, record, scope=scopes.inspection(inspection["id"]))
    return record


async def get_violation(actor: Actor, violation_id: uuid.UUID) -> wire.Violation:
    row = await _one(violation_id)
    await _check_may_see(actor, row)
    return (await to_wire([row]))[0]


async def list_for_inspection(actor: Actor, inspection_id: uuid.UUID) -> list[wire.Violation]:
    """The 三违 recorded in one inspection the actor may see."""
    access.require_visible(actor, await access.load(inspection_id))
    rows = await ViolationRecord.select().where(ViolationRecord.inspection == inspection_id).order_by(
        ViolationRecord.recorded_at
    )
    return await to_wire(rows)


async def list_violations(
    actor: Actor,
    *,
    enterprise_id: uuid.UUID | None = None,
    person_key: str | None = None,
    violation_type: ViolationType | None = None,
    limit: int = 200,
    offset: int = 0,
    inspection_id: uuid.UUID | None = None,
) -> list[wire.Violation]:
    """Records the actor may see, newest first (ID numbers masked)."""
    query = ViolationRecord.select()
    if actor.role == Role.SUPERVISOR:
        if actor.department_id is None:
            return []
        query = query.where(ViolationRecord.inspection.department == actor.department_id)
    elif actor.role == Role.INSPECTOR:
        teams = await access.team_inspection_ids(actor.user_id)
        if not teams:
            return []
        query = query.where(ViolationRecord.inspection.is_in(teams))
    if enterprise_id is not None:
        query = query.where(ViolationRecord.enterprise == enterprise_id)
    if inspection_id is not None:
        query = query.where(ViolationRecord.inspection == inspection_id)
    if person_key is not None:
        query = query.where(ViolationRecord.id_number_hash == person_key)
    if violation_type is not None:
        query = query.where(ViolationRecord.violation_type == violation_type)
    rows = await query.order_by(ViolationRecord.recorded_at, ascending=False).limit(limit).offset(offset)
    return await to_wire(rows)


async def person_history(actor: Actor, data: wire.PersonLookup, settings: Settings) -> list[wire.Violation]:
    """Every record of the person with this ID number, at any enterprise (盯人); the lookup is audited."""
    if actor.role not in (Role.SUPERVISOR, Role.LEADER, Role.ADMIN):
        raise PermissionDenied("当前角色不能按身份证号查询违章记录", "this role does not look people up")
    key = policy.person_key(settings.privacy.id_hash_key, policy.check_id_number(data.id_number))
    rows = await ViolationRecord.select().where(ViolationRecord.id_number_hash == key).order_by(ViolationRecord.recorded_at)
    audit_service.record(actor, "violation.person_lookup", "person", key, {"records": len(rows)})
    return await to_wire(rows)


async def reveal_id_number(actor: Actor, violation_id: uuid.UUID, settings: Settings) -> wire.ViolationIdNumber:
    """The full ID number, for the supervisor who must issue a decision naming the person; audited."""
    row = await _one(violation_id)
    if actor.role != Role.SUPERVISOR or not may_manage_department(actor, await _department_of(row)):
        raise PermissionDenied("只有本科室负责人可以查看完整身份证号码", "only the department's supervisor sees the full number")
    number = policy.unseal(settings.privacy.id_hash_key, row["id_number_protected"], row["id_number_hash"])
    audit_service.record(actor, "violation.reveal_id_number", ENTITY, violation_id, {"person_key": row["id_number_hash"]})
    return wire.ViolationIdNumber(violation_id=violation_id, id_number=number)


async def set_disposition(
    actor: Actor, violation_id: uuid.UUID, data: wire.DispositionUpdate, *, now: dt.datetime | None = None
) -> wire.Violation:
    """A supervisor records how the violation was dealt with."""
    now = _now(now)
    query = ViolationRecord.select().where(ViolationRecord.id == violation_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound("三违记录不存在", "violation not found", field="violation_id")
    if actor.role != Role.SUPERVISOR or not may_manage_department(actor, await _department_of(row)):
        raise PermissionDenied("只有本科室负责人可以登记处理结果", "only the department's supervisor records the disposition")
    await ViolationRecord.update({ViolationRecord.disposition: data.disposition, ViolationRecord.updated_at: now}).where(
        ViolationRecord.id == violation_id
    )
    audit_service.record(actor, "violation.disposition", ENTITY, violation_id, {"disposition": [row["disposition"], data.disposition]})
    (record,) = await to_wire([await _one(violation_id)])
    if row["inspection"] is not None:
        await sync_service.publish(ENTITY, record.id, record, scope=scopes.inspection(row["inspection"]))
    return record


async def repeat_offenders(
    actor: Actor, *, min_records: int = 2, min_enterprises: int = 1, since: dt.datetime | None = None
) -> list[wire.RepeatOffender]:
    """People with at least ``min_records`` records at ``min_enterprises`` or more enterprises (盯人).

    Matched by the keyed hash of the ID number, so the same person is one row
    whoever recorded them and wherever. Supervisors and leaders see the whole
    bureau here: following a person across departments is the point.
    """
    if actor.role not in (Role.SUPERVISOR, Role.LEADER, Role.ADMIN):
        raise PermissionDenied("当前角色不能查询重复违章人员", "this role does not query repeat offenders")
    window = ViolationRecord.recorded_at >= since if since is not None else None
    counted = ViolationRecord.select(ViolationRecord.id_number_hash, Count(ViolationRecord.id, alias="n")).group_by(
        ViolationRecord.id_number_hash
    )
    if window is not None:
        counted = counted.where(window)
    keys = [r["id_number_hash"] for r in await counted if r["n"] >= min_records]
    out = await _offenders(keys, window, min_records, min_enterprises)
    out.sort(key=lambda o: (-o.records, -len(o.enterprise_ids), o.person_key))
    return out


async def register_page(actor: Actor, *, offset: int = 0, limit: int = 50) -> tuple[list[wire.RepeatOffender], int]:
    """One page of the 三违 register (everyone recorded, most records first, as :func:`repeat_offenders` orders
    them) and how many people it holds; grouped and paged in the database."""
    if actor.role not in (Role.SUPERVISOR, Role.LEADER, Role.ADMIN):
        raise PermissionDenied("当前角色不能查询重复违章人员", "this role does not query repeat offenders")
    page = await ViolationRecord.raw(
        "SELECT id_number_hash AS k FROM violation_record GROUP BY id_number_hash"
        " ORDER BY count(*) DESC, count(DISTINCT enterprise) DESC, id_number_hash LIMIT {} OFFSET {}",
        max(1, min(limit, 200)), max(offset, 0),
    )
    total = await ViolationRecord.raw(
        "SELECT count(*) AS n FROM (SELECT 1 FROM violation_record GROUP BY id_number_hash) AS g"
    )
    order = {r["k"]: n for n, r in enumerate(page)}
    found = await _offenders(list(order), None, 1, 1)
    return sorted(found, key=lambda o: order[o.person_key]), int(total[0]["n"]) if total else 0


async def offender(actor: Actor, person_key: str) -> wire.RepeatOffender | None:
    """One person of the register by their key, or ``None``."""
    if actor.role not in (Role.SUPERVISOR, Role.LEADER, Role.ADMIN):
        raise PermissionDenied("当前角色不能查询重复违章人员", "this role does not query repeat offenders")
    return next(iter(await _offenders([person_key], None, 1, 1)), None)


async def _offenders(keys: list[str], window: Any, min_records: int, min_enterprises: int) -> list[wire.RepeatOffender]:
    if not keys:
        return []
    query = ViolationRecord.select(
        ViolationRecord.id_number_hash,
        ViolationRecord.person_name,
        ViolationRecord.id_number_masked,
        ViolationRecord.enterprise,
        ViolationRecord.violation_type,
        ViolationRecord.certificate_required,
        ViolationRecord.certificate_held,
        ViolationRecord.recorded_at,
    ).where(ViolationRecord.id_number_hash.is_in(keys))
    if window is not None:
        query = query.where(window)
    people: dict[str, list[dict[str, Any]]] = {}
    for row in await query.order_by(ViolationRecord.recorded_at):
        people.setdefault(row["id_number_hash"], []).append(row)
    out = []
    for key, rows in people.items():
        enterprises = list(dict.fromkeys(r["enterprise"] for r in rows))
        if len(rows) < min_records or len(enterprises) < min_enterprises:
            continue
        by_type: dict[str, int] = {}
        for r in rows:
            by_type[r["violation_type"]] = by_type.get(r["violation_type"], 0) + 1
        out.append(
            wire.RepeatOffender(
                person_key=key,
                person_name=rows[-1]["person_name"],
                id_number_masked=rows[-1]["id_number_masked"],
                records=len(rows),
                enterprise_ids=enterprises,
                first_recorded_at=rows[0]["recorded_at"],
                last_recorded_at=rows[-1]["recorded_at"],
                by_type=by_type,
                without_certificate=sum(1 for r in rows if r["certificate_required"] and not r["certificate_held"]),
            )
        )
    return out


# --- offline mutations (registered in sync_handlers.py) ----------------------------


async def apply_add_violation(ctx: Context, actor: Actor, mutation: wire.AddViolation) -> sync_wire.Applied:
    record = await record_violation(actor, mutation.violation, ctx.settings, now=ctx.now())
    return sync_wire.Applied(seq=mutation.seq, entity_type=ENTITY, entity_id=record.id)
