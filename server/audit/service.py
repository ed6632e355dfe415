"""The audit chain: record every enforcement step, verify nothing was changed since.

Each entry's ``hash`` is SHA-256 over its canonical JSON form (sorted keys, UTC
timestamps with microseconds) which includes ``prev_hash``, the hash of the
entry before it; ``seq`` numbers entries 1, 2, 3, … without gaps. Editing,
deleting or inserting a row breaks the chain at that row, and
:func:`verify` names the first such row.

Chain versions (``chain_version``): entries written before m0009 are version 1,
hashed without their ``id``; they keep that hash (rehashing them would also
bless whatever was changed in them before). Every new entry is version 2, whose
canonical form adds ``id`` and ``version``. A version never goes back along the
chain, so a version-2 entry cannot pass as a version-1 one to hide an id change.

Entries are buffered by the unit of work and appended at its end under the
chain lock (see ``server.database``), so concurrent writers never fork the
chain: each sees the head the previous committer left.

On PostgreSQL a trigger also refuses UPDATE and DELETE on the table. A
superuser can disable it; the chain is what then shows the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from server import database
from server.accounts.policy import Actor
from server.audit.tables import AuditEntry

GENESIS_HASH = "0" * 64
#: The version new entries are hashed with (see the module docstring).
CHAIN_VERSION = 2
_CHAIN_VERSIONS = (1, 2)


@dataclass(frozen=True)
class PendingEntry:
    at: dt.datetime
    actor_id: uuid.UUID | None
    actor_role: str
    device_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: str
    changes: Any


def record(
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    changes: Mapping[str, Any] | msgspec.Struct | None = None,
) -> None:
    """Add an entry to the current transaction's audit trail (written at commit).

    ``changes`` is what changed (new values, or ``{"field": [old, new]}``); any
    msgspec-encodable value works.
    """
    database.current().audit.append(
        PendingEntry(
            at=dt.datetime.now(dt.UTC),
            actor_id=actor.user_id,
            actor_role=str(actor.role) if not actor.is_system else "system",
            device_id=actor.device_id,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            changes=msgspec.to_builtins(changes or {}, order="sorted"),
        )
    )


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: uuid.UUID | None,
    actor_role: str,
    device_id: uuid.UUID | None,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: Any,
    prev_hash: str,
    entry_id: uuid.UUID,
    version: int = CHAIN_VERSION,
) -> str:
    """The hash of one entry (its canonical form includes the previous hash; from version 2 its id)."""
    canonical: dict[str, Any] = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": str(actor_id) if actor_id else None,
        "actor_role": actor_role,
        "device_id": str(device_id) if device_id else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": changes,
        "prev_hash": prev_hash,
    }
    if version >= 2:
        canonical.update(id=str(entry_id), version=version)
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


async def flush(entries: list[PendingEntry]) -> None:
    """Append buffered entries to the chain (called by the unit of work, under the chain lock)."""
    head = await AuditEntry.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq, ascending=False).first()
    seq, prev = (head["seq"], head["hash"]) if head else (0, GENESIS_HASH)
    rows = []
    for entry in entries:
        seq += 1
        entry_id = uuid.uuid4()
        digest = entry_hash(seq=seq, prev_hash=prev, entry_id=entry_id, **_fields(entry))
        rows.append(
            AuditEntry(
                id=entry_id, seq=seq, prev_hash=prev, hash=digest, chain_version=CHAIN_VERSION, **_fields(entry)
            )
        )
        prev = digest
    await AuditEntry.insert(*rows)


def _fields(entry: PendingEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "device_id": entry.device_id,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "changes": entry.changes,
    }


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found: ``ok``, or the first broken entry and why."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: uuid.UUID | None = None
    reason: str = ""


async def _entries(page: int = 2000) -> AsyncIterator[dict[str, Any]]:
    last = 0
    while True:
        rows = (
            await AuditEntry.select()
            .where(AuditEntry.seq > last)
            .order_by(AuditEntry.seq)
            .limit(page)
            .output(load_json=True)
        )
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1]["seq"]


async def verify() -> VerifyReport:
    """Walk the chain from the start; report the first entry whose link or content does not hold."""
    expected_seq, prev, checked, version = 1, GENESIS_HASH, 0, _CHAIN_VERSIONS[0]
    async for row in _entries():
        if row["seq"] != expected_seq:
            return VerifyReport(False, checked, expected_seq, None, f"entry {expected_seq} is missing (next is {row['seq']})")
        if row["prev_hash"] != prev:
            return VerifyReport(False, checked, row["seq"], row["id"], "prev_hash does not match the previous entry")
        if row["chain_version"] not in _CHAIN_VERSIONS or row["chain_version"] < version:
            return VerifyReport(
                False, checked, row["seq"], row["id"],
                f"chain version {row['chain_version']} cannot follow version {version}",
            )
        version = row["chain_version"]
        digest = entry_hash(
            seq=row["seq"],
            at=row["at"],
            actor_id=row["actor_id"],
            actor_role=row["actor_role"],
            device_id=row["device_id"],
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            changes=msgspec.to_builtins(row["changes"], order="sorted"),
            prev_hash=row["prev_hash"],
            entry_id=row["id"],
            version=version,
        )
        if digest != row["hash"]:
            return VerifyReport(False, checked, row["seq"], row["id"], "content does not match its hash")
        prev, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
    return VerifyReport(True, checked)


GUARD_SQL = (
    """CREATE OR REPLACE FUNCTION fieldcheck_audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit_entry is append-only';
    END;
    $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION fieldcheck_audit_append_only()""",
)


async def install_guard() -> None:
    """Refuse UPDATE/DELETE on the audit table (PostgreSQL; SQLite relies on the chain alone)."""
    if database.is_postgres():
        for statement in GUARD_SQL:
            await AuditEntry.raw(statement)
