"""A hazard as stored, shown and sent: its facts for the policy, its wire record, a stored transition, publishing.

Every rule about states lives in :mod:`server.hazards.policy`; the modules of
this package load rows, check who may touch them (:mod:`server.hazards.permissions`),
write the result through :func:`write_transition` (audited), and publish what
phones need to the sync change feed. The caller owns the transaction; nothing
here commits.

Times: every function takes ``now`` (default: the wall clock, :func:`current_time`)
so tests and the scheduler control the clock. Deadlines are dates in the
bureau's time zone (``settings.hazards.timezone``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from schemas import hazards as wire
from schemas.hazards import EscalationStep
from schemas.vocab import HazardLevel, HazardStatus
from server import localtime
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.errors import NotFound
from server.hooks import Hooks
from server.hazards import policy
from server.hazards.tables import Hazard, HazardEscalation
from server.settings import Settings
from server.sync import scopes
from server.sync import service as sync_service


ENTITY = "hazard"


RECHECK_ENTITY = "recheck"


def current_time(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def ladder(settings: Settings) -> tuple[policy.Rung, ...]:
    return policy.parse_ladder(settings.hazards.escalation_days)


def ids_to_column(ids: Iterable[uuid.UUID]) -> list[str]:
    """UUID lists go into array columns as text: SQLite's array serialiser cannot encode UUIDs."""
    return [str(i) for i in ids]


def ids_from_column(values: Iterable[Any] | None) -> list[uuid.UUID]:
    return [i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in values or ()]


def _five(row: dict[str, Any]) -> wire.FiveInPlace | None:
    if row["five_deadline_date"] is None:
        return None
    return wire.FiveInPlace(
        responsible_person=row["responsible_person"],
        measures=row["measures"],
        funds_yuan=row["funds_yuan"] or 0,
        deadline_date=row["five_deadline_date"],
        contingency_plan=row["contingency_plan"],
    )


def facts_of(row: dict[str, Any]) -> policy.HazardFacts:
    return policy.HazardFacts(
        status=HazardStatus(row["status"]),
        level=HazardLevel(row["level"]),
        deadline_date=row["deadline_date"],
        five_in_place=_five(row),
        escalation_level=row["escalation_step"],
        recheck_passed=row["recheck_passed"],
    )


def _five_columns(five: wire.FiveInPlace | None) -> dict[Any, Any]:
    if five is None:
        return {}
    return {
        Hazard.responsible_person: five.responsible_person.strip(),
        Hazard.measures: five.measures,
        Hazard.funds_yuan: five.funds_yuan,
        Hazard.five_deadline_date: five.deadline_date,
        Hazard.contingency_plan: five.contingency_plan,
    }


async def _escalations(hazard_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[wire.Escalation]]:
    out: dict[uuid.UUID, list[wire.Escalation]] = {}
    if not hazard_ids:
        return out
    rows = await HazardEscalation.select().where(HazardEscalation.hazard.is_in(list(hazard_ids))).order_by(
        HazardEscalation.step
    )
    for r in rows:
        out.setdefault(r["hazard"], []).append(
            wire.Escalation(
                step=EscalationStep(r["action"]),
                applied_at=r["applied_at"],
                days_overdue=r["days_overdue"],
                enforcement_action_ids=ids_from_column(r["enforcement_action_ids"]),
            )
        )
    return out


#: The evidence (photos, signatures) attached to each of these records, by record id.
EvidenceIds = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[uuid.UUID]]]]

#: A hazard lists its photos: the evidence domain, which attaches them, registers the query
#: (:func:`server.evidence.service.hazard_evidence_ids`), so hazards never read its table.
EVIDENCE_IDS: Hooks[EvidenceIds] = Hooks("hazard's evidence list", ("evidence",))


async def to_wire(rows: Sequence[dict[str, Any]], settings: Settings, now: dt.datetime | None = None) -> list[wire.Hazard]:
    today = localtime.local_date(current_time(now), settings.hazards.timezone)
    ids = [r["id"] for r in rows]
    escalations = await _escalations(ids)
    evidence = await EVIDENCE_IDS.one()(ids)
    return [
        wire.Hazard(
            id=r["id"],
            inspection_id=r["inspection"],
            enterprise_id=r["enterprise"],
            level=HazardLevel(r["level"]),
            status=HazardStatus(r["status"]),
            description=r["description"],
            deadline_date=r["deadline_date"],
            overdue=policy.is_overdue(facts_of(r), today),
            days_overdue=policy.days_overdue(facts_of(r), today),
            listed_supervision=r["listed_supervision"],
            found_by=r["found_by"],
            found_at=r["found_at"],
            checklist_item_id=r["item"],
            location=r["location_text"],
            five_in_place=_five(r),
            evidence_ids=evidence.get(r["id"], []),
            escalations=escalations.get(r["id"], []),
            rectification_reported_at=r["rectification_reported_at"],
            closed_at=r["closed_at"],
            version=r["version"],
        )
        for r in rows
    ]


async def one(
    hazard_id: uuid.UUID, settings: Settings, now: dt.datetime | None, *, row: dict[str, Any] | None = None
) -> wire.Hazard:
    if row is None:
        row = await Hazard.select().where(Hazard.id == hazard_id).first()
    if row is None:
        raise NotFound("隐患不存在", "hazard not found", field="hazard_id")
    return (await to_wire([row], settings, now))[0]


async def publish_hazard(
    hazard_id: uuid.UUID, settings: Settings, now: dt.datetime, *, row: dict[str, Any] | None = None
) -> wire.Hazard:
    """Send the hazard to its inspection's team and to the inspectors rechecking it (``hazard:`` scope).

    ``row``: the hazard's row as it now is, when the caller holds it (what :func:`write_transition` gave); else read.
    """
    record = await one(hazard_id, settings, now, row=row)
    keys = [scopes.inspection(record.inspection_id), scopes.hazard(record.id)]
    await sync_service.publish(ENTITY, record.id, record, scope=keys)
    return record


async def belongs_to(hazard_id: uuid.UUID, inspection_id: uuid.UUID) -> bool:
    """Whether the hazard exists and was found on this inspection (or on none): what a photo may attach to."""
    row = await Hazard.select(Hazard.inspection).where(Hazard.id == hazard_id).first()
    return row is not None and row["inspection"] in (None, inspection_id)


async def republish(hazard_id: uuid.UUID, settings: Settings, now: dt.datetime) -> None:
    """Send the hazard again after something it shows changed elsewhere (a photo of it attached)."""
    await publish_hazard(hazard_id, settings, now)


async def write_transition(
    actor: Actor,
    row: dict[str, Any],
    new: policy.HazardFacts,
    action: str,
    now: dt.datetime,
    extra: dict[Any, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a transition and audit it (status, deadline and level as [old, new]); gives the row as it now is."""
    old = facts_of(row)
    values: dict[Any, Any] = {
        Hazard.status: new.status,
        Hazard.deadline_date: new.deadline_date,
        Hazard.escalation_step: new.escalation_level,
        Hazard.recheck_passed: new.recheck_passed,
        Hazard.listed_supervision: policy.is_listed_supervision(new),
        Hazard.version: row["version"] + 1,
        Hazard.updated_at: now,
        **_five_columns(new.five_in_place if new.five_in_place != old.five_in_place else None),
        **(extra or {}),
    }
    [written] = await Hazard.update(values).where(Hazard.id == row["id"]).returning(*Hazard.all_columns())
    diff: dict[str, Any] = {}
    if old.status != new.status:
        diff["status"] = [old.status, new.status]
    if old.deadline_date != new.deadline_date:
        diff["deadline_date"] = [old.deadline_date.isoformat(), new.deadline_date.isoformat()]
    if old.escalation_level != new.escalation_level:
        diff["escalation_step"] = [old.escalation_level, new.escalation_level]
    audit_service.record(actor, action, ENTITY, row["id"], {**diff, **(changes or {})})
    return written
