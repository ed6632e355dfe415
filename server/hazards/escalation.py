"""Escalation of overdue hazards: each rung of the ladder once, with the enforcement actions it proposes.

The ladder is ``settings.hazards.escalation_days`` (:func:`server.hazards.records.ladder`);
an overdue hazard also gets a deadline recheck. ``POST /hazards/escalate`` runs
:func:`escalate_overdue` in one unit of work; the scheduled job calls
:func:`overdue_hazards` and :func:`escalate_one`, one unit of work per hazard.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from schemas import hazards as wire
from schemas.enforcement import ActionOrigin
from schemas.hazards import EscalationStep, RecheckReason
from schemas.vocab import EnforcementKind
from server import localtime
from server.accounts.policy import SYSTEM
from server.audit import service as audit_service
from server.hazards import permissions, policy, proposals, rechecks, records
from server.hazards.tables import Hazard, HazardEscalation
from server.notifications import service as notifications
from server.settings import Settings


#: Enforcement actions each escalation rung proposes (the 督办通知 is the escalation record itself).
STEP_ACTIONS: dict[EscalationStep, tuple[EnforcementKind, ...]] = {
    EscalationStep.SUPERVISION_NOTICE: (),
    EscalationStep.NOTICE_OR_TALK: (EnforcementKind.PUBLIC_NOTICE, EnforcementKind.ADMONITION),
    EscalationStep.SUSPENSION_PROPOSAL: (EnforcementKind.SUSPENSION,),
    EscalationStep.CLOSURE_PROPOSAL: (EnforcementKind.CLOSURE_REQUEST,),
}


async def _apply_steps(
    row: dict[str, Any],
    facts: policy.HazardFacts,
    steps: Iterable[EscalationStep],
    trigger: str,
    settings: Settings,
    now: dt.datetime,
) -> int:
    """Record each rung once (unique per hazard and rung) and propose its enforcement actions."""
    today = localtime.local_date(now, settings.hazards.timezone)
    days = max(0, (today - row["deadline_date"]).days)
    applied = 0
    propose = proposals.PROPOSE.one()
    for index, step in enumerate(steps, start=row["escalation_step"] + 1):
        action_ids = [
            await propose(
                kind=kind,
                enterprise_id=row["enterprise"],
                inspection_id=row["inspection"],
                hazard_id=row["id"],
                origin=ActionOrigin.ESCALATION,
                reason=f"隐患逾期未整改（逾期{days}日），{policy.STEP_LABELS[step]}",
                now=now,
            )
            for kind in STEP_ACTIONS[step]
        ]
        await HazardEscalation.insert(
            HazardEscalation(
                id=uuid.uuid4(),
                hazard=row["id"],
                step=index,
                action=step,
                days_overdue=days,
                trigger=trigger,
                enforcement_action_ids=records.ids_to_column(action_ids),
                applied_at=now,
            )
        )
        audit_service.record(
            SYSTEM,
            "hazard.escalate",
            records.ENTITY,
            row["id"],
            {"step": index, "action": step, "days_overdue": days, "trigger": trigger, "enforcement_action_ids": action_ids},
        )
        await notifications.notify(
            await permissions.followers(row["id"]), kind="hazard_escalated",
            key=f"hazard_escalated:{row['id']}:{index}", title=f"隐患逾期升级：{policy.STEP_LABELS[step]}",
            body=row["description"][:500], entity=(records.ENTITY, row["id"]), settings=settings, now=now,
        )
        applied += 1
    await Hazard.update(
        {Hazard.escalation_step: facts.escalation_level, Hazard.version: Hazard.version + 1, Hazard.updated_at: now}
    ).where(Hazard.id == row["id"])
    return applied


async def escalate_after_failed_recheck(row: dict[str, Any], settings: Settings, now: dt.datetime) -> None:
    facts, steps = policy.escalate_after_failed_recheck(records.facts_of(row), records.ladder(settings))
    if steps:
        await _apply_steps(row, facts, steps, "recheck_failed", settings, now)


async def escalate_overdue(settings: Settings, *, now: dt.datetime | None = None) -> wire.EscalationRun:
    """Apply every due rung of the ladder to every overdue hazard, once; create deadline rechecks.

    Safe to run as often as wanted (each rung is stored once per hazard, rows
    are locked while decided); ``POST /hazards/escalate`` calls it in one unit
    of work. The scheduled job (``server.jobs``) calls :func:`overdue_hazards`
    and :func:`escalate_one` instead, one unit of work per hazard.
    """
    now = records.current_time(now)
    escalations = created = 0
    for hazard_id in await overdue_hazards(settings, now=now):
        done = await escalate_one(hazard_id, settings, now=now)
        escalations += done.escalations
        created += done.rechecks_created
    return wire.EscalationRun(ran_at=now, escalations=escalations, rechecks_created=created)


async def overdue_hazards(settings: Settings, *, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Open hazards whose rectification deadline has passed (local calendar), the escalation pass's candidates."""
    today = localtime.local_date(records.current_time(now), settings.hazards.timezone)
    rows = await Hazard.select(Hazard.id).where(
        Hazard.status.is_in(list(policy.OPEN_STATES)) & (Hazard.deadline_date < today)
    )
    return [r["id"] for r in rows]


async def escalate_one(hazard_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None) -> wire.EscalationRun:
    """The escalation pass for one hazard, in the caller's unit of work."""
    now = records.current_time(now)
    today = localtime.local_date(now, settings.hazards.timezone)
    row = await permissions.locked_hazard(hazard_id)
    facts, steps = policy.escalate(records.facts_of(row), today, records.ladder(settings))
    escalations = created = 0
    if steps:
        escalations = await _apply_steps(row, facts, steps, "overdue", settings, now)
    if policy.needs_deadline_recheck(facts, today, await rechecks.has_open_recheck(row["id"])):
        await rechecks.create_recheck(SYSTEM, row, RecheckReason.DEADLINE_PASSED, settings, now=now)
        created = 1
    if steps:
        await records.publish_hazard(row["id"], settings, now)
    return wire.EscalationRun(ran_at=now, escalations=escalations, rechecks_created=created)
