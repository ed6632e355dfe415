"""Item results pushed from phones: validated in memory, merged field by field, written in bulk.

A field another writer changed after the phone's ``base_version`` is a conflict
when the values differ: the server value stays, the phone's value is kept in an
``ItemResultConflict`` for a supervisor (:mod:`server.inspections.conflicts`),
and the phone is told. Nothing is dropped. A writer is one user on one device
(``field_versions`` keeps both): the same inspector on two phones conflicts like
two inspectors, while one phone's own later edit, or a device that had pulled
the other's write, merges. On a signed check an edit becomes an amendment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas import sync as sync_wire
from schemas.inspections import (
    ITEM_RESULT_FIELDS,
    ItemResult,
    ItemResultConflict,
    RecordItemResult,
    item_result_refusal,
)
from schemas.vocab import InspectionStatus
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.checklists import service as checklists_service
from server.context import Context
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.inspections import access, notes, records
from server.inspections.access import Mode, Write
from server.inspections.tables import Inspection as InspectionRow
from server.inspections.tables import ItemResultConflict as ConflictRow
from server.inspections.tables import ItemResult as ItemResultRow
from server.sync import scopes, sql
from server.sync import service as sync_service


@dataclass
class _ItemState:
    """One item result as the batch sees it (loaded, then changed by each accepted mutation)."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    item_id: uuid.UUID
    outcome: str | None
    note: str
    field_versions: dict[str, Any]
    version: int
    updated_by: uuid.UUID | None
    updated_at: dt.datetime
    dirty: bool = False
    new: bool = False


@dataclass
class _Batch:
    inspections: dict[uuid.UUID, dict[str, Any]]
    access: dict[uuid.UUID, Mode | Exception]  # how the actor may write each (access.require_writable)
    template_items: dict[uuid.UUID, set[uuid.UUID]]
    results: dict[tuple[uuid.UUID, uuid.UUID], _ItemState]
    taken_ids: set[uuid.UUID]
    started: dict[uuid.UUID, dt.datetime] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


async def _load_batch(actor: Actor, mutations: Sequence[RecordItemResult]) -> _Batch:
    # Locked: read-merge-write, one writer at a time.
    facts = await access.load_many({m.inspection_id for m in mutations}, lock=True)
    inspections = {i: dict(f.row) for i, f in facts.items()}
    decisions: dict[uuid.UUID, Mode | Exception] = {}
    for inspection_id, inspection in facts.items():
        try:
            decisions[inspection_id] = access.require_writable(actor, inspection, Write.ITEM_RESULT)
        except (NotFound, PermissionDenied, StateConflict) as refusal:
            decisions[inspection_id] = refusal
    rows = list(inspections.values())
    templates = list({r["template"] for r in rows if r["template"] is not None})
    template_items = await checklists_service.item_ids_by_template(templates)
    results: dict[tuple[uuid.UUID, uuid.UUID], _ItemState] = {}
    own_ids = list({m.id for m in mutations})
    if database.is_postgres():
        # Raw SQL: a thousand-row batch is read in two statements without ORM row handling.
        rows = await sql.fetch(
            "SELECT id, inspection, item, outcome, note, field_versions, version, updated_by, updated_at"
            " FROM item_result WHERE inspection = ANY($1::uuid[])",
            "",
            list(inspections),
        )
        loaded = [dict(r) | {"field_versions": msgspec.json.decode(r["field_versions"] or "{}")} for r in rows]
        taken = {r[0] for r in await sql.fetch("SELECT id FROM item_result WHERE id = ANY($1::uuid[])", "", own_ids)}
    else:
        loaded = await ItemResultRow.select().where(ItemResultRow.inspection.is_in(list(inspections) or [uuid.uuid4()])).output(
            load_json=True
        )
        taken = {r["id"] for r in await ItemResultRow.select(ItemResultRow.id).where(ItemResultRow.id.is_in(own_ids))}
    for r in loaded:
        results[(r["inspection"], r["item"])] = _ItemState(
            id=r["id"], inspection_id=r["inspection"], item_id=r["item"], outcome=r["outcome"], note=r["note"],
            field_versions=dict(r["field_versions"] or {}), version=r["version"], updated_by=r["updated_by"],
            updated_at=r["updated_at"],
        )
    return _Batch(inspections, decisions, template_items, results, taken)


def _apply_one(
    actor: Actor, batch: _Batch, m: RecordItemResult, now: dt.datetime, user: str, device: str | None
) -> sync_wire.Applied | sync_wire.Conflict | InvalidInput | NotFound | StateConflict | tuple[str, dict[str, Any]]:
    """Decide one mutation against the batch state; change the state only if it is accepted.

    ``user`` and ``device`` are the actor's ids as ``field_versions`` keeps them (text, made once per batch).
    Returns an outcome, a domain error to reject with, or ``("amend", payload)``
    when the inspection is locked and the edit must become an amendment.
    """
    inspection = batch.inspections.get(m.inspection_id)
    if inspection is None:
        return NotFound("检查记录不存在", "inspection not found", field="inspection_id")
    mode = batch.access[m.inspection_id]
    if isinstance(mode, Exception):
        return mode
    status = inspection["status"]
    template = inspection["template"]
    if template is not None and m.item_id not in batch.template_items.get(template, set()):
        return InvalidInput("检查项不属于该检查表", "item is not in the inspection's checklist", field="item_id")
    changes = {f: msgspec.to_builtins(getattr(m, f)) for f in ITEM_RESULT_FIELDS if getattr(m, f) is not msgspec.UNSET}
    if (refusal := item_result_refusal(changes, first=False)) is not None:
        return InvalidInput.of(refusal)
    if mode is Mode.AMEND:
        return ("amend", {"kind": "amendment", "mutation": "record_item_result", "item_id": str(m.item_id), "changes": changes})
    state = batch.results.get((m.inspection_id, m.item_id))
    if state is None:
        if (refusal := item_result_refusal(changes, first=True)) is not None:
            return InvalidInput.of(refusal)
        if m.id in batch.taken_ids:
            return InvalidInput("记录编号已被占用", "id already used", field="id")
        state = _ItemState(
            id=m.id, inspection_id=m.inspection_id, item_id=m.item_id, outcome=None, note="", field_versions={},
            version=0, updated_by=actor.user_id, updated_at=now, new=True,
        )
        batch.results[(m.inspection_id, m.item_id)] = state
        batch.taken_ids.add(m.id)
    conflicted: list[tuple[str, Any, Any]] = []
    applied: dict[str, Any] = {}
    for name, value in changes.items():
        current = getattr(state, name)
        if current == value:
            continue
        written = state.field_versions.get(name) or {}
        if written.get("v", 0) > m.base_version and _by_other(written, user, device):
            conflicted.append((name, current, value))
        else:
            applied[name] = value
    if applied:
        state.version += 1
        for name, value in applied.items():
            setattr(state, name, value)
            state.field_versions[name] = {"v": state.version, "by": user, "dev": device}
        state.updated_by, state.updated_at, state.dirty = actor.user_id, now, True
        if status == InspectionStatus.PLANNED and m.inspection_id not in batch.started:
            batch.started[m.inspection_id] = m.recorded_at or now
            inspection["status"] = InspectionStatus.IN_PROGRESS
    conflict_ids = []
    for name, server_value, client_value in conflicted:
        conflict_id = uuid.uuid4()
        conflict_ids.append(conflict_id)
        batch.conflicts.append(
            {"id": conflict_id, "state": state, "field": name, "server_value": server_value, "client_value": client_value}
        )
    if conflicted:
        return sync_wire.Conflict(
            seq=m.seq, entity_type="item_result", entity_id=state.id, fields=[c[0] for c in conflicted],
            conflict_ids=conflict_ids, server_version=state.version,
            server_record=msgspec.to_builtins(_state_wire(state)),
        )
    return sync_wire.Applied(seq=m.seq, entity_type="item_result", entity_id=state.id, version=state.version)


def _by_other(written: dict[str, Any], user: str, device: str | None) -> bool:
    """True if a field's last write came from another writer: another user, or the same user on another device."""
    if written.get("by") is None:
        return False
    if written["by"] != user:
        return True
    # Entries written before devices were kept name only the user: read as this writer's own.
    return "dev" in written and written["dev"] != device


def _state_wire(state: _ItemState) -> ItemResult:
    return ItemResult(
        id=state.id, inspection_id=state.inspection_id, item_id=state.item_id, outcome=state.outcome, note=state.note,
        version=state.version, updated_by=state.updated_by, updated_at=state.updated_at,
    )


async def apply_record_item_results(
    ctx: Context, actor: Actor, mutations: Sequence[RecordItemResult]
) -> list[sync_wire.Applied | sync_wire.Conflict | Exception]:
    """Apply many item results at once: read once, decide each in memory, write in bulk.

    Returns one entry per mutation: an outcome, or the domain error that
    rejects it (a rejected one changes nothing). The caller runs this inside a
    savepoint and falls back to one mutation at a time if the bulk write fails.
    """
    now = ctx.now()
    batch = await _load_batch(actor, mutations)
    decided: list[Any] = []
    amendments: list[tuple[uuid.UUID, RecordItemResult, dict[str, Any]]] = []
    user, device = str(actor.user_id), str(actor.device_id) if actor.device_id else None
    for m in mutations:
        result = _apply_one(actor, batch, m, now, user, device)
        if isinstance(result, tuple):
            # Derived from the mutation, so the amendment's id is the same whoever computes it.
            amendment_id = uuid.uuid5(m.id, f"amend:{m.seq}")
            amendments.append((amendment_id, m, result[1]))
            result = sync_wire.Applied(seq=m.seq, entity_type="amendment", entity_id=amendment_id, amendment=True)
        decided.append(result)
    await _write_batch(actor, batch, now)
    for amendment_id, m, payload in amendments:
        await notes.add_amendment(actor, amendment_id, m.inspection_id, "签字后修改检查项", payload, m.recorded_at or now)
    # One audit entry per inspection per batch, listing every item result written in it (with the
    # device's seq): the trail stays complete while a 1,000-mutation push appends ~10 entries, not 1,000.
    # Ids stay UUIDs here: the audit entry's to_builtins writes them as the same text, in C.
    per_inspection: dict[uuid.UUID, list[dict[str, Any]]] = {}
    unset = msgspec.UNSET
    for m, result in zip(mutations, decided, strict=True):
        if isinstance(result, Exception) or (isinstance(result, sync_wire.Applied) and result.amendment):
            continue
        entry = {
            "seq": m.seq,
            "item_result_id": result.entity_id,
            "item_id": m.item_id,
            "outcome": "conflict" if isinstance(result, sync_wire.Conflict) else "applied",
        }
        if m.outcome is not unset:
            entry["result"] = str(m.outcome)
        if m.note is not unset:
            entry["note"] = m.note
        per_inspection.setdefault(m.inspection_id, []).append(entry)
    for inspection_id, results in per_inspection.items():
        audit_service.record(actor, "inspection.item_results", "inspection", inspection_id, {"results": results})
    return decided


async def _write_batch(actor: Actor, batch: _Batch, now: dt.datetime) -> None:
    dirty = [s for s in batch.results.values() if s.dirty]
    if dirty:
        encode = msgspec.json.encode
        if database.is_postgres():
            await sql.bulk(
                """
                INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version, updated_by, updated_at)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::json[],
                                     $7::int[], $8::uuid[], $9::timestamptz[])
                ON CONFLICT (inspection, item) DO UPDATE SET outcome = excluded.outcome, note = excluded.note,
                    field_versions = excluded.field_versions, version = excluded.version,
                    updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """,
                "",
                [
                    [s.id for s in dirty], [s.inspection_id for s in dirty], [s.item_id for s in dirty],
                    [s.outcome for s in dirty], [s.note for s in dirty],
                    [encode(s.field_versions).decode() for s in dirty], [s.version for s in dirty],
                    [s.updated_by for s in dirty], [s.updated_at for s in dirty],
                ],
                (),
            )
        else:
            await sql.bulk(
                "",
                "INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version, updated_by, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inspection, item) DO UPDATE SET "
                "outcome = excluded.outcome, note = excluded.note, field_versions = excluded.field_versions, "
                "version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (),
                [
                    (s.id, s.inspection_id, s.item_id, s.outcome, s.note, encode(s.field_versions).decode(), s.version,
                     s.updated_by, s.updated_at)
                    for s in dirty
                ],
            )
    if batch.conflicts:
        await ConflictRow.insert(
            *[
                ConflictRow(
                    id=c["id"], item_result=c["state"].id, field=c["field"],
                    # JSON columns take JSON text: a bare string value would be read as JSON source.
                    server_value=msgspec.json.encode(c["server_value"]).decode(),
                    client_value=msgspec.json.encode(c["client_value"]).decode(), client_user=actor.user_id, client_device=actor.device_id,
                    created_at=now,
                )
                for c in batch.conflicts
            ]
        )
    for inspection_id, started_at in batch.started.items():
        await InspectionRow.update(
            {
                InspectionRow.status: InspectionStatus.IN_PROGRESS,
                InspectionRow.started_at: started_at,
                InspectionRow.updated_at: now,
                InspectionRow.version: InspectionRow.version + 1,
            }
        ).where(InspectionRow.id == inspection_id, InspectionRow.status == InspectionStatus.PLANNED)
        audit_service.record(actor, "inspection.start", "inspection", inspection_id, {"started_at": started_at})
        await records.publish(inspection_id)
    sync_service.publish_many(
        [("item_result", s.id, _state_wire(s), scopes.inspection(s.inspection_id)) for s in dirty]
        + [
            (
                "item_result_conflict",
                c["id"],
                ItemResultConflict(
                    id=c["id"], item_result_id=c["state"].id, inspection_id=c["state"].inspection_id, field=c["field"],
                    server_value=c["server_value"], client_value=c["client_value"], client_user_id=actor.user_id,
                    client_device_id=actor.device_id, created_at=now,
                ),
                scopes.inspection(c["state"].inspection_id),
            )
            for c in batch.conflicts
        ]
    )
    for c in batch.conflicts:
        audit_service.record(actor, "inspection.item_conflict", "item_result", c["state"].id,
                             {"conflict_id": str(c["id"]), "field": c["field"], "server_value": c["server_value"],
                              "client_value": c["client_value"]})


async def apply_record_item_result(
    ctx: Context, actor: Actor, mutation: RecordItemResult
) -> sync_wire.Applied | sync_wire.Conflict:
    """One item result (the batch path with a batch of one); raises the error that rejects it."""
    [result] = await apply_record_item_results(ctx, actor, [mutation])
    if isinstance(result, Exception):
        raise result
    return result
