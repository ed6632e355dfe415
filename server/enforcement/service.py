"""Enforcement actions: proposals (by inspectors, supervisors and the system), decisions,
法制审核, 行刑衔接 transfers, and the 安全生产法 §113 counter.

    proposed ──decide(approve)──▶ in_effect ──record_transfer──▶ transferred (移送 only)
        │             └─(above threshold)─▶ awaiting_review ──review(approve)──▶ in_effect
        └──decide(refuse)──▶ rejected            └──review(refuse)──▶ rejected

Who does what: an inspector on the check's team or a supervisor of its department
proposes; a supervisor of the department decides, never the one who proposed a
penalty (``policy.proposer_may_not_decide``); 法制审核 is the legal reviewer's
(role ``legal_reviewer``, bureau-wide), who is neither proposer nor decider.

Rules of fields, thresholds and clocks are pure (:mod:`server.enforcement.policy`).
The caller owns the transaction; every change is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from schemas import enforcement as wire
from schemas.audit import AuditRecord
from schemas import sync as sync_wire
from schemas.enforcement import ActionOrigin, ActionStatus
from schemas.problems import ErrorCode
from schemas.vocab import EnforcementKind, HazardLevel, Role
from server import database, localtime
from server.accounts.policy import SYSTEM, Actor, may_manage_department
from server.audit import service as audit_service
from server.context import Context
from server.enforcement import policy
from server.enforcement.tables import EnforcementAction
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hazards import proposals as hazard_proposals
from server.hazards.tables import Hazard
from server.inspections import access
from server.inspections.access import Write
from server.registry import service as registry_service
from server.settings import Settings
from server.sync import scopes
from server.sync import service as sync_service

ENTITY = "enforcement_action"
#: A closure request in one of these states stops the §113 counter proposing another.
LIVE_STATES = (ActionStatus.PROPOSED, ActionStatus.AWAITING_REVIEW, ActionStatus.IN_EFFECT)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def thresholds(settings: Settings) -> policy.ReviewThresholds:
    return policy.ReviewThresholds(
        kinds=policy.parse_review_kinds(settings.enforcement.review_kinds),
        fine_over_yuan=settings.enforcement.fine_review_over_yuan,
    )


# --- access --------------------------------------------------------------------


async def _inspection_of(row: dict[str, Any]) -> uuid.UUID | None:
    """The check an action stands on: its own, or its hazard's."""
    if row["inspection"] is None and row["hazard"] is not None:
        hazard = await Hazard.select(Hazard.inspection).where(Hazard.id == row["hazard"]).first()
        return hazard["inspection"] if hazard else None
    return row["inspection"]


async def department_of(row: dict[str, Any]) -> uuid.UUID | None:
    inspection_id = await _inspection_of(row)
    if inspection_id is None:
        return None
    found = (await access.load_many([inspection_id])).get(inspection_id)
    return found.department if found else None


async def _on_team(actor: Actor, inspection_id: uuid.UUID | None) -> bool:
    if inspection_id is None:
        return False
    found = (await access.load_many([inspection_id])).get(inspection_id)
    return found is not None and found.on_team(actor)


async def _require_team(kind: EnforcementKind, inspection: access.InspectionFacts) -> None:
    """A 行政处罚 stands on a check by two certified officers without 回避 (``access.check_team``)."""
    await access.require_team(kind, inspection.enterprise, inspection.team, field="inspection_id")


async def _check_may_see(actor: Actor, row: dict[str, Any]) -> None:
    if actor.role in (Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER):  # 法制审核 serves the whole bureau
        return
    if actor.role == Role.SUPERVISOR and may_manage_department(actor, await department_of(row)):
        return
    if actor.role == Role.INSPECTOR and (
        row["proposed_by"] == actor.user_id or await _on_team(actor, row["inspection"])
    ):
        return
    raise NotFound("执法措施不存在", "enforcement action not found", field="action_id")


async def _check_supervisor_of(actor: Actor, row: dict[str, Any]) -> None:
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied(
            "检查人员只能提出执法措施，决定须由科室负责人作出", "only supervisors decide enforcement actions", field="approve"
        )
    if not may_manage_department(actor, await department_of(row)):
        raise PermissionDenied("只能决定本科室的执法措施", "not your department's action", field="action_id")


async def _locked(action_id: uuid.UUID) -> dict[str, Any]:
    query = EnforcementAction.select().where(EnforcementAction.id == action_id)
    if database.is_postgres():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound("执法措施不存在", "enforcement action not found", field="action_id")
    return row


# --- wire ----------------------------------------------------------------------------


def to_wire(row: dict[str, Any], now: dt.datetime | None = None) -> wire.EnforcementAction:
    now = _now(now)
    kind = EnforcementKind(row["kind"])
    status = ActionStatus(row["status"])
    decision_overdue = transfer_overdue = False
    if kind == EnforcementKind.JUDICIAL_TRANSFER:
        clock = policy.transfer_clock(
            proposed_at=row["proposed_at"],
            decided_at=row["decided_at"],
            approved=status in (ActionStatus.IN_EFFECT, ActionStatus.TRANSFERRED),
            transferred_at=row["transferred_at"],
            now=now,
        )
        decision_overdue, transfer_overdue = clock.decision_overdue, clock.transfer_overdue
    finding = row["section_113"]
    if isinstance(finding, str):
        finding = msgspec.json.decode(finding)
    return wire.EnforcementAction(
        id=row["id"],
        enterprise_id=row["enterprise"],
        kind=kind,
        status=status,
        origin=ActionOrigin(row["origin"]),
        reason=row["reason"],
        proposed_by=row["proposed_by"],
        proposed_at=row["proposed_at"],
        inspection_id=row["inspection"],
        hazard_id=row["hazard"],
        amount_yuan=row["amount_yuan"],
        max_penalty=row["max_penalty"],
        legal_basis=row["basis"],
        deadline_date=row["deadline_date"],
        needs_legal_review=row["legal_review_required"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_note=row["decision_note"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        review_opinion=row["review_opinion"],
        effective_at=row["effective_at"],
        decision_due_at=row["decision_due_at"],
        transfer_due_at=row["transfer_due_at"],
        transferred_at=row["transferred_at"],
        receiving_agency=row["receiving_agency"],
        decision_overdue=decision_overdue,
        transfer_overdue=transfer_overdue,
        section_113=msgspec.convert(finding, wire.Section113Finding) if finding else None,
    )


async def _publish(action_id: uuid.UUID, now: dt.datetime) -> wire.EnforcementAction:
    """Proposals made on a phone go back to its inspection's team with their decision."""
    row = await EnforcementAction.select().where(EnforcementAction.id == action_id).first()
    record = to_wire(row, now)
    keys = []
    if row["inspection"] is not None:
        keys.append(scopes.inspection(row["inspection"]))
    if row["hazard"] is not None:
        keys.append(scopes.hazard(row["hazard"]))
    if keys:
        await sync_service.publish(ENTITY, record.id, record, scope=keys)
    return record


# --- proposing -----------------------------------------------------------------------


async def _insert(
    *,
    action_id: uuid.UUID,
    kind: EnforcementKind,
    enterprise_id: uuid.UUID,
    inspection_id: uuid.UUID | None,
    hazard_id: uuid.UUID | None,
    origin: ActionOrigin,
    reason: str,
    proposed_by: uuid.UUID | None,
    now: dt.datetime,
    amount_yuan: int | None = None,
    max_penalty: bool = False,
    basis: str = "",
    deadline_date: dt.date | None = None,
    section_113: wire.Section113Finding | None = None,
) -> None:
    await EnforcementAction.insert(
        EnforcementAction(
            id=action_id,
            kind=kind,
            status=ActionStatus.PROPOSED,
            origin=origin,
            enterprise=enterprise_id,
            inspection=inspection_id,
            hazard=hazard_id,
            amount_yuan=amount_yuan,
            max_penalty=max_penalty,
            basis=basis,
            reason=reason,
            deadline_date=deadline_date,
            proposed_by=proposed_by,
            proposed_at=now,
            # 行刑衔接: the head decides within 3 days of the report.
            decision_due_at=now + policy.TRANSFER_DECISION_WINDOW if kind == EnforcementKind.JUDICIAL_TRANSFER else None,
            section_113=msgspec.json.encode(section_113).decode() if section_113 else None,
            updated_at=now,
        )
    )


async def propose(
    actor: Actor, data: wire.EnforcementProposal, settings: Settings, *, now: dt.datetime | None = None
) -> wire.EnforcementAction:
    """An inspector (on the check's team) or a supervisor (of its department) proposes an action."""
    now = _now(now)
    if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        raise PermissionDenied("当前角色不能提出执法措施", "this role does not propose enforcement actions")
    policy.check_proposal(data)
    if await EnforcementAction.exists().where(EnforcementAction.id == data.id):
        raise StateConflict("该执法措施已提交", "action already recorded", code=ErrorCode.DUPLICATE, field="id")
    inspection_id = data.inspection_id
    enterprise_id: uuid.UUID | None = None
    if data.hazard_id is not None:
        hazard = await Hazard.select(Hazard.inspection, Hazard.enterprise).where(Hazard.id == data.hazard_id).first()
        if hazard is None:
            raise InvalidInput("隐患不存在", "unknown hazard", code=ErrorCode.UNKNOWN_REFERENCE, field="hazard_id")
        if inspection_id is not None and inspection_id != hazard["inspection"]:
            raise InvalidInput("隐患不属于该次检查", "the hazard is not from this inspection", field="hazard_id")
        inspection_id, enterprise_id = hazard["inspection"], hazard["enterprise"]
    missing = InvalidInput("检查记录不存在", "unknown inspection", code=ErrorCode.UNKNOWN_REFERENCE, field="inspection_id")
    facts = await access.load(inspection_id, missing=missing) if inspection_id is not None else None
    if facts is None:
        raise missing
    access.require_writable(actor, facts, Write.PROPOSAL)
    await _require_team(data.kind, facts)
    inspection = facts.row
    enterprise_id = enterprise_id or inspection["enterprise"]
    await _insert(
        action_id=data.id,
        kind=data.kind,
        enterprise_id=enterprise_id,
        inspection_id=inspection["id"],
        hazard_id=data.hazard_id,
        origin=ActionOrigin.INSPECTOR if actor.role == Role.INSPECTOR else ActionOrigin.SUPERVISOR,
        reason=data.reason,
        proposed_by=actor.user_id,
        now=now,
        amount_yuan=data.amount_yuan,
        max_penalty=data.max_penalty,
        basis=data.legal_basis,
        deadline_date=data.deadline_date,
    )
    audit_service.record(actor, "enforcement.propose", ENTITY, data.id, data)
    return await _publish(data.id, now)


async def propose_system(
    *,
    kind: EnforcementKind,
    enterprise_id: uuid.UUID,
    inspection_id: uuid.UUID | None,
    hazard_id: uuid.UUID | None,
    origin: ActionOrigin,
    reason: str,
    now: dt.datetime,
    section_113: wire.Section113Finding | None = None,
) -> uuid.UUID:
    """The system proposes an action (escalation ladder, §113); a supervisor decides it like any other."""
    action_id = uuid.uuid4()
    await _insert(
        action_id=action_id,
        kind=kind,
        enterprise_id=enterprise_id,
        inspection_id=inspection_id,
        hazard_id=hazard_id,
        origin=origin,
        reason=reason,
        proposed_by=None,
        now=now,
        section_113=section_113,
    )
    audit_service.record(
        SYSTEM,
        "enforcement.propose",
        ENTITY,
        action_id,
        {"kind": kind, "origin": origin, "reason": reason, "hazard_id": hazard_id, "section_113": section_113},
    )
    return action_id


# --- deciding --------------------------------------------------------------------------


async def decide(
    actor: Actor,
    action_id: uuid.UUID,
    data: wire.EnforcementDecision,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> wire.EnforcementAction:
    """A supervisor decides (not the one who proposed a penalty); above the thresholds it waits for 法制审核."""
    now = _now(now)
    row = await _locked(action_id)
    await _check_supervisor_of(actor, row)
    kind = EnforcementKind(row["kind"])
    if row["status"] != ActionStatus.PROPOSED:
        raise StateConflict("该措施已作出决定", "the action has already been decided", field="status")
    if data.amount_yuan is not None and kind != EnforcementKind.FINE:
        raise InvalidInput("只有罚款可填写金额", "only a fine has an amount", field="amount_yuan")
    amount = data.amount_yuan if data.amount_yuan is not None else row["amount_yuan"]
    values: dict[Any, Any] = {
        EnforcementAction.decided_by: actor.user_id,
        EnforcementAction.decided_at: now,
        EnforcementAction.decision_note: data.note,
        EnforcementAction.updated_at: now,
    }
    if not data.approve:
        if kind == EnforcementKind.JUDICIAL_TRANSFER and not data.note.strip():
            raise InvalidInput("不予移送须记录理由", "refusing a transfer needs the reasons", field="note")
        values[EnforcementAction.status] = ActionStatus.REJECTED
    else:
        if kind == EnforcementKind.FINE and amount is None:
            raise InvalidInput("罚款须填写金额", "a fine needs an amount", field="amount_yuan")
        if (inspection_id := await _inspection_of(row)) is not None:
            await _require_team(kind, await access.load(inspection_id))
        review = policy.needs_legal_review(kind, amount, thresholds(settings))
        if row["proposed_by"] == actor.user_id and policy.proposer_may_not_decide(kind, review):
            raise PermissionDenied(
                "提出人不能决定本人提出的执法措施，须由另一名负责人决定", "the proposer may not decide the action",
                field="decided_by",
            )
        values[EnforcementAction.amount_yuan] = amount
        values[EnforcementAction.legal_review_required] = review
        if review:
            values[EnforcementAction.status] = ActionStatus.AWAITING_REVIEW
        else:
            values.update(_effect(kind, now))
    await EnforcementAction.update(values).where(EnforcementAction.id == action_id)
    audit_service.record(
        actor,
        "enforcement.decide",
        ENTITY,
        action_id,
        {"approve": data.approve, "note": data.note, "amount_yuan": amount, "status": [row["status"], values.get(EnforcementAction.status)]},
    )
    await _after_effect(row, values.get(EnforcementAction.status), settings, now)
    return await _publish(action_id, now)


def _effect(kind: EnforcementKind, now: dt.datetime) -> dict[Any, Any]:
    values: dict[Any, Any] = {EnforcementAction.status: ActionStatus.IN_EFFECT, EnforcementAction.effective_at: now}
    if kind == EnforcementKind.JUDICIAL_TRANSFER:
        values[EnforcementAction.transfer_due_at] = now + policy.TRANSFER_WINDOW
    return values


async def _after_effect(row: dict[str, Any], status: Any, settings: Settings, now: dt.datetime) -> None:
    if status == ActionStatus.IN_EFFECT and EnforcementKind(row["kind"]) in policy.PENALTY_KINDS:
        await check_section_113(row["enterprise"], settings, now=now)


async def review(
    actor: Actor, action_id: uuid.UUID, data: wire.LegalReview, settings: Settings, *, now: dt.datetime | None = None
) -> wire.EnforcementAction:
    """法制审核 by a second person: neither the one who decided nor the one who proposed."""
    now = _now(now)
    row = await _locked(action_id)
    if actor.role != Role.LEGAL_REVIEWER:
        raise PermissionDenied("法制审核须由法制审核人员进行", "only legal reviewers review decisions", field="reviewed_by")
    if row["status"] != ActionStatus.AWAITING_REVIEW:
        raise StateConflict("该措施不在待法制审核状态", "the action is not awaiting legal review", field="status")
    if actor.user_id in (row["decided_by"], row["proposed_by"]):
        raise PermissionDenied(
            "法制审核须由决定人、提出人以外的第二人进行", "the reviewer must be a second person", field="reviewed_by"
        )
    values: dict[Any, Any] = {
        EnforcementAction.reviewed_by: actor.user_id,
        EnforcementAction.reviewed_at: now,
        EnforcementAction.review_opinion: data.opinion,
        EnforcementAction.updated_at: now,
    }
    if data.approve:
        values.update(_effect(EnforcementKind(row["kind"]), now))
    else:
        values[EnforcementAction.status] = ActionStatus.REJECTED
    await EnforcementAction.update(values).where(EnforcementAction.id == action_id)
    audit_service.record(
        actor, "enforcement.legal_review", ENTITY, action_id, {"approve": data.approve, "opinion": data.opinion}
    )
    await _after_effect(row, values[EnforcementAction.status], settings, now)
    return await _publish(action_id, now)


async def record_transfer(
    actor: Actor, action_id: uuid.UUID, data: wire.TransferRecord, *, now: dt.datetime | None = None
) -> wire.EnforcementAction:
    """行刑衔接: the approved case is handed to the 公安 (due within 24 h of the decision)."""
    now = _now(now)
    row = await _locked(action_id)
    await _check_supervisor_of(actor, row)
    if row["kind"] != EnforcementKind.JUDICIAL_TRANSFER or row["status"] != ActionStatus.IN_EFFECT:
        raise StateConflict("只有已决定移送的案件可以登记移送", "only an approved transfer can be recorded", field="status")
    transferred_at = data.transferred_at or now
    await EnforcementAction.update(
        {
            EnforcementAction.status: ActionStatus.TRANSFERRED,
            EnforcementAction.transferred_at: transferred_at,
            EnforcementAction.receiving_agency: data.receiving_agency,
            EnforcementAction.updated_at: now,
        }
    ).where(EnforcementAction.id == action_id)
    audit_service.record(
        actor,
        "enforcement.transfer",
        ENTITY,
        action_id,
        {"receiving_agency": data.receiving_agency, "transferred_at": transferred_at.isoformat()},
    )
    return await _publish(action_id, now)


async def record_refusal(
    actor: Actor, action_id: uuid.UUID, data: wire.RefusalRecord, settings: Settings, *, now: dt.datetime | None = None
) -> wire.EnforcementAction:
    """§113 (四): the enterprise refuses a 停产停业整顿 in effect → the system proposes 提请关闭.

    Returns the proposed closure request (or the live one already proposed).
    """
    now = _now(now)
    row = await _locked(action_id)
    await _check_supervisor_of(actor, row)
    if row["kind"] != EnforcementKind.SUSPENSION or row["status"] != ActionStatus.IN_EFFECT:
        raise StateConflict("只有已生效的停产停业整顿决定可以登记拒不执行", "only a suspension in effect can be refused", field="status")
    observed_at = data.observed_at or now
    audit_service.record(
        actor, "enforcement.refusal", ENTITY, action_id, {"note": data.note, "observed_at": observed_at.isoformat()}
    )
    live = await _live_closure(row["enterprise"])
    if live is not None:
        return await get_action(actor, live, now=now)
    closure_id = await propose_system(
        kind=EnforcementKind.CLOSURE_REQUEST,
        enterprise_id=row["enterprise"],
        inspection_id=row["inspection"],
        hazard_id=row["hazard"],
        origin=ActionOrigin.SECTION_113,
        reason=f"拒不执行停产停业整顿决定（{data.note}），依据安全生产法第一百一十三条提请关闭",
        now=now,
        section_113=wire.Section113Finding(
            rule="refused_suspension",
            penalties=0,
            window_start_date=localtime.local_date(row["effective_at"] or now, settings.hazards.timezone),
            as_of_date=localtime.local_date(observed_at, settings.hazards.timezone),
        ),
    )
    return await _publish(closure_id, now)


async def _live_closure(enterprise_id: uuid.UUID) -> uuid.UUID | None:
    row = await EnforcementAction.select(EnforcementAction.id).where(
        (EnforcementAction.enterprise == enterprise_id)
        & (EnforcementAction.kind == EnforcementKind.CLOSURE_REQUEST)
        & EnforcementAction.status.is_in(list(LIVE_STATES))
    ).first()
    return row["id"] if row else None


# --- reading ----------------------------------------------------------------------------


async def get_action(actor: Actor, action_id: uuid.UUID, *, now: dt.datetime | None = None) -> wire.EnforcementAction:
    row = await EnforcementAction.select().where(EnforcementAction.id == action_id).first()
    if row is None:
        raise NotFound("执法措施不存在", "enforcement action not found", field="action_id")
    await _check_may_see(actor, row)
    return to_wire(row, now)


async def history(actor: Actor, action_id: uuid.UUID) -> list[AuditRecord]:
    """The audit entries of an action the actor may see, oldest first."""
    await get_action(actor, action_id)
    return await audit_service.entries_for([(ENTITY, action_id)])


async def _actions_where(
    actor: Actor,
    status: ActionStatus | None,
    kind: EnforcementKind | None,
    enterprise_id: uuid.UUID | None,
    hazard_id: uuid.UUID | None,
) -> list[Any] | None:
    """The conditions of the actions ``actor`` may see that match the filters; ``None``: none at all."""
    where: list[Any] = []
    if actor.role == Role.SUPERVISOR:
        if actor.department_id is None:
            return None
        where.append(
            (EnforcementAction.inspection.department == actor.department_id)
            | (EnforcementAction.hazard.inspection.department == actor.department_id)
        )
    elif actor.role == Role.INSPECTOR:
        teams = await access.team_inspection_ids(actor.user_id)
        mine = EnforcementAction.proposed_by == actor.user_id
        if teams:
            mine = mine | EnforcementAction.inspection.is_in(teams)
        where.append(mine)
    if status is not None:
        where.append(EnforcementAction.status == status)
    if kind is not None:
        where.append(EnforcementAction.kind == kind)
    if enterprise_id is not None:
        where.append(EnforcementAction.enterprise == enterprise_id)
    if hazard_id is not None:
        where.append(EnforcementAction.hazard == hazard_id)
    return where


async def list_actions(
    actor: Actor,
    *,
    status: ActionStatus | None = None,
    kind: EnforcementKind | None = None,
    enterprise_id: uuid.UUID | None = None,
    hazard_id: uuid.UUID | None = None,
    limit: int = 200,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> list[wire.EnforcementAction]:
    """The actions ``actor`` may see, newest proposal first; ``offset``/``limit`` give one page (:func:`count_actions`)."""
    where = await _actions_where(actor, status, kind, enterprise_id, hazard_id)
    if where is None:
        return []
    query = EnforcementAction.select()
    for condition in where:
        query = query.where(condition)
    rows = await (query.order_by(EnforcementAction.proposed_at, ascending=False).order_by(EnforcementAction.id)
                  .offset(max(offset, 0)).limit(limit))
    return [to_wire(r, now) for r in rows]


async def count_actions(
    actor: Actor,
    *,
    status: ActionStatus | None = None,
    kind: EnforcementKind | None = None,
    enterprise_id: uuid.UUID | None = None,
    hazard_id: uuid.UUID | None = None,
) -> int:
    """How many actions :func:`list_actions` would list without its page bounds."""
    where = await _actions_where(actor, status, kind, enterprise_id, hazard_id)
    if where is None:
        return 0
    query = EnforcementAction.count()
    for condition in where:
        query = query.where(condition)
    return await query


# --- 安全生产法 §113 ------------------------------------------------------------------------


async def _section_113_facts(
    enterprise_id: uuid.UUID, tz: str
) -> tuple[list[dict[str, Any]], list[policy.MajorHazardSpan], list[dt.date]]:
    """The enterprise's major hazards (newest first) with their spans, and the dates its penalties took effect."""
    majors = await Hazard.select(Hazard.id, Hazard.inspection, Hazard.found_at, Hazard.closed_at).where(
        (Hazard.enterprise == enterprise_id) & (Hazard.level == HazardLevel.MAJOR)
    ).order_by(Hazard.found_at, ascending=False)
    penalties = await EnforcementAction.select(EnforcementAction.effective_at).where(
        (EnforcementAction.enterprise == enterprise_id)
        & EnforcementAction.kind.is_in(list(policy.PENALTY_KINDS))
        & EnforcementAction.status.is_in([ActionStatus.IN_EFFECT])
        & EnforcementAction.effective_at.is_not_null()
    )
    spans = [
        policy.MajorHazardSpan(
            found_date=localtime.local_date(h["found_at"], tz),
            closed_date=localtime.local_date(h["closed_at"], tz) if h["closed_at"] else None,
        )
        for h in majors
    ]
    return majors, spans, [localtime.local_date(p["effective_at"], tz) for p in penalties]


async def section_113_counter(
    actor: Actor, enterprise_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> wire.Section113Counter:
    """Where an enterprise stands on the §113 (一) counter today, and its live closure request if any."""
    if actor.role == Role.INSPECTOR:
        raise PermissionDenied("当前角色不能查看第一百一十三条计数", "this role does not read the section 113 counter")
    await registry_service.get(actor, enterprise_id)  # NotFound when absent or not the actor's to see
    tz = settings.hazards.timezone
    _, spans, dates = await _section_113_facts(enterprise_id, tz)
    count = policy.section_113_count(spans, dates, localtime.local_date(_now(now), tz))
    return wire.Section113Counter(
        enterprise_id=enterprise_id,
        as_of_date=count.as_of_date,
        short_window_start_date=count.short_start_date,
        short_window_penalties=count.short_penalties,
        short_window_major_hazard=count.short_major_hazard,
        short_window_threshold=policy.SECTION_113_SHORT_COUNT,
        year_window_start_date=count.year_start_date,
        year_window_penalties=count.year_penalties,
        year_window_major_hazard=count.year_major_hazard,
        year_window_threshold=policy.SECTION_113_YEAR_COUNT,
        open_major_hazards=sum(1 for s in spans if s.closed_date is None),
        live_closure_request_id=await _live_closure(enterprise_id),
    )


async def check_section_113(
    enterprise_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None
) -> uuid.UUID | None:
    """Propose 提请关闭 when the enterprise meets §113 (一) now and no closure request is live."""
    now = _now(now)
    tz = settings.hazards.timezone
    majors, spans, dates = await _section_113_facts(enterprise_id, tz)
    if not majors:
        return None
    finding = policy.section_113(spans, dates, localtime.local_date(now, tz))
    if finding is None:
        return None
    if await _live_closure(enterprise_id) is not None:
        return None
    rule = "180日内三次" if finding.rule == "3_in_180_days" else "一年内四次"
    latest = majors[0]
    return await propose_system(
        kind=EnforcementKind.CLOSURE_REQUEST,
        enterprise_id=enterprise_id,
        inspection_id=latest["inspection"],
        hazard_id=latest["id"],
        origin=ActionOrigin.SECTION_113,
        reason=f"存在重大事故隐患，{rule}受到行政处罚（共{finding.penalties}次），依据安全生产法第一百一十三条提请关闭",
        now=now,
        section_113=finding,
    )



hazard_proposals.PROPOSE.register("enforcement", propose_system)
hazard_proposals.SECTION_113.register("enforcement", check_section_113)


# --- offline mutations (registered in sync_handlers.py) ----------------------------


async def apply_propose_enforcement(ctx: Context, actor: Actor, mutation: wire.ProposeEnforcement) -> sync_wire.Applied:
    record = await propose(actor, mutation.action, ctx.settings, now=ctx.now())
    return sync_wire.Applied(seq=mutation.seq, entity_type=ENTITY, entity_id=record.id)
