"""Notes and amendments: kept beside an inspection, append-only; after the signing every later write becomes one.

:func:`add_amendment` is what hazards and 三违 pushed after the signing use too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from schemas import sync as sync_wire
from schemas.inspections import AddNote, Amendment
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.context import Context
from server.errors import InvalidInput
from server.inspections import access
from server.inspections.access import Mode, Write
from server.inspections.tables import InspectionAmendment
from server.sync import scopes
from server.sync import service as sync_service


async def apply_add_note(ctx: Context, actor: Actor, mutation: AddNote) -> sync_wire.Applied:
    """Append a note (an amendment once the inspection is signed). Append-only: a retry is recognised by id."""
    _, mode = await access.writable(actor, mutation.inspection_id, Write.NOTE)
    if await InspectionAmendment.count().where(InspectionAmendment.id == mutation.id):
        raise InvalidInput("记录编号已被占用", "id already used", code=None, field="id")
    locked = mode is Mode.AMEND
    await add_amendment(actor, mutation.id, mutation.inspection_id, mutation.text,
                            {"kind": "amendment" if locked else "note"}, mutation.created_at)
    return sync_wire.Applied(seq=mutation.seq, entity_type="amendment", entity_id=mutation.id, amendment=locked)


async def add_amendment(
    actor: Actor, amendment_id: uuid.UUID, inspection_id: uuid.UUID, text: str, payload: dict[str, Any],
    created_at: dt.datetime,
) -> None:
    """Keep a note, or a write that came after the signing, beside the inspection (audited, sent to its team)."""
    await InspectionAmendment.insert(
        InspectionAmendment(
            id=amendment_id, inspection=inspection_id, author=actor.user_id, text=text, payload=payload, created_at=created_at
        )
    )
    audit_service.record(actor, "inspection.amend" if payload.get("kind") == "amendment" else "inspection.note",
                         "inspection", inspection_id, {"amendment_id": str(amendment_id), "text": text, **payload})
    await sync_service.publish(
        "amendment",
        amendment_id,
        Amendment(id=amendment_id, inspection_id=inspection_id, author_id=actor.user_id, text=text,
                  payload=payload, created_at=created_at),
        scope=scopes.inspection(inspection_id),
    )
