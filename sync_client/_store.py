"""The phone's local SQLite database: the replica of what the server shows, and the outbox.

Tables
    ``record``        the server's state of every record the phone holds (msgpack bytes)
    ``record_scope``  through which scopes each record arrived; a record with none left is dropped
    ``scope_cursor``  the pull cursor of each scope
    ``outbox``        mutations not yet answered by the server, by device ``seq``, each naming the
                      record it writes (``record_type``, ``record_id``: which hazard, which photo)
    ``local_record``  what local writes made a record look like, until the server's state arrives
    ``outcome``       rejections and conflicts the server sent, kept for ``status()`` with the record
                      they concern and the mutation as the inspector wrote it (``payload``, ``view``),
                      until the person discards it (``acknowledged_at``: seen, no longer listed);
                      and, while a mutation stays queued because the server deferred it, why
    ``meta``          device id, next seq, tokens, last sync time

Every local write and its outbox entry are one SQLite transaction
(``BEGIN IMMEDIATE`` … ``COMMIT`` with ``synchronous=FULL``): once a write
call returns, a killed process loses nothing. A pull page and its cursors are
one transaction too, so an interrupted initial sync resumes at the next page.

A record that leaves every scope is kept while the outbox still has a
mutation about it; it goes once that mutation has been answered.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from schemas import sync as wire

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS record (
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, data BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (entity_type, entity_id));
CREATE TABLE IF NOT EXISTS record_scope (
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, scope TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id, scope)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scope_cursor (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
    payload BLOB NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    record_type TEXT, record_id TEXT);
CREATE INDEX IF NOT EXISTS outbox_entity ON outbox (entity_type, entity_id);
CREATE INDEX IF NOT EXISTS outbox_about ON outbox (entity_id, kind);
CREATE INDEX IF NOT EXISTS record_scope_scope ON record_scope (scope, entity_type);
CREATE TABLE IF NOT EXISTS local_record (
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, data BLOB NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (entity_type, entity_id));
CREATE TABLE IF NOT EXISTS outcome (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', field TEXT, detail BLOB, at TEXT NOT NULL,
    record_type TEXT, record_id TEXT, payload BLOB, view BLOB, acknowledged_at TEXT, entity_type TEXT, entity_id TEXT);
"""

#: Columns added after the first release: a phone's existing database gets them on open.
_ADDED_COLUMNS = {
    "outbox": ("record_type TEXT", "record_id TEXT"),
    "outcome": ("record_type TEXT", "record_id TEXT", "payload BLOB", "view BLOB", "acknowledged_at TEXT",
                "entity_type TEXT", "entity_id TEXT"),
    # What keeps a local view on the phone (its mutation's entity, e.g. the inspection): finds an
    # inspection's local views without reading every one.
    "local_record": ("owner_id TEXT",),
}

#: Indexes on added columns, made once the columns exist.
_ADDED_INDEXES = "CREATE INDEX IF NOT EXISTS local_record_owner ON local_record (entity_type, owner_id);"


class OutboxEntry(msgspec.Struct, frozen=True):
    """One queued mutation, exactly as it will be sent."""

    seq: int
    kind: str
    entity_type: str
    entity_id: str
    payload: bytes


class StoredOutcome(msgspec.Struct, frozen=True):
    """A rejection, conflict or deferral the server answered, kept for the person to see.

    ``entity_type`` and ``entity_id`` name the record it concerns (the hazard,
    the photo, the item result), ``content`` is the mutation as the inspector
    wrote it (kept until discarded, so it can be fixed and sent again).
    """

    seq: int
    kind: str
    outcome: str
    code: str
    message: str
    field: str | None
    detail: dict[str, Any] | None
    at: str
    entity_type: str = ""
    entity_id: str = ""
    content: dict[str, Any] | None = None
    acknowledged_at: str | None = None


#: Page cache of the connection that writes pull pages, in KiB (the most memory it holds).
PAGE_CACHE_KIB = 32 * 1024
#: WAL pages written through that connection between two checkpoints (4 KiB each: at most ~32 MiB of WAL).
WAL_CHECKPOINT_PAGES = 8192


def _by_record(put: tuple[str, str, str, int, Any]) -> tuple[str, str]:
    return put[1], put[2]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Store:
    """The local database of one device. Not thread-safe; one per process."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        self._db.executescript(_ADDED_INDEXES)
        with self.transaction():
            if self._meta("device_id") is None:
                self._set_meta("device_id", str(uuid.uuid4()))
                self._set_meta("next_seq", 1)
        # Pull pages are written through a connection of their own, from a worker thread, so the next page
        # is on its way while this one is written; SQLite serialises its transactions with the local writes'.
        # A page and its cursors are one transaction committed with synchronous=FULL: once stored it stays
        # stored (one fsync per page of thousands of records costs little). Its page cache is larger than
        # SQLite's 2 MiB default: inserting pages of random ids into a replica of 100k records otherwise
        # re-reads the id indexes' pages from the file for nearly every row (bounded: PAGE_CACHE_KIB).
        self._pages = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._pages.execute("PRAGMA synchronous=FULL")
        self._pages.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        # Checkpoints every 8,192 WAL pages (32 MiB) rather than 1,000: a page of thousands of random ids
        # rewrites most index pages, so a 4 MiB WAL was copied back into the file after nearly every commit.
        self._pages.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")

    def close(self) -> None:
        self._pages.close()
        self._db.close()

    @contextmanager
    def transaction(self, db: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so nothing else writes in between."""
        db = db or self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- meta ---------------------------------------------------------------

    def _meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else msgspec.msgpack.decode(row[0])

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, msgspec.msgpack.encode(value)),
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self._meta(key)
        return default if value is None else value

    def set_meta(self, **values: Any) -> None:
        with self.transaction():
            for key, value in values.items():
                self._set_meta(key, value)

    @property
    def device_id(self) -> uuid.UUID:
        return uuid.UUID(self._meta("device_id"))

    # --- local writes -------------------------------------------------------

    def enqueue(
        self,
        make: Callable[[int], msgspec.Struct],
        *,
        entity_type: str,
        entity_id: uuid.UUID,
        overlays: Callable[[int], Iterable[tuple[str, uuid.UUID, dict[str, Any]]]] = lambda seq: (),
        record: tuple[str, uuid.UUID | str] | None = None,
    ) -> int:
        """Record one mutation and what it makes the replica look like, in one transaction; its seq.

        ``entity_type``/``entity_id`` name what keeps the mutation's records on the phone (its
        inspection); ``record`` the record it writes, which its outcome names (default: the first
        overlay's, else the entity).
        """
        with self.transaction():
            seq = int(self._meta("next_seq"))
            mutation = make(seq)
            kind = type(mutation).__struct_config__.tag
            views = list(overlays(seq))
            if record is None:
                record = (views[0][0], views[0][1]) if views else (entity_type, entity_id)
            self._db.execute(
                "INSERT INTO outbox (seq, kind, entity_type, entity_id, payload, created_at, record_type, record_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, kind, entity_type, str(entity_id), msgspec.msgpack.encode(mutation), _now(), record[0],
                 str(record[1])),
            )
            for overlay_type, overlay_id, data in views:
                self._db.execute(
                    "INSERT INTO local_record (entity_type, entity_id, data, seq, owner_id) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq, "
                    "owner_id = excluded.owner_id",
                    (overlay_type, str(overlay_id), msgspec.msgpack.encode(data), seq, str(entity_id)),
                )
            self._set_meta("next_seq", seq + 1)
        return seq

    def queued(self, kind: str, entity_id: uuid.UUID | str) -> bool:
        """True while a mutation of ``kind`` about ``entity_id`` waits in the outbox."""
        return self._db.execute(
            "SELECT 1 FROM outbox WHERE kind = ? AND entity_id = ? LIMIT 1", (kind, str(entity_id))
        ).fetchone() is not None

    def queued_about(self, record_type: str, record_id: uuid.UUID | str) -> list[int]:
        """Seqs of the queued mutations that write one record."""
        rows = self._db.execute("SELECT seq FROM outbox WHERE record_type = ? AND record_id = ? ORDER BY seq",
                                (record_type, str(record_id))).fetchall()
        return [r[0] for r in rows]

    def pending(self, limit: int = 1000, *, after_seq: int = 0) -> list[OutboxEntry]:
        """The oldest unanswered mutations after ``after_seq``, in seq order."""
        rows = self._db.execute(
            "SELECT seq, kind, entity_type, entity_id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    def mark_attempt(self, seqs: Iterable[int]) -> None:
        with self.transaction():
            self._db.executemany("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [(s,) for s in seqs])

    def settle(self, answers: Iterable[tuple[int, str, str, str, str | None, dict[str, Any] | None]]) -> int:
        """Drop answered mutations from the outbox, keeping rejections and conflicts; how many were settled.

        Each answer is ``(seq, outcome, code, message, field, detail)``. An answer
        for a seq no longer in the outbox (a duplicated response) is ignored. A
        ``deferred`` answer settles nothing: the mutation stays queued as it was,
        with the server's reason kept beside it until a later push settles it.
        A rejection or conflict keeps the mutation and its local view in
        ``outcome`` (see :meth:`requeue`, :meth:`discard`).
        """
        settled = 0
        with self.transaction():
            for seq, outcome, code, message, field, detail in answers:
                row = self._db.execute(
                    "SELECT kind, record_type, record_id, payload, entity_type, entity_id FROM outbox WHERE seq = ?",
                    (seq,),
                ).fetchone()
                if row is None:
                    continue
                kind, record_type, record_id, payload, holder_type, holder_id = row
                if outcome == "deferred":
                    self._db.execute(
                        "INSERT OR REPLACE INTO outcome (seq, kind, outcome, code, message, field, detail, at,"
                        " record_type, record_id) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
                        (seq, kind, outcome, code, message, _now(), record_type, record_id),
                    )
                    continue
                settled += 1
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
                self._db.execute("DELETE FROM outcome WHERE seq = ? AND outcome = 'deferred'", (seq,))
                if outcome != "applied":
                    if detail and detail.get("entity_id"):  # a conflict names the server's record
                        record_type, record_id = detail.get("entity_type") or record_type, detail["entity_id"]
                    view = self._db.execute("SELECT data FROM local_record WHERE seq = ? AND entity_type = ? "
                                            "AND entity_id = ?", (seq, record_type, record_id)).fetchone()
                    self._db.execute(
                        "INSERT OR REPLACE INTO outcome (seq, kind, outcome, code, message, field, detail, at,"
                        " record_type, record_id, payload, view, entity_type, entity_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (seq, kind, outcome, code, message, field,
                         None if detail is None else msgspec.msgpack.encode(detail), _now(), record_type, record_id,
                         payload, None if view is None else view[0], holder_type, holder_id),
                    )
        return settled

    def acknowledge(self, seqs: Iterable[int]) -> int:
        """Mark rejections and conflicts as seen: they leave ``outcomes()`` (content kept); how many."""
        now = _now()
        with self.transaction():
            return sum(
                self._db.execute(
                    "UPDATE outcome SET acknowledged_at = ? WHERE seq = ? AND outcome != 'deferred' "
                    "AND acknowledged_at IS NULL", (now, seq),
                ).rowcount
                for seq in seqs
            )

    def discard(self, seq: int) -> bool:
        """Give up a mutation for good: a queued one leaves the outbox with its local view, a kept answer
        its content. True if there was anything to discard."""
        with self.transaction():
            queued = self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,)).rowcount
            if queued:
                self._db.execute("DELETE FROM local_record WHERE seq = ?", (seq,))
            kept = self._db.execute("DELETE FROM outcome WHERE seq = ?", (seq,)).rowcount
            if queued:
                self._drop_unreferenced()
        return bool(queued or kept)

    def requeue(self, seq: int, payload: Callable[[int], msgspec.Struct] | None = None) -> int | None:
        """Queue a rejected mutation again under a new seq, from its kept content or from
        ``payload(new_seq)`` (a fixed version); the kept answer goes. None if nothing is kept under ``seq``."""
        with self.transaction():
            row = self._db.execute(
                "SELECT payload, view, record_type, record_id, entity_type, entity_id FROM outcome WHERE seq = ? "
                "AND outcome = 'rejected' AND payload IS NOT NULL", (seq,),
            ).fetchone()
            if row is None:
                return None
            kept, view, record_type, record_id, holder_type, holder_id = row
            new_seq = int(self._meta("next_seq"))
            if payload is None:
                mutation = msgspec.structs.replace(msgspec.msgpack.decode(kept, type=wire.AnyMutation), seq=new_seq)
            else:
                mutation = payload(new_seq)
            self._db.execute(
                "INSERT INTO outbox (seq, kind, entity_type, entity_id, payload, created_at, record_type, record_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (new_seq, type(mutation).__struct_config__.tag, holder_type, holder_id, msgspec.msgpack.encode(mutation),
                 _now(), record_type, record_id),
            )
            if view is not None:
                self._db.execute(
                    "INSERT INTO local_record (entity_type, entity_id, data, seq, owner_id) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq, "
                    "owner_id = excluded.owner_id",
                    (record_type, record_id, view, new_seq, holder_id),
                )
            self._db.execute("DELETE FROM outcome WHERE seq = ?", (seq,))
            self._set_meta("next_seq", new_seq + 1)
        return new_seq

    # --- pull ---------------------------------------------------------------

    def cursors(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT scope, seq FROM scope_cursor").fetchall())

    def apply_page(
        self,
        puts: Iterable[tuple[str, str, str, int, bytes]],
        removes: Iterable[tuple[str, str, str]],
        cursors: dict[str, int],
        dropped_scopes: Iterable[str],
    ) -> None:
        """Store one pull page and its cursors atomically (puts are ``(scope, type, id, seq, data)``).

        Safe to call from one worker thread at a time (it uses the pages' own connection).
        """
        self._apply_page(self._pages, puts, list(removes), cursors, dropped_scopes)

    def _apply_page(
        self,
        db: sqlite3.Connection,
        puts: Iterable[tuple[str, str, str, int, bytes]],
        removes: list[tuple[str, str, str]],
        cursors: dict[str, int],
        dropped_scopes: Iterable[str],
    ) -> None:
        with self.transaction(db):
            # Only records that lost a membership in this page can have become unreferenced.
            candidates: set[tuple[str, str]] = {(t, i) for _, t, i in removes}
            for scope in dropped_scopes:
                candidates.update(
                    db.execute("SELECT entity_type, entity_id FROM record_scope WHERE scope = ?", (scope,)).fetchall()
                )
                db.execute("DELETE FROM record_scope WHERE scope = ?", (scope,))
                db.execute("DELETE FROM scope_cursor WHERE scope = ?", (scope,))
            # In id order: each insert lands next to the last one in the id indexes (random ids otherwise
            # touch a different B-tree page per row); rows of one record from two scopes stay upserts by seq.
            puts = sorted(puts, key=_by_record)
            db.executemany(
                "INSERT INTO record (entity_type, entity_id, data, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = excluded.data, seq = excluded.seq "
                "WHERE excluded.seq >= record.seq",
                [(t, i, d, s) for _, t, i, s, d in puts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO record_scope (scope, entity_type, entity_id) VALUES (?, ?, ?)",
                [(sc, t, i) for sc, t, i, _, _ in puts],
            )
            db.executemany("DELETE FROM record_scope WHERE scope = ? AND entity_type = ? AND entity_id = ?", removes)
            db.executemany(
                "INSERT INTO scope_cursor (scope, seq) VALUES (?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq",
                list(cursors.items()),
            )
            if candidates:
                db.executemany(
                    "DELETE FROM record WHERE entity_type = ? AND entity_id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM record_scope s WHERE s.entity_type = record.entity_type "
                    "AND s.entity_id = record.entity_id) "
                    "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_type = record.entity_type "
                    "AND o.entity_id = record.entity_id)",
                    sorted(candidates),
                )

    def _drop_unreferenced(self) -> None:
        # A record no scope holds any more goes, unless a queued mutation is still about it.
        self._db.execute(
            "DELETE FROM record WHERE NOT EXISTS (SELECT 1 FROM record_scope s "
            "WHERE s.entity_type = record.entity_type AND s.entity_id = record.entity_id) "
            "AND NOT EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.entity_type = record.entity_type AND o.entity_id = record.entity_id)"
        )

    def finish_pull(self) -> None:
        """After a complete pull: local views of answered mutations give way to the server's state."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM local_record WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = local_record.seq)"
            )
            self._drop_unreferenced()

    # --- reads --------------------------------------------------------------

    def records(
        self, entity_type: str, decode_server: Callable[[bytes], dict[str, Any]] = msgspec.msgpack.decode
    ) -> list[dict[str, Any]]:
        """Every record of a type as the phone shows it: local writes over the server's state."""
        rows = {
            entity_id: decode_server(data)
            for entity_id, data in self._db.execute("SELECT entity_id, data FROM record WHERE entity_type = ?", (entity_type,))
        }
        for entity_id, data in self._db.execute("SELECT entity_id, data FROM local_record WHERE entity_type = ?", (entity_type,)):
            rows[entity_id] = msgspec.msgpack.decode(data)
        return [record for _, record in sorted(rows.items())]

    def record(self, entity_type: str, entity_id: uuid.UUID | str) -> dict[str, Any] | None:
        """One record as the phone shows it, or None."""
        for table in ("local_record", "record"):
            row = self._db.execute(
                f"SELECT data FROM {table} WHERE entity_type = ? AND entity_id = ?",  # noqa: S608 fixed names
                (entity_type, str(entity_id)),
            ).fetchone()
            if row is not None:
                return msgspec.msgpack.decode(row[0])
        return None

    def server_record(self, entity_type: str, entity_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The server's last known state of a record (what ``base_version`` refers to)."""
        row = self._db.execute(
            "SELECT data FROM record WHERE entity_type = ? AND entity_id = ?", (entity_type, str(entity_id))
        ).fetchone()
        return None if row is None else msgspec.msgpack.decode(row[0])

    def records_of(
        self, entity_type: str, scope: str, owner_id: uuid.UUID | str,
        decode_server: Callable[[bytes], dict[str, Any]] = msgspec.msgpack.decode,
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The records of a type that one holder keeps: the server's (held through ``scope``) and the local
        views written by mutations about ``owner_id``, each by id. Reads only those rows, not the whole type."""
        server = {
            entity_id: decode_server(data)
            for entity_id, data in self._db.execute(
                "SELECT r.entity_id, r.data FROM record_scope s JOIN record r "
                "ON r.entity_type = s.entity_type AND r.entity_id = s.entity_id "
                "WHERE s.scope = ? AND s.entity_type = ?", (scope, entity_type),
            )
        }
        local = {
            entity_id: msgspec.msgpack.decode(data)
            for entity_id, data in self._db.execute(
                # NULL: a view written by an older build, before owners were kept (gone at the next pull)
                "SELECT entity_id, data FROM local_record WHERE entity_type = ? AND (owner_id = ? OR owner_id IS NULL)",
                (entity_type, str(owner_id)),
            )
        }
        return server, local

    def server_records(self, entity_type: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT entity_id, data FROM record WHERE entity_type = ?", (entity_type,))
        return {entity_id: msgspec.msgpack.decode(data) for entity_id, data in rows}

    def outcomes(self, *, acknowledged: bool = False) -> list[StoredOutcome]:
        """Kept answers, oldest first; those the person acknowledged only with ``acknowledged=True``."""
        rows = self._db.execute(
            "SELECT seq, kind, outcome, code, message, field, detail, at, record_type, record_id, payload,"
            " acknowledged_at FROM outcome WHERE ? OR acknowledged_at IS NULL ORDER BY seq", (acknowledged,),
        ).fetchall()
        decode = msgspec.msgpack.decode
        return [
            StoredOutcome(s, k, o, c, m, f, None if d is None else decode(d), a, rt or "", ri or "",
                          None if p is None else decode(p), ack)
            for s, k, o, c, m, f, d, a, rt, ri, p, ack in rows
        ]

    def outcome(self, seq: int) -> StoredOutcome | None:
        """The kept answer of one mutation, acknowledged or not."""
        return next((o for o in self.outcomes(acknowledged=True) if o.seq == seq), None)

    def counts(self) -> dict[str, int]:
        pending = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        records = self._db.execute("SELECT count(*) FROM record").fetchone()[0]
        deferred = self._db.execute(
            "SELECT count(*) FROM outcome JOIN outbox USING (seq) WHERE outcome.outcome = 'deferred'"
        ).fetchone()[0]
        return {"pending": pending, "records": records, "deferred": deferred}
