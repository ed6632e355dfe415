"""The audit chain: record every enforcement step, verify nothing was changed since.

Each entry's ``hash`` covers its content and ``prev_hash``, the hash of the
entry before it; ``seq`` numbers entries 1, 2, 3, … without gaps. Editing,
deleting or inserting a row breaks the chain at that row, and :func:`verify`
names the first such row.

Chain versions (``chain_version``), never going back along the chain (so an
entry cannot pass as an older version to hide a change the newer one covers):

1. before m0009: SHA-256 over the canonical JSON form (sorted keys, UTC
   timestamps with microseconds) of the entry with ``seq`` and ``prev_hash``,
   without its ``id``; such entries keep that hash (rehashing them would also
   bless whatever was changed in them before);
2. m0009: the same form plus ``id`` and ``version``;
3. now: ``hash = sha256(prev_hash + ":" + seq + ":" + body)`` where ``body`` is
   SHA-256 over the canonical JSON form of everything else (``id``,
   ``version``, time, actor, action, entity, changes). Every column is still
   covered, and changing any of them breaks the link exactly as before.

Why version 3: appending must not hold a database-wide lock across awaits
(issue 17). A chain is one total order, so *some* serialisation point is
inherent; the question is only how long it is held. Versions 1–2 needed the
head in Python before the new hash could be computed: lock, read the head,
hash, insert, commit — four round trips with the lock held, each stretched by
the event loop of a busy process, so a second server process added nothing.
With version 3 the content part (``body``) is hashed in Python before the
commit, outside any serialisation, and only the link, one SHA-256 per entry
over fixed-size text, is computed by PostgreSQL (``sha256()``). A commit
takes no lock: it leaves its entries in ``audit_pending``, and right after,
a *settle* (``server.database``) links everything pending after the head in
one round trip under the chain lock (``fieldcheck_settle_audit``, m0030), so
one lock hold and one commit flush serve every writer that committed
meanwhile, in any number of server processes. The writer returns after its
settle: what a request recorded is in the chain when it answers (a failed
settle leaves the entries pending, and the next settle links them;
:func:`verify` settles first). The alternatives were weighed: per-partition
chains with a periodic root would remove the serialisation but make every
verification, checkpoint and gap argument a two-level one (and the change
feed needs a total commit order anyway); a sequence plus a "visible up to"
watermark fits the feed but not a hash chain, whose every link needs its
predecessor. On SQLite the write transaction is exclusive, and the same
hashes are computed in Python.

Entries are buffered by the unit of work (a commit hook, ``_Chain``) and
appended only by settles, one at a time under the chain lock, so concurrent
writers never fork the chain: each settle sees the head the previous one left.

On PostgreSQL a trigger also refuses UPDATE and DELETE on the table. A
superuser can disable it; the chain is what then shows the change.

Deleting the *last* entries leaves a shorter chain that is intact by itself,
so the head is also kept outside the database: :func:`write_checkpoint` signs
(seq, hash, time) with ``FIELDCHECK_AUDIT_KEY`` into the object store, write-once
and retained, and :func:`verify` given the store requires the chain to reach
the latest checkpoint unchanged (``fieldcheck checkpoint-audit`` writes one;
so does every start of the server).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar

from schemas.audit import AuditRecord
from server import database
from server.actor import Actor
from server.settings import Settings
from server.audit.tables import AuditEntry
from storage import keys
from storage.base import ObjectExists, ObjectStore

log = logging.getLogger("fieldcheck.audit")

GENESIS_HASH = "0" * 64
#: The version new entries are hashed with (see the module docstring).
CHAIN_VERSION = 3
_CHAIN_VERSIONS = (1, 2, 3)


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
    database.current().add(
        _CHAIN.name,
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


def entry_hash(*, seq: int, prev_hash: str, version: int = CHAIN_VERSION, **fields: Any) -> str:
    """The hash of one entry in chain version ``version`` (see the module docstring); ``fields`` are the
    other keywords of :func:`canonical_entry`."""
    canonical = canonical_entry(seq=seq, prev_hash=prev_hash, version=version, **fields)
    if version >= 3:
        return link_hash(prev_hash, seq, _digest(canonical))
    return _digest(canonical)


def canonical_entry(
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
) -> dict[str, Any]:
    """The form an entry is hashed in (SHA-256 over it as JSON with sorted keys and no spaces, UTF-8).

    Up to version 2 that hash is the entry's own and the form holds ``seq`` and ``prev_hash``; from version 3
    the form is the entry's body alone and the hash is :func:`link_hash` of the previous hash, ``seq`` and it.
    """
    content = _content(at, actor_id, actor_role, device_id, action, entity_type, entity_id, changes)
    if version >= 3:
        return {**content, "id": str(entry_id), "version": version}
    content.update(seq=seq, prev_hash=prev_hash)
    if version >= 2:
        content.update(id=str(entry_id), version=version)
    return content


def link_hash(prev_hash: str, seq: int, body: str) -> str:
    """Version 3's link: what PostgreSQL computes in ``fieldcheck_settle_audit`` (m0030) (``sha256`` over the same text)."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{body}".encode()).hexdigest()


def _digest(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def _content(
    at: dt.datetime, actor_id: uuid.UUID | None, actor_role: str, device_id: uuid.UUID | None,
    action: str, entity_type: str, entity_id: str, changes: Any,
) -> dict[str, Any]:
    return {
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": str(actor_id) if actor_id else None,
        "actor_role": actor_role,
        "device_id": str(device_id) if device_id else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": changes,
    }


#: Most entries one history shows (an object with more is shown with its latest ones).
HISTORY_LIMIT = 500


async def entries_for(entities: Sequence[tuple[str, uuid.UUID | str]], *, limit: int = HISTORY_LIMIT) -> list[AuditRecord]:
    """The entries about these objects, oldest first (the caller has checked the reader may see them)."""
    by_type: dict[str, list[str]] = {}
    for entity_type, entity_id in entities:
        by_type.setdefault(entity_type, []).append(str(entity_id))
    if not by_type:
        return []
    condition = None
    for entity_type, ids in by_type.items():
        one = (AuditEntry.entity_type == entity_type) & AuditEntry.entity_id.is_in(ids)
        condition = one if condition is None else condition | one
    rows = await AuditEntry.select(
        AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_role, AuditEntry.action,
        AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.changes,
    ).where(condition).order_by(AuditEntry.seq, ascending=False).limit(limit).output(load_json=True)
    return [
        AuditRecord(
            seq=r["seq"], at=r["at"], actor_id=r["actor_id"], actor_role=r["actor_role"], action=r["action"],
            entity_type=r["entity_type"], entity_id=r["entity_id"],
            changes=r["changes"] if isinstance(r["changes"], dict) else {"value": r["changes"]},
        )
        for r in reversed(rows)
    ]


def _body_hash(entry: PendingEntry, entry_id: uuid.UUID) -> str:
    """Version 3's ``body``: the entry's content hashed without ``seq`` and ``prev_hash``."""
    return _digest({**_content(**_fields(entry)), "id": str(entry_id), "version": CHAIN_VERSION})


#: Moves a commit's staged entries into ``audit_pending`` (``m0030``), where a settle links them after the head.
_PENDING_SQL = """
INSERT INTO audit_pending (commit_order, ord, id, at, actor_id, actor_role, device_id, action, entity_type,
                           entity_id, changes, body_hash)
SELECT o.n, p.ord, p.id, p.at, p.actor_id, p.actor_role, p.device_id, p.action, p.entity_type,
       p.entity_id, p.changes, p.body_hash
FROM pg_temp.fieldcheck_pending_audit AS p, (SELECT nextval('fieldcheck_commit_order') AS n) AS o"""


class _Chain:
    """The commit hook appending a transaction's entries to the chain (see the module docstring)."""

    name = "audit"
    pending_table = "audit_pending"
    #: Links every pending entry after the head, in commit order, with :func:`link_hash`'s link (m0030's function).
    settle_sql = f"PERFORM fieldcheck_settle_audit('{GENESIS_HASH}', {CHAIN_VERSION:d})"

    async def stage(self, items: Sequence[PendingEntry]) -> str:
        ids = [uuid.uuid4() for _ in items]
        connection = database.current().transaction.connection
        await connection.execute(
            "SELECT fieldcheck_stage_audit($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], "
            "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
            ids,
            [e.at for e in items],
            [e.actor_id for e in items],
            [e.actor_role for e in items],
            [e.device_id for e in items],
            [e.action for e in items],
            [e.entity_type for e in items],
            [e.entity_id for e in items],
            [msgspec.json.encode(e.changes).decode() for e in items],
            [_body_hash(e, i) for e, i in zip(items, ids, strict=True)],
        )
        return _PENDING_SQL

    async def write(self, items: Sequence[PendingEntry]) -> None:
        head = await AuditEntry.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq, ascending=False).first()
        seq, prev = (head["seq"], head["hash"]) if head else (0, GENESIS_HASH)
        rows = []
        for entry in items:
            seq += 1
            entry_id = uuid.uuid4()
            digest = link_hash(prev, seq, _body_hash(entry, entry_id))
            rows.append(
                AuditEntry(
                    id=entry_id, seq=seq, prev_hash=prev, hash=digest, chain_version=CHAIN_VERSION, **_fields(entry)
                )
            )
            prev = digest
        await AuditEntry.insert(*rows)


_CHAIN = database.register_commit_hook(_Chain())


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
class Checkpoint:
    """A signed note of the chain's head: ``seq`` entries, the last hashed ``hash``, taken ``at``."""

    seq: int
    hash: str
    at: dt.datetime


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found: ``ok``, or the first broken entry and why; ``checkpoint`` checked against."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: uuid.UUID | None = None
    reason: str = ""
    checkpoint: Checkpoint | None = None


async def _entries(after: int = 0, page: int = 2000) -> AsyncIterator[dict[str, Any]]:
    last = after
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


@dataclass(frozen=True)
class _Walk:
    report: VerifyReport
    head_seq: int
    head_hash: str


async def _walk(
    *, after: int = 0, prev: str = GENESIS_HASH, version: int = _CHAIN_VERSIONS[0], pin: Checkpoint | None = None
) -> _Walk:
    """Check every entry after ``after`` (whose hash is ``prev``); with ``pin``, also that the chain reaches it."""
    expected_seq, checked = after + 1, 0

    def broken(seq: int, entry_id: uuid.UUID | None, reason: str) -> _Walk:
        return _Walk(VerifyReport(False, checked, seq, entry_id, reason, pin), expected_seq - 1, prev)

    async for row in _entries(after):
        if row["seq"] != expected_seq:
            return broken(expected_seq, None, f"entry {expected_seq} is missing (next is {row['seq']})")
        if row["prev_hash"] != prev:
            return broken(row["seq"], row["id"], "prev_hash does not match the previous entry")
        if row["chain_version"] not in _CHAIN_VERSIONS or row["chain_version"] < version:
            return broken(row["seq"], row["id"], f"chain version {row['chain_version']} cannot follow version {version}")
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
            return broken(row["seq"], row["id"], "content does not match its hash")
        if pin is not None and row["seq"] == pin.seq and digest != pin.hash:
            return broken(row["seq"], row["id"], f"entry {pin.seq} differs from the checkpoint of {_when(pin)}")
        prev, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
    if pin is not None and expected_seq <= pin.seq:
        return broken(
            expected_seq, None,
            f"entries {expected_seq}–{pin.seq} are missing: the checkpoint of {_when(pin)} recorded {pin.seq} entries",
        )
    return _Walk(VerifyReport(True, checked, checkpoint=pin), expected_seq - 1, prev)


async def extract(entity_ids: Collection[str]) -> list[dict[str, Any]]:
    """The entries about these entities, each in its canonical form plus ``seq``, ``prev_hash`` and its ``hash``
    (for an offline check; see :func:`canonical_entry` for what each chain version hashes)."""
    if not entity_ids:
        return []
    rows = await AuditEntry.select().where(AuditEntry.entity_id.is_in(list(entity_ids))).order_by(
        AuditEntry.seq).output(load_json=True)
    return [
        {**canonical_entry(
            seq=r["seq"], at=r["at"], actor_id=r["actor_id"], actor_role=r["actor_role"], device_id=r["device_id"],
            action=r["action"], entity_type=r["entity_type"], entity_id=r["entity_id"],
            changes=msgspec.to_builtins(r["changes"], order="sorted"), prev_hash=r["prev_hash"], entry_id=r["id"],
            version=r["chain_version"]), "seq": r["seq"], "prev_hash": r["prev_hash"], "hash": r["hash"]}
        for r in rows
    ]


async def verify(store: ObjectStore | None = None, secret: str = "") -> VerifyReport:
    """Walk the chain from the start; report the first entry whose link or content does not hold.

    With ``store`` (and the checkpoint ``secret``), the chain must also reach
    the latest signed checkpoint with the same hash there: deleting the last
    entries, or rewriting the tail, is reported with the range it lost.
    """
    await database.settle()  # what committed is in the chain before it is walked
    pin = None
    if store is not None:
        try:
            pin = await latest_checkpoint(store, secret)
        except _ForgedCheckpoint as forged:
            return VerifyReport(False, 0, forged.seq, None, str(forged))
    return (await _walk(pin=pin)).report


# --- checkpoints ----------------------------------------------------------------------
#
# A checkpoint is a small JSON document {format, seq, hash, at, mac}, mac being
# HMAC-SHA256 under FIELDCHECK_AUDIT_KEY, written once under a key naming its
# seq (storage.keys.audit_checkpoint_key) with lock=True: S3 object-lock
# retention where the bucket has it, a read-only file on the filesystem store.
# The database role can neither forge one (no key) nor remove one (no store
# access), so a chain cut back below the latest checkpoint shows.

_CHECKPOINT_FORMAT = 1


class _ForgedCheckpoint(ValueError):
    def __init__(self, key: str, seq: int | None) -> None:
        super().__init__(f"checkpoint {key} is not signed with the audit key (FIELDCHECK_AUDIT_KEY)")
        self.seq = seq


def _when(checkpoint: Checkpoint) -> str:
    return checkpoint.at.astimezone(dt.UTC).isoformat(timespec="seconds")


def _signed(body: dict[str, Any], secret: str) -> str:
    if not secret:
        raise ValueError("the audit key (FIELDCHECK_AUDIT_KEY) is not configured")
    return hmac.new(secret.encode(), msgspec.json.encode(body, order="sorted"), hashlib.sha256).hexdigest()


def _checkpoint_body(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "format": _CHECKPOINT_FORMAT,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "at": checkpoint.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }


async def latest_checkpoint(store: ObjectStore, secret: str) -> Checkpoint | None:
    """The checkpoint with the highest seq in ``store`` (``None`` before the first); a forged one raises."""
    found = [(seq, info.key) async for info in store.list(keys.AUDIT_CHECKPOINT_PREFIX)
             if (seq := keys.seq_of_audit_checkpoint_key(info.key)) is not None]
    if not found:
        return None
    seq, key = max(found)
    try:
        document = msgspec.json.decode(await store.get(key))
        checkpoint = Checkpoint(seq=document["seq"], hash=document["hash"], at=dt.datetime.fromisoformat(document["at"]))
        genuine = hmac.compare_digest(str(document["mac"]), _signed(_checkpoint_body(checkpoint), secret))
    except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
        genuine = False
    if not genuine or checkpoint.seq != seq:
        raise _ForgedCheckpoint(key, seq)
    return checkpoint


async def write_checkpoint(store: ObjectStore, secret: str) -> VerifyReport:
    """Sign the chain's head into ``store`` if it extends the latest checkpoint intact; else write nothing.

    Only the entries since the latest checkpoint are checked (that one vouched
    for those before it), so this is cheap enough to run often. The report's
    ``checkpoint`` is the one written (or already there for this head).
    """
    await database.settle()
    try:
        pin = await latest_checkpoint(store, secret)
    except _ForgedCheckpoint as forged:
        return VerifyReport(False, 0, forged.seq, None, str(forged))
    if pin is None or pin.seq == 0:
        walk = await _walk(pin=pin)
    else:
        row = await AuditEntry.select(AuditEntry.hash, AuditEntry.chain_version).where(AuditEntry.seq == pin.seq).first()
        if row is None or row["hash"] != pin.hash:
            walk = await _walk(pin=pin)  # the whole walk names what was lost or changed
        else:
            walk = await _walk(after=pin.seq, prev=pin.hash, version=row["chain_version"])
    if not walk.report.ok:
        return walk.report
    checkpoint = Checkpoint(seq=walk.head_seq, hash=walk.head_hash, at=dt.datetime.now(dt.UTC))
    body = _checkpoint_body(checkpoint)
    document = msgspec.json.encode({**body, "mac": _signed(body, secret)})
    try:
        await store.put(keys.audit_checkpoint_key(checkpoint.seq), document, content_type="application/json", lock=True)
    except ObjectExists:
        checkpoint = pin if pin is not None and pin.seq == checkpoint.seq else checkpoint  # this head is on record
    return dataclasses.replace(walk.report, checkpoint=checkpoint)


async def checkpoint_quietly(store: ObjectStore, secret: str) -> None:
    """:func:`write_checkpoint` where a failure must not stop the caller (start-up): logged, never raised."""
    try:
        report = await write_checkpoint(store, secret)
    except Exception:  # noqa: BLE001 - the store or database being down is reported by /health
        log.warning("audit checkpoint not written", exc_info=True)
        return
    if not report.ok:
        log.error("audit chain does not extend its last checkpoint, none written: seq=%s %s", report.broken_seq, report.reason)


def install(app: Litestar, settings: Settings, store: ObjectStore) -> None:
    """Checkpoint the chain's head each time ``app`` starts (after the store's own start-up hooks)."""

    async def checkpoint() -> None:
        await checkpoint_quietly(store, settings.audit.checkpoint_key)

    app.on_startup.append(checkpoint)


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


@database.after_migrate
async def install_guard() -> None:
    """Refuse UPDATE/DELETE on the audit table (PostgreSQL; SQLite relies on the chain alone); run at every start."""
    if database.is_postgres():
        for statement in GUARD_SQL:
            await AuditEntry.raw(statement)
