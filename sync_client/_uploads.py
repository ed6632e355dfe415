"""The photo queue: evidence bytes uploaded in verified chunks, resumed, retried, never lost.

Interface (used by ``SyncClient``; nothing else needs to know about it)::

    queue = UploadQueue(client)                  # once, when the client opens
    queue.enqueue(evidence_id, path, sha256, size, media_type, inspection_id=None)  # in attach_photo()
    await queue.run()                            # in sync(), after push and pull
    queue.pending() -> int                       # photos not yet verified on the server
    queue.statuses() -> list[PhotoUpload]        # one line per photo, for status()
    queue.pending_inspections() -> set[UUID]     # inspections with photos not yet verified
    queue.counts() -> dict[str, int]             # photos waiting / failed, for SyncReport
    queue.retry(evidence_id)                     # a failed or waiting photo is due again now
    queue.discard(evidence_id)                   # the person gives a photo up: row and copy go

The server refuses to submit an inspection while its evidence is pending
(``evidence_pending``). A phone records photos and the submit offline and
syncs them together, so ``sync()`` should hold back ``submit_inspection`` for
the inspections in ``pending_inspections()``, run the queue, then push again.
A photo taken after the submit was queued is enqueued without its inspection:
it is an amendment that needs the submit first, so it must not hold it.

``enqueue`` copies the photo into a folder beside the phone's database
(``<store>.uploads/<sha256>``) and records it in the ``upload`` table of the
same SQLite file, in one step, so the camera app may delete its file at once
and a killed process loses nothing. The copy is removed once the server has
verified the bytes.

``run`` works through the due photos, oldest first. A photo of at most 5 MiB
goes in one request on its first try (``PUT /api/v1/evidence/blobs/{sha256}``).
Otherwise, and on every retry, the queue opens (or re-opens) the server's upload
session for the hash — the server answers with the chunks it already holds —
and sends only the missing ones, each with its SHA-256, one chunk in memory at
a time. An interrupted upload therefore resumes at the first missing chunk,
never from zero. Failures are sorted per photo:

- the network failed (after the transport's own quick retries): this photo
  waits ``backoff`` (exponential, full jitter, kept in the table across
  restarts), and ``run`` stops — the next photos would fail the same way;
  ``NetworkError`` reaches ``sync()``, whose record push already happened;
- the evidence record is not on the server yet (its mutation is still queued):
  the photo waits with backoff, other photos go on; if the server rejects the
  record, ``SyncClient`` calls ``record_rejected`` and the photo is ``failed``
  with the rejection's reason at once (its copy stays on the phone);
- the server refused the bytes for good (not an image, too large, a pixel
  bomb): the photo is ``failed`` with the server's code and message, kept for
  the person to see, and never blocks the others;
- the server found the assembled bytes wrong (``evidence_hash_mismatch``): the
  local copy is re-hashed; the upload starts over (a few times at most);
- the login expired: ``AuthenticationRequired`` propagates; nothing is lost.

Status per photo (:class:`PhotoUpload`): ``queued``, ``uploading`` (some chunks
on the server), ``done`` (server verified hash and size), ``failed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sync_client import _protocol as protocol
from sync_client._errors import NetworkError, RequestRefused
from sync_client._transport import json_body

CHUNK_HASH_HEADER = "X-Chunk-SHA256"
#: How often a photo may start over after the server found the whole wrong.
MAX_RESTARTS = 3
#: Backoff of one photo between syncs: full jitter under base·2^attempts, capped.
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 15 * 60.0
#: Files up to this size go in one request (S3's smallest part, so never above the server's chunk size).
SINGLE_REQUEST_BYTES = 5 * 1024 * 1024
#: Codes that will not change by retrying the same bytes.
_PERMANENT = {"unsupported_media", "image_too_many_pixels", "payload_too_large", "invalid_input"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS upload (
    evidence_id TEXT PRIMARY KEY, inspection_id TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, media_type TEXT NOT NULL,
    status TEXT NOT NULL, sent_bytes INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    restarts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,
    code TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS upload_due ON upload (status, next_attempt_at);
"""

QUEUED = "queued"
UPLOADING = "uploading"
DONE = "done"
FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class PhotoUpload:
    """Where one photo's bytes are, as the phone knows it."""

    evidence_id: uuid.UUID
    sha256: str
    size: int
    status: str
    sent_bytes: int
    attempts: int
    code: str = ""
    message: str = ""
    next_attempt_at: float = 0.0


class _Refused(Exception):
    """The server answered this photo's request with a problem (4xx other than 401)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class UploadQueue:
    """Durable queue of evidence bytes for one ``SyncClient`` (see the module docstring)."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        #: Wall clock of the backoff schedule (seconds); the seam tests use to let time pass.
        self.clock = clock
        self._rng = getattr(client, "_rng", None) or random.Random()
        store = client.store
        self._folder = Path(store.path).with_suffix(".uploads")
        self._folder.mkdir(parents=True, exist_ok=True)
        with store.transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                db.execute(statement)

    # --- what SyncClient calls ------------------------------------------------

    def enqueue(
        self,
        evidence_id: uuid.UUID,
        path: Path,
        sha256: str,
        size: int,
        media_type: str,
        *,
        inspection_id: uuid.UUID | None = None,
    ) -> None:
        """Keep a copy of the photo and queue it (idempotent per evidence id; a later call may add the inspection)."""
        copy = self._folder / sha256
        if not copy.exists():
            tmp = copy.with_suffix(".tmp")
            shutil.copyfile(path, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, copy)
        now = self.clock()
        with self._client.store.transaction() as db:
            db.execute(
                "INSERT INTO upload (evidence_id, inspection_id, sha256, size, media_type, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (evidence_id) DO UPDATE"
                " SET inspection_id = coalesce(excluded.inspection_id, upload.inspection_id)",
                (str(evidence_id), str(inspection_id) if inspection_id else None, sha256, size, media_type, QUEUED,
                 now, now),
            )

    def record_rejected(self, evidence_id: uuid.UUID | str, code: str, message: str) -> None:
        """The server refused the photo's record for good: its bytes have nowhere to go. The photo is ``failed``
        with the server's reason (kept on the phone for the person), and no submit waits for it any more."""
        self._set(str(evidence_id), status=FAILED, code=code or "rejected", message=message)

    def pending(self) -> int:
        """Photos whose bytes the server has not verified yet (failed ones included: they need a person)."""
        with self._client.store.transaction() as db:
            return db.execute("SELECT count(*) FROM upload WHERE status != ?", (DONE,)).fetchone()[0]

    def pending_inspections(self) -> set[uuid.UUID]:
        """Inspections (named at ``enqueue``) with photos still on their way.

        A ``failed`` photo does not count: the server rejected its record for
        good, so it is not pending there and a submit need not wait for it.
        """
        with self._client.store.transaction() as db:
            rows = db.execute(
                "SELECT DISTINCT inspection_id FROM upload WHERE status IN (?, ?) AND inspection_id IS NOT NULL",
                (QUEUED, UPLOADING),
            ).fetchall()
        return {uuid.UUID(r[0]) for r in rows}

    def statuses(self) -> list[PhotoUpload]:
        """Every photo this phone queued, oldest first."""
        with self._client.store.transaction() as db:
            rows = db.execute(
                "SELECT evidence_id, sha256, size, status, sent_bytes, attempts, code, message, next_attempt_at "
                "FROM upload ORDER BY created_at, evidence_id"
            ).fetchall()
        return [PhotoUpload(uuid.UUID(r[0]), *r[1:]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Photos still on their way (``waiting``) and those that need a person (``failed``)."""
        with self._client.store.transaction() as db:
            rows = dict(db.execute("SELECT status, count(*) FROM upload GROUP BY status").fetchall())
        return {"waiting": rows.get(QUEUED, 0) + rows.get(UPLOADING, 0), "failed": rows.get(FAILED, 0)}

    def retry(self, evidence_id: uuid.UUID | str) -> bool:
        """Make a failed or backing-off photo due now, with a fresh start; False if there is no such photo."""
        with self._client.store.transaction() as db:
            return db.execute(
                "UPDATE upload SET status = CASE status WHEN ? THEN ? ELSE status END, attempts = 0, restarts = 0,"
                " next_attempt_at = 0, code = '', message = '', updated_at = ? WHERE evidence_id = ? AND status != ?",
                (FAILED, QUEUED, self.clock(), str(evidence_id), DONE),
            ).rowcount == 1

    def discard(self, evidence_id: uuid.UUID | str) -> bool:
        """Forget a photo that is not done: its row and (unless another photo shares it) its local copy."""
        with self._client.store.transaction() as db:
            row = db.execute("SELECT sha256 FROM upload WHERE evidence_id = ? AND status != ?",
                             (str(evidence_id), DONE)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM upload WHERE evidence_id = ?", (str(evidence_id),))
        if not self._shared(row[0], str(evidence_id)):
            (self._folder / row[0]).unlink(missing_ok=True)
        return True

    async def run(self) -> int:
        """Upload every due photo; how many the server verified in this run."""
        verified = 0
        for evidence_id, sha256, size, media_type in self._due():
            try:
                await self._upload(evidence_id, sha256, size, media_type)
            except NetworkError as error:
                self._wait(evidence_id, "network", str(error))
                raise  # the network is down: the next photos would fail the same way
            except _Refused as refusal:
                if refusal.status == 404:  # the evidence record has not reached the server (yet)
                    self._wait(evidence_id, refusal.code, refusal.message)
                else:
                    self._fail(evidence_id, refusal.code, refusal.message)
                continue
            verified += 1
        return verified

    # --- one photo ------------------------------------------------------------

    def _due(self) -> list[tuple[str, str, int, str]]:
        with self._client.store.transaction() as db:
            return db.execute(
                "SELECT evidence_id, sha256, size, media_type FROM upload "
                "WHERE status IN (?, ?) AND next_attempt_at <= ? ORDER BY created_at, evidence_id",
                (QUEUED, UPLOADING, self.clock()),
            ).fetchall()

    async def _upload(self, evidence_id: str, sha256: str, size: int, media_type: str) -> None:
        copy = self._folder / sha256
        if not copy.exists() or _file_sha256(copy) != sha256:
            raise _Refused(0, "local_copy_damaged", "本机保存的照片副本已损坏或丢失 / the local copy is damaged or gone")
        if not (size <= SINGLE_REQUEST_BYTES and self._first_try(evidence_id) and await self._send_whole(sha256, copy)):
            await self._send_in_chunks(evidence_id, sha256, size, media_type, copy)
        self._set(evidence_id, status=DONE, sent_bytes=size, code="", message="", next_attempt_at=0)
        if not self._shared(sha256, evidence_id):
            copy.unlink(missing_ok=True)

    async def _send_whole(self, sha256: str, copy: Path) -> bool:
        """A small photo in one round trip; False if the server wants it chunk by chunk."""
        try:
            await self._request("PUT", f"/api/v1/evidence/blobs/{sha256}", content=copy.read_bytes(),
                                headers={"content-type": "application/octet-stream"})
        except _Refused as refusal:
            if refusal.code not in ("evidence_chunk_mismatch", "payload_too_large"):  # bigger than the server's chunk
                raise
            return False
        return True

    async def _send_in_chunks(self, evidence_id: str, sha256: str, size: int, media_type: str, copy: Path) -> None:
        """Ask the server which chunks it holds, send the rest; start over if it found the whole wrong."""
        while True:
            session = await self._request("POST", "/api/v1/evidence/uploads",
                                          json={"sha256": sha256, "size": size, "media_type": media_type})
            try:
                await self._send_missing(evidence_id, copy, session)
            except _Refused as refusal:
                if refusal.code != "evidence_hash_mismatch" or not self._restart(evidence_id):
                    raise
                continue  # the server discarded the assembly; start this photo over
            return

    async def _send_missing(self, evidence_id: str, copy: Path, session: dict[str, Any]) -> None:
        chunk = int(session["chunk_bytes"])
        received = set(session.get("received_parts") or [])
        self._set(evidence_id, status=UPLOADING, sent_bytes=int(session.get("received_bytes") or 0))
        if session["status"] == "complete":
            return
        if session["status"] != "open":
            raise _Refused(409, "upload_" + str(session["status"]), "上传会话已结束 / upload session ended")
        for number in range(1, int(session["part_count"]) + 1):
            if number in received:
                continue
            with open(copy, "rb") as handle:
                handle.seek((number - 1) * chunk)
                body = handle.read(chunk)
            state = await self._request(
                "PUT", f"/api/v1/evidence/uploads/{session['id']}/parts/{number}", content=body,
                headers={CHUNK_HASH_HEADER: hashlib.sha256(body).hexdigest(), "content-type": "application/octet-stream"},
            )
            self._set(evidence_id, sent_bytes=int(state.get("received_bytes") or 0))
            if state["status"] == "complete":
                return
        raise _Refused(409, "upload_incomplete", "服务器未确认全部分片 / the server did not confirm every chunk")

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call through the client's transport (token refresh, quick retries); the JSON answer."""
        transport = self._client._net  # the client's one network seam (sibling private module)
        http: httpx.AsyncClient = transport._http
        headers = kwargs.pop("headers", {})

        def send() -> Any:
            access, _ = self._client._tokens()  # read on every attempt: a refresh may have replaced it
            return http.request(method, path, headers={**headers, "authorization": f"Bearer {access}"}, **kwargs)

        try:
            return await transport._send(send, authenticated=True, read=json_body)
        except RequestRefused as refused:
            raise _Refused(refused.status, refused.code, refused.message) from None

    # --- bookkeeping ------------------------------------------------------------

    def _set(self, evidence_id: str, **values: Any) -> None:
        values["updated_at"] = self.clock()
        columns = ", ".join(f"{k} = ?" for k in values)
        with self._client.store.transaction() as db:
            db.execute(f"UPDATE upload SET {columns} WHERE evidence_id = ?", (*values.values(), evidence_id))

    def _attempts(self, evidence_id: str) -> int:
        with self._client.store.transaction() as db:
            return db.execute("SELECT attempts FROM upload WHERE evidence_id = ?", (evidence_id,)).fetchone()[0]

    def _wait(self, evidence_id: str, code: str, message: str) -> None:
        attempts = self._attempts(evidence_id) + 1
        delay = protocol.backoff_delay(attempts - 1, base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S, rng=self._rng)
        self._set(evidence_id, attempts=attempts, code=code, message=message, next_attempt_at=self.clock() + delay)

    def _fail(self, evidence_id: str, code: str, message: str) -> None:
        status = FAILED if code in _PERMANENT or code == "local_copy_damaged" else None
        if status is None:  # an unexpected refusal: keep trying, slowly
            self._wait(evidence_id, code, message)
            return
        self._set(evidence_id, status=FAILED, code=code, message=message, attempts=self._attempts(evidence_id) + 1)

    def _restart(self, evidence_id: str) -> bool:
        with self._client.store.transaction() as db:
            restarts = db.execute("SELECT restarts FROM upload WHERE evidence_id = ?", (evidence_id,)).fetchone()[0]
            if restarts >= MAX_RESTARTS:
                return False
            db.execute("UPDATE upload SET restarts = ?, sent_bytes = 0 WHERE evidence_id = ?", (restarts + 1, evidence_id))
        return True

    def _first_try(self, evidence_id: str) -> bool:
        """True until anything went wrong; afterwards the phone always asks the server what it holds first."""
        with self._client.store.transaction() as db:
            row = db.execute("SELECT attempts, restarts FROM upload WHERE evidence_id = ?", (evidence_id,)).fetchone()
        return row == (0, 0)

    def _shared(self, sha256: str, evidence_id: str) -> bool:
        """True if another queued photo still needs the same local copy."""
        with self._client.store.transaction() as db:
            return bool(db.execute(
                "SELECT 1 FROM upload WHERE sha256 = ? AND evidence_id != ? AND status != ?", (sha256, evidence_id, DONE)
            ).fetchone())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
