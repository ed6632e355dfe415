"""``SyncClient``: what an inspector's app calls. Local writes are instant; ``sync()`` does the network."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import mimetypes
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import msgspec

from schemas import sync as wire
from schemas.base import Mutation
from schemas.documents import DocumentSignature, DocumentStatus, SignDocument, sign_refusal
from schemas.enforcement import ActionOrigin, ActionStatus, EnforcementAction, EnforcementProposal, ProposeEnforcement
from schemas.evidence import AttachEvidence, Evidence, EvidenceStatus
from schemas.hazards import (
    AddHazard,
    FiveInPlace,
    Hazard,
    HazardCreate,
    RecheckResult,
    RecheckStatus,
    RectificationReport,
    ReportRecheck,
    ReportRectification,
)
from schemas.identifiers import mask_id_number
from schemas.inspections import (
    AddNote,
    Amendment,
    RecordItemResult,
    StartInspection,
    SubmitInspection,
    item_result_refusal,
)
from schemas.vocab import EvidenceKind, HazardLevel, HazardStatus
from schemas.violations import AddViolation, Violation, ViolationCreate
from sync_client import _checks as checks
from sync_client import _protocol as protocol
from sync_client._errors import AuthenticationRequired, InvalidRecord, NetworkError, RequestRefused, SyncError
from sync_client._store import OutboxEntry, Store, StoredOutcome
from sync_client._transport import RetryPolicy, Transport
from sync_client._uploads import UploadQueue

UNSET = msgspec.UNSET
#: Mutations that record evidence whose bytes go through the photo queue (their outcome names the evidence).
_EVIDENCE_KINDS = frozenset({"attach_evidence", "sign_document"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


F = TypeVar("F", bound=Callable[..., Any])


def _queues(mutation_type: type[Mutation]) -> Callable[[F], F]:
    """Mark a write method with the mutation kind it queues (collected in ``SyncClient.WRITES``)."""

    def mark(method: F) -> F:
        method.__queues__ = mutation_type  # type: ignore[attr-defined]
        return method

    return mark


@dataclass
class SyncReport:
    """What one ``sync()`` did. ``complete`` is False when it stopped early (``error`` says why)."""

    pushed: int = 0
    pulled: int = 0
    rejected: int = 0
    conflicts: int = 0
    deferred: int = 0  # kept queued: the server failed on them (not their fault) and they are resent later
    uploaded: int = 0  # photos whose bytes the server verified in this sync
    uploads_waiting: int = 0  # photos still on their way after it
    uploads_failed: int = 0  # photos that need a person (see ``SyncStatus.uploads``)
    complete: bool = False
    error: str | None = None


@dataclass
class SyncStatus:
    """The phone's sync state, for the screen that says whether everything is safe on the server."""

    pending_mutations: int
    pending_uploads: int
    last_sync_at: str | None
    last_error: str | None
    auth_required: bool
    rejections: list[StoredOutcome] = field(default_factory=list)
    conflicts: list[StoredOutcome] = field(default_factory=list)
    deferred: list[StoredOutcome] = field(default_factory=list)  # still queued, with the server's reason
    uploads: list[Any] = field(default_factory=list)  # one ``PhotoUpload`` per photo not yet verified or failed

    @property
    def errors(self) -> list[StoredOutcome]:
        """Every answer that needs a person: rejections and conflicts, oldest first."""
        return sorted(self.rejections + self.conflicts, key=lambda o: o.seq)

    @property
    def all_synced(self) -> bool:
        """True when nothing recorded on this phone is still waiting for the server."""
        return self.pending_mutations == 0 and self.pending_uploads == 0


class SyncClient:
    """An inspector's offline replica and outbox, and the sync with the server.

    Use as ``async with SyncClient(base_url, store_path) as client:``. Every
    write (``start_inspection``, ``record_item_result``, …) is stored locally
    with its outbox entry in one SQLite transaction and returns at once; it
    reaches the server at the next ``sync()``. Each outbox entry names the
    inspection it belongs to, so that inspection stays on the phone while
    anything about it is queued, even if it left the user's scope meanwhile.

    A write the server's rules would refuse raises :class:`InvalidRecord`
    (naming the field) and queues nothing.
    """

    #: mutation kind (``schemas.sync.MUTATION_TYPES``) → the write methods that queue it.
    WRITES: ClassVar[dict[str, tuple[str, ...]]]

    def __init__(
        self,
        base_url: str,
        store_path: str | Path,
        *,
        transport: Any = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        push_batch: int = 500,
        pull_limit: int = 5000,
    ) -> None:
        self._base_url = base_url
        self._store_path = Path(store_path)
        self._transport_arg = transport
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng
        self._push_batch = min(push_batch, wire.MAX_PUSH_MUTATIONS)
        self._pull_limit = min(pull_limit, wire.MAX_PULL_LIMIT)
        self._store: Store | None = None
        self._net: Transport | None = None
        self._lock = asyncio.Lock()
        self._uploads: Any = None
        self._progress: Callable[[SyncReport], Any] | None = None

    # --- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> SyncClient:
        self._store_path.parent.mkdir(parents=True, exist_ok=True)
        self._store = Store(self._store_path)
        self._net = Transport(
            self._base_url,
            transport=self._transport_arg,
            retry=self._retry,
            sleep=self._sleep,
            rng=self._rng,
            tokens=self._tokens,
            refreshed=self._save_tokens,
            device_id=self._store.device_id,
        )
        self._uploads = UploadQueue(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._net is not None:
            await self._net.close()
        if self._store is not None:
            self._store.close()
        self._store = self._net = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise SyncError("SyncClient is not open: use `async with SyncClient(...)`")
        return self._store

    @property
    def _documents_dir(self) -> Path:
        """Where fetched document PDFs are kept, by SHA-256, beside the phone's database."""
        return self._store_path.parent / f"{self._store_path.stem}-documents"

    @property
    def device_id(self) -> uuid.UUID:
        return self.store.device_id

    @property
    def user_id(self) -> uuid.UUID | None:
        value = self.store.get_meta("user_id")
        return uuid.UUID(value) if value else None

    def _tokens(self) -> tuple[str | None, str | None]:
        return self.store.get_meta("access_token"), self.store.get_meta("refresh_token")

    def _save_tokens(self, pair: dict[str, Any]) -> None:
        user = pair.get("user") or {}
        values = {"access_token": pair["access_token"], "refresh_token": pair["refresh_token"], "auth_required": False}
        if user:
            values.update(user_id=str(user["id"]), role=str(user.get("role", "")), username=str(user.get("username", "")))
        self.store.set_meta(**values)

    # --- auth ----------------------------------------------------------------

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in on this device (registering it); the user's profile. Queued work is kept."""
        assert self._net is not None
        previous = self.store.get_meta("user_id")
        pair = await self._net.login(
            {"username": username, "password": password, "device_id": str(self.device_id), "device_name": "sync_client"}
        )
        if previous and previous != str(pair["user"]["id"]) and self.store.counts()["pending"]:
            raise SyncError("本机还有其他账号未同步的记录，请先用该账号同步 / another user's work is still queued here")
        self._save_tokens(pair)
        return pair["user"]

    # --- sync ------------------------------------------------------------------

    async def sync(self, *, progress: Callable[[SyncReport], Any] | None = None) -> SyncReport:
        """Push the outbox, then pull until caught up. Never raises for network or auth trouble: see the report.

        ``progress`` is called with the report so far after each pull page is stored (``pulled`` counts the
        changes kept on the phone), so an initial sync of many pages can show how far it has come.
        """
        async with self._lock:
            report = await self._sync_locked(progress)
        if self._uploads is not None:
            counts = self._uploads.counts()
            report.uploads_waiting, report.uploads_failed = counts["waiting"], counts["failed"]
        return report

    async def _sync_locked(self, progress: Callable[[SyncReport], Any] | None = None) -> SyncReport:
        report = SyncReport()
        self._progress = progress
        try:
            await self._push(report)
            await self._pull(report)
            if self._uploads is not None:
                report.uploaded += await self._uploads.run()
                if self.store.counts()["pending"] > self.store.counts()["deferred"]:  # submits held for photos
                    await self._push(report)
                    await self._pull(report)
        except AuthenticationRequired as exc:
            self.store.set_meta(auth_required=True, last_error=f"需要重新登录：{exc}")
            report.error = f"auth: {exc}"
            return report
        except (NetworkError, RequestRefused) as exc:
            self.store.set_meta(last_error=str(exc))
            report.error = str(exc)
            return report
        if report.deferred:
            report.error = f"服务器暂时无法处理 {report.deferred} 条记录，已保留在本机，下次同步自动重发"
            self.store.set_meta(last_error=report.error)
            return report
        self.store.set_meta(last_sync_at=_now().isoformat(), last_error=None)
        report.complete = True
        return report

    def _held(self) -> set[str]:
        """Inspections whose signing must wait: the server refuses a submit while its photos are missing."""
        if self._uploads is None:
            return set()
        return {str(i) for i in self._uploads.pending_inspections()}

    async def _push(self, report: SyncReport) -> None:
        assert self._net is not None
        held = self._held()
        after = 0
        while True:
            batch = self.store.pending(self._push_batch, after_seq=after)
            if not batch:
                return
            after = batch[-1].seq
            # A held submit, and everything queued after it about the same inspection, waits (order per
            # inspection is kept); everything else goes now.
            waiting: set[str] = set()
            entries = []
            for entry in batch:
                if entry.entity_type == "inspection" and entry.entity_id in held and (
                    entry.kind == "submit_inspection" or entry.entity_id in waiting
                ):
                    waiting.add(entry.entity_id)
                    continue
                entries.append(entry)
            if not entries:
                continue
            request = protocol.push_request(self.device_id, [e.payload for e in entries])
            self.store.mark_attempt(e.seq for e in entries)
            try:
                response = await self._net.call("/api/v1/sync/push", request, wire.PushResponse)
            except RequestRefused as refused:
                if refused.status != 413:
                    raise
                if len(entries) > 1:  # the server takes fewer per push than this phone sends: halve, resend
                    self._push_batch = max(1, len(entries) // 2)
                    after = entries[0].seq - 1
                else:  # one mutation too large by itself: answered here, so it neither blocks the queue nor loops
                    report.rejected += self.store.settle([(entries[0].seq, "rejected", refused.code or "payload_too_large",
                                                           refused.message, None, None)])
                continue
            answers = protocol.answers(response)
            self._tell_photo_queue(entries, answers)
            settled = self.store.settle(answers)
            report.pushed += settled
            report.rejected += sum(1 for a in answers if a[1] == "rejected")
            report.conflicts += sum(1 for a in answers if a[1] == "conflict")
            deferred = sum(1 for a in answers if a[1] == "deferred")
            report.deferred += deferred
            if settled == 0 and not deferred:
                raise NetworkError("the server answered none of the pushed mutations")

    def _tell_photo_queue(self, entries: list[OutboxEntry], answers: list[protocol.Answer]) -> None:
        """A rejected ``attach_evidence`` fails its photo at once (else it would wait for a record that never comes)."""
        if self._uploads is None:
            return
        payloads = {e.seq: e.payload for e in entries if e.kind in _EVIDENCE_KINDS}
        for seq, outcome, code, message, _field, _detail in answers:
            if outcome == "rejected" and seq in payloads:
                self._uploads.record_rejected(msgspec.msgpack.decode(payloads[seq])["id"], code, message)

    async def _pull(self, report: SyncReport) -> None:
        cursors = self.store.cursors()
        asked: asyncio.Task[protocol.PulledPage] | None = asyncio.create_task(self._pull_page(cursors))
        try:
            while asked is not None:
                page = protocol.page(await asked, protocol.MSGPACK)
                # The cursors the replica holds once this page is written: the next page is asked for now,
                # so the server reads it while this one goes into SQLite.
                dropped = set(page.dropped_scopes)
                cursors = {scope: seq for scope, seq in {**cursors, **page.cursors}.items() if scope not in dropped}
                asked = asyncio.create_task(self._pull_page(cursors)) if page.has_more else None
                await asyncio.to_thread(self.store.apply_page, page.puts, page.removes, page.cursors, page.dropped_scopes)
                report.pulled += len(page.puts) + len(page.removes)
                if self._progress is not None:
                    self._progress(report)
        except BaseException:
            if asked is not None:
                asked.cancel()
                await asyncio.gather(asked, return_exceptions=True)
            raise
        self.store.finish_pull()

    async def _pull_page(self, cursors: dict[str, int]) -> protocol.PulledPage:
        assert self._net is not None
        request = wire.PullRequest(device_id=self.device_id, cursors=cursors, limit=self._pull_limit)
        return await self._net.call("/api/v1/sync/pull", request, protocol.PulledPage)

    # --- reading ------------------------------------------------------------------

    async def status(self) -> SyncStatus:
        outcomes = self.store.outcomes()
        return SyncStatus(
            pending_mutations=self.store.counts()["pending"],
            pending_uploads=self._uploads.pending() if self._uploads is not None else 0,
            last_sync_at=self.store.get_meta("last_sync_at"),
            last_error=self.store.get_meta("last_error"),
            auth_required=bool(self.store.get_meta("auth_required", False)),
            rejections=[o for o in outcomes if o.outcome == "rejected"],
            conflicts=[o for o in outcomes if o.outcome == "conflict"],
            deferred=[o for o in outcomes if o.outcome == "deferred"],
            uploads=[u for u in self._uploads.statuses() if u.status != "done"] if self._uploads is not None else [],
        )

    async def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of one entity type (``inspection``, ``item_result``, ``hazard``, ``enterprise``, …) as shown here."""
        return self.store.records(kind, protocol.record_decoder(kind))

    async def assignments(self) -> list[dict[str, Any]]:
        """This inspector's inspections that are not yet submitted, planned date first."""
        me = str(self.user_id) if self.user_id else None
        rows = [
            r for r in self.store.records("inspection", protocol.record_decoder("inspection"))
            if r.get("status") in ("planned", "in_progress") and (me is None or me in [str(i) for i in r.get("inspector_ids", [])])
        ]
        return sorted(rows, key=lambda r: (str(r.get("planned_date") or ""), str(r["id"])))

    # --- answers a person deals with ------------------------------------------------

    async def acknowledge(self, *seqs: int) -> int:
        """The person has seen these rejections or conflicts: they leave ``status()`` (content kept); how many."""
        return self.store.acknowledge(seqs)

    async def retry(self, seq: int, fixed: dict[str, Any] | None = None) -> SyncReport | None:
        """Send a mutation again now: a stuck (deferred) one as it is, a rejected one from the content kept
        on the phone, or ``fixed`` (its ``content`` with the person's corrections) under a new seq. None if the
        phone holds nothing under ``seq``; else the report of the sync that sent it."""
        async with self._lock:
            kept = self.store.outcome(seq)
            if kept is not None and kept.outcome == "rejected":
                make = None if fixed is None else lambda new_seq: msgspec.convert(
                    {**fixed, "seq": new_seq, "kind": kept.kind}, wire.AnyMutation)
                new_seq = self.store.requeue(seq, make)
                if new_seq is not None and kept.kind in _EVIDENCE_KINDS and self._uploads is not None:
                    self._uploads.retry(kept.entity_id)
            elif not any(e.seq == seq for e in self.store.pending(1, after_seq=seq - 1)):
                return None
        return await self.sync()

    async def discard(self, seq: int) -> bool:
        """Give a mutation up for good: a queued one leaves the outbox with its local view, a kept rejection or
        conflict its content (a discarded photo record's bytes go too). False if there was nothing."""
        async with self._lock:
            kept = self.store.outcome(seq)
            queued = self.store.pending(1, after_seq=seq - 1)
            photo = kept.entity_id if kept is not None and kept.kind in _EVIDENCE_KINDS else None
            if queued and queued[0].seq == seq and queued[0].kind in _EVIDENCE_KINDS:
                photo = msgspec.msgpack.decode(queued[0].payload)["id"]
            done = self.store.discard(seq)
            if done and photo and self._uploads is not None:
                self._uploads.discard(photo)
            return done

    async def retry_photo(self, evidence_id: uuid.UUID) -> SyncReport | None:
        """Upload a failed or waiting photo now (its rejected record is queued again first); None if unknown."""
        async with self._lock:
            if self._uploads is None or not self._uploads.retry(evidence_id):
                return None
            for kept in self.store.outcomes(acknowledged=True):
                if kept.kind in _EVIDENCE_KINDS and kept.outcome == "rejected" and kept.entity_id == str(evidence_id):
                    self.store.requeue(kept.seq)
        return await self.sync()

    async def discard_photo(self, evidence_id: uuid.UUID) -> bool:
        """Give a photo up that is not done: its local copy, and its record if still queued, go. False if unknown."""
        async with self._lock:
            if self._uploads is None or not self._uploads.discard(evidence_id):
                return False
            for seq in self.store.queued_about("evidence", evidence_id):  # else the server would wait for the bytes
                self.store.discard(seq)
            return True

    # --- writes (local first) -------------------------------------------------------
    # Each write is checked (``_checks``: the server's own rules, from ``schemas/``) before anything is
    # stored, and shows at once in ``records()`` in the shape of the server's wire record.

    def _me(self) -> str | None:
        return str(self.user_id) if self.user_id else None

    def _inspection(self, inspection_id: uuid.UUID) -> dict[str, Any]:
        """The inspection as held here; a record about one this phone does not hold cannot be shaped or checked."""
        record = self.store.record("inspection", inspection_id)
        if record is None or not record.get("enterprise_id"):
            raise InvalidRecord("inspection_id", "本机没有这项检查，请先同步", "inspection not on this phone: sync first")
        return record

    def _signed(self, inspection_id: uuid.UUID) -> bool:
        """Signed here or on the server: later writes about it are amendments."""
        return _status_of(self.store.record("inspection", inspection_id)) in ("submitted", "reviewed") or (
            self.store.queued("submit_inspection", inspection_id))

    def _template(self, inspection: Mapping[str, Any] | None) -> dict[str, Any] | None:
        template_id = (inspection or {}).get("template_id")
        return self.store.record("checklist_template", template_id) if template_id else None

    @_queues(StartInspection)
    async def start_inspection(
        self,
        inspection_id: uuid.UUID | None = None,
        *,
        enterprise_id: uuid.UUID | None = None,
        template_id: uuid.UUID | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
    ) -> uuid.UUID:
        """Start an assigned inspection, or (with ``enterprise_id``) open a new 巡查; the inspection id."""
        inspection_id = inspection_id or uuid.uuid4()
        mutation = checks.build(StartInspection, seq=1, inspection_id=inspection_id, started_at=_now(),
                                enterprise_id=enterprise_id, template_id=template_id,
                                longitude=longitude, latitude=latitude)
        current = self.store.record("inspection", inspection_id)
        user = self._me()
        changes: dict[str, Any] = {"status": "in_progress", "started_at": mutation.started_at}
        if enterprise_id is not None:
            changes.update(enterprise_id=str(enterprise_id), template_id=str(template_id) if template_id else None)
            if current is None:
                changes.update(lead_inspector_id=user, longitude=longitude, latitude=latitude)
        self.store.enqueue(
            lambda seq: msgspec.structs.replace(mutation, seq=seq),
            entity_type="inspection",
            entity_id=inspection_id,
            overlays=lambda seq: [("inspection", inspection_id, protocol.view_of("inspection",
                                   protocol.inspection_overlay(current, inspection_id=inspection_id, user_id=user, **changes)))],
        )
        return inspection_id

    @_queues(RecordItemResult)
    async def record_item_result(
        self, inspection_id: uuid.UUID, item_id: uuid.UUID, *, outcome: Any = UNSET, note: Any = UNSET
    ) -> uuid.UUID:
        """Record (part of) one checklist item's result; only the fields given change. The result's id."""
        held, views = self.store.records_of(
            "item_result", protocol.inspection_scope(inspection_id), inspection_id,
            protocol.record_decoder("item_result"),
        )
        server = protocol.find_item_result(held.values(), inspection_id, item_id)
        local = protocol.find_item_result({**held, **views}.values(), inspection_id, item_id)
        result_id = uuid.UUID(str((server or local or {}).get("id") or uuid.uuid4()))
        base_version = int(server["version"]) if server else 0
        fields = {k: v for k, v in {"outcome": outcome, "note": note}.items() if v is not UNSET}
        locked = self._signed(inspection_id)
        checks.refuse(item_result_refusal(fields, first=not (server or local) and not locked))
        checked = checks.build(RecordItemResult, seq=1, id=result_id, inspection_id=inspection_id, item_id=item_id,
                               base_version=base_version, **fields)
        user = self._me()

        def make(seq: int) -> RecordItemResult:
            return msgspec.structs.replace(checked, seq=seq, recorded_at=_now())

        self.store.enqueue(
            make,
            entity_type="inspection",
            entity_id=inspection_id,
            overlays=lambda seq: [("item_result", result_id, protocol.view_of(
                "item_result", protocol.item_result_overlay(local or server, make(seq), user_id=user)))],
        )
        return result_id

    @_queues(AddHazard)
    async def add_hazard(
        self,
        inspection_id: uuid.UUID,
        *,
        level: str,
        description: str,
        deadline_date: dt.date,
        checklist_item_id: uuid.UUID | None = None,
        location: str = "",
        five_in_place: FiveInPlace | Mapping[str, Any] | None = None,
        found_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """Record a hazard found during the inspection (a major one needs its 五落实); its id.

        Photos of it are attached with ``attach_photo(..., hazard_id=)``: they become its ``evidence_ids``.
        """
        inspection = self._inspection(inspection_id)
        if isinstance(five_in_place, FiveInPlace):
            five_in_place = msgspec.to_builtins(five_in_place)
        hazard = checks.build(
            HazardCreate, id=uuid.uuid4(), inspection_id=inspection_id, level=level, description=description,
            deadline_date=deadline_date, checklist_item_id=checklist_item_id, location=location,
            five_in_place=five_in_place, found_at=found_at or _now(),
        )
        assert hazard.found_at is not None
        template = self._template(inspection)
        item = next((i for i in (template or {}).get("items", []) if i["id"] == str(checklist_item_id)), None)
        checks.check_hazard(hazard, found_date=hazard.found_at.astimezone().date(), item=item)
        view = protocol.record_view(Hazard(
            id=hazard.id, inspection_id=inspection_id, enterprise_id=uuid.UUID(str(inspection["enterprise_id"])),
            level=hazard.level, status=HazardStatus.FOUND, description=hazard.description,
            deadline_date=hazard.deadline_date, overdue=False, listed_supervision=hazard.level == HazardLevel.MAJOR,
            found_by=self.user_id, found_at=hazard.found_at, checklist_item_id=hazard.checklist_item_id,
            location=hazard.location, five_in_place=hazard.five_in_place, version=0,
        ))
        self.store.enqueue(
            lambda seq: AddHazard(seq=seq, hazard=hazard),
            entity_type="inspection", entity_id=inspection_id,
            overlays=lambda seq: [("hazard", hazard.id, view)],
        )
        return hazard.id

    @_queues(ReportRectification)
    async def report_rectification(
        self,
        hazard_id: uuid.UUID,
        *,
        note: str = "",
        evidence_ids: list[uuid.UUID] | None = None,
        reported_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """Record that the enterprise reports the hazard fixed (a 回头看 recheck follows on the server); the hazard id."""
        report = checks.build(RectificationReport, note=note, evidence_ids=evidence_ids or [],
                              reported_at=reported_at or _now())
        current = self.store.record("hazard", hazard_id)
        overlays = [] if current is None else [("hazard", hazard_id, protocol.view_of(
            "hazard", current, status=HazardStatus.RECTIFICATION_REPORTED, rectification_reported_at=report.reported_at))]
        entity_type, entity_id = _about(current, "hazard", hazard_id)
        self.store.enqueue(
            lambda seq: ReportRectification(seq=seq, hazard_id=hazard_id, report=report),
            entity_type=entity_type, entity_id=entity_id, overlays=lambda seq: overlays,
        )
        return hazard_id

    @_queues(ReportRecheck)
    async def report_recheck(
        self,
        recheck_id: uuid.UUID,
        *,
        passed: bool,
        note: str = "",
        evidence_ids: list[uuid.UUID] | None = None,
        new_deadline_date: dt.date | None = None,
        checked_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """Record the result of an assigned 回头看 recheck (a failed one may set a new deadline); the recheck id."""
        result = checks.build(RecheckResult, passed=passed, note=note, evidence_ids=evidence_ids or [],
                              new_deadline_date=new_deadline_date, checked_at=checked_at or _now())
        current = self.store.record("recheck", recheck_id)
        overlays = [] if current is None else [("recheck", recheck_id, protocol.view_of(
            "recheck", current, status=RecheckStatus.PASSED if passed else RecheckStatus.FAILED, note=result.note,
            evidence_ids=result.evidence_ids, checked_by=self.user_id, checked_at=result.checked_at))]
        self.store.enqueue(
            lambda seq: ReportRecheck(seq=seq, recheck_id=recheck_id, result=result),
            entity_type="recheck", entity_id=recheck_id, overlays=lambda seq: overlays,
        )
        return recheck_id

    @_queues(AddViolation)
    async def add_violation(
        self,
        inspection_id: uuid.UUID,
        *,
        person_name: str,
        id_number: str,
        violation_type: str,
        description: str,
        post: str = "",
        certificate_required: bool = False,
        certificate_held: bool = True,
        disposition: str = "",
    ) -> uuid.UUID:
        """Record a 三违 (the ID number must pass GB 11643 here already; it is shown masked, as the server does); its id."""
        inspection = self._inspection(inspection_id)
        number = checks.check_id_number(id_number)
        violation = checks.build(
            ViolationCreate, id=uuid.uuid4(), inspection_id=inspection_id, person_name=person_name, id_number=number,
            violation_type=violation_type, description=description, post=post,
            certificate_required=certificate_required, certificate_held=certificate_held,
            disposition=disposition, recorded_at=_now(),
        )
        assert violation.recorded_at is not None
        view = protocol.record_view(Violation(
            id=violation.id, enterprise_id=uuid.UUID(str(inspection["enterprise_id"])), person_key="",
            person_name=violation.person_name, id_number_masked=mask_id_number(number),
            violation_type=violation.violation_type, description=violation.description, recorded_by=self.user_id,
            recorded_at=violation.recorded_at, inspection_id=inspection_id, post=violation.post,
            certificate_required=violation.certificate_required, certificate_held=violation.certificate_held,
            disposition=violation.disposition,
        ))
        self.store.enqueue(
            lambda seq: AddViolation(seq=seq, violation=violation),
            entity_type="inspection", entity_id=inspection_id,
            overlays=lambda seq: [("violation", violation.id, view)],
        )
        return violation.id

    @_queues(ProposeEnforcement)
    async def propose_enforcement(
        self,
        *,
        kind: str,
        reason: str,
        inspection_id: uuid.UUID | None = None,
        hazard_id: uuid.UUID | None = None,
        amount_yuan: int | None = None,
        max_penalty: bool = False,
        legal_basis: str = "",
        deadline_date: dt.date | None = None,
    ) -> uuid.UUID:
        """Propose an enforcement action (执法措施) for a check or a hazard, for a supervisor to decide; its id."""
        proposal = checks.build(
            EnforcementProposal, id=uuid.uuid4(), kind=kind, reason=reason, inspection_id=inspection_id,
            hazard_id=hazard_id, amount_yuan=amount_yuan, max_penalty=max_penalty, legal_basis=legal_basis,
            deadline_date=deadline_date,
        )
        checks.check_proposal(proposal)
        hazard = self.store.record("hazard", hazard_id) if hazard_id else None
        if hazard_id is not None and hazard is None:
            raise InvalidRecord("hazard_id", "本机没有这条隐患，请先同步", "hazard not on this phone: sync first")
        inspection = self._inspection(uuid.UUID(str(hazard["inspection_id"])) if hazard else inspection_id)  # type: ignore[arg-type]
        if hazard is not None and inspection_id is not None and str(inspection_id) != str(hazard["inspection_id"]):
            raise InvalidRecord("hazard_id", "隐患不属于该次检查", "the hazard is not from this inspection")
        view = protocol.record_view(EnforcementAction(
            id=proposal.id, enterprise_id=uuid.UUID(str((hazard or inspection)["enterprise_id"])), kind=proposal.kind,
            status=ActionStatus.PROPOSED, origin=ActionOrigin.INSPECTOR, reason=proposal.reason,
            proposed_by=self.user_id, proposed_at=_now(), inspection_id=uuid.UUID(str(inspection["id"])),
            hazard_id=hazard_id, amount_yuan=proposal.amount_yuan, max_penalty=proposal.max_penalty,
            legal_basis=proposal.legal_basis, deadline_date=proposal.deadline_date,
        ))
        self.store.enqueue(
            lambda seq: ProposeEnforcement(seq=seq, action=proposal),
            entity_type="inspection", entity_id=uuid.UUID(str(inspection["id"])),
            overlays=lambda seq: [("enforcement_action", proposal.id, view)],
        )
        return proposal.id

    @_queues(AttachEvidence)
    async def attach_photo(
        self,
        inspection_id: uuid.UUID,
        path: str | Path,
        *,
        hazard_id: uuid.UUID | None = None,
        violation_id: uuid.UUID | None = None,
        caption: str = "",
        longitude: float | None = None,
        latitude: float | None = None,
        captured_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """Record a photo (its SHA-256 is taken now) and queue its bytes for upload; the evidence id."""
        return await self._attach(inspection_id, path, EvidenceKind.PHOTO, hazard_id=hazard_id,
                                  violation_id=violation_id, caption=caption, longitude=longitude,
                                  latitude=latitude, captured_at=captured_at)

    @_queues(AttachEvidence)
    async def attach_signature(
        self,
        inspection_id: uuid.UUID,
        path: str | Path,
        *,
        signer_name: str,
        longitude: float | None = None,
        latitude: float | None = None,
        captured_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """Record the enterprise representative's signature (an image) and queue it for upload; the evidence id.

        Pass the id to ``submit_inspection(signature_evidence_id=)``; the submit waits for its bytes.
        """
        if not signer_name.strip():
            raise InvalidRecord("signer_name", "签名须写明签字人姓名", "a signature needs the signer's name")
        return await self._attach(inspection_id, path, EvidenceKind.SIGNATURE, signer_name=signer_name.strip(),
                                  longitude=longitude, latitude=latitude, captured_at=captured_at)

    async def _attach(self, inspection_id: uuid.UUID, path: str | Path, evidence_kind: EvidenceKind, **fields: Any) -> uuid.UUID:
        data = Path(path).read_bytes()
        evidence_id = uuid.uuid4()
        media_type = mimetypes.guess_type(str(path))[0] or "image/jpeg"
        fields["captured_at"] = fields.get("captured_at") or _now()
        mutation = checks.build(
            AttachEvidence, seq=1, id=evidence_id, evidence_kind=evidence_kind, inspection_id=inspection_id,
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type=media_type, **fields,
        )
        view = protocol.record_view(Evidence(
            id=evidence_id, kind=evidence_kind, inspection_id=inspection_id, hazard_id=mutation.hazard_id,
            violation_id=mutation.violation_id, sha256=mutation.sha256, size=mutation.size,
            media_type=mutation.media_type, status=EvidenceStatus.PENDING, captured_at=mutation.captured_at,
            longitude=mutation.longitude, latitude=mutation.latitude, signer_name=mutation.signer_name,
            caption=mutation.caption, device_id=self.device_id, created_by=self.user_id,
        ))
        overlays: list[tuple[str, uuid.UUID, dict[str, Any]]] = [("evidence", evidence_id, view)]
        for entity_type, supported in (("hazard", mutation.hazard_id), ("violation", mutation.violation_id)):
            record = self.store.record(entity_type, supported) if supported else None
            if record is not None:  # the server lists it among the record's evidence
                overlays.append((entity_type, supported, protocol.view_of(  # type: ignore[arg-type]
                    entity_type, record, evidence_ids=[*record.get("evidence_ids", []), str(evidence_id)])))
        self.store.enqueue(
            lambda seq: msgspec.structs.replace(mutation, seq=seq),
            entity_type="inspection", entity_id=inspection_id,
            overlays=lambda seq: overlays,
        )
        # The submit waits for the photos taken before it. One taken after the signing is an amendment that
        # needs the submit first: naming the inspection would make each wait for the other, for ever.
        signed = self._signed(inspection_id)
        self._uploads.enqueue(evidence_id, Path(path), mutation.sha256, len(data), media_type,
                              inspection_id=None if signed else inspection_id)
        return evidence_id

    async def document_pdf(self, document_id: uuid.UUID) -> bytes:
        """The PDF of an on-site document this phone holds, fetched once and kept beside the replica.

        Its SHA-256 must be the one the pulled record names (what was issued): bytes that differ, fetched or
        kept, are never returned (``RequestRefused`` with code ``document_hash_mismatch``).
        """
        document = self.store.record("document", document_id)
        if document is None:
            raise InvalidRecord("document_id", "本机没有这份文书，请先同步", "document not on this phone: sync first")
        kept = self._documents_dir / f"{document['sha256']}.pdf"
        if kept.is_file() and hashlib.sha256(data := kept.read_bytes()).hexdigest() == document["sha256"]:
            return data
        http = self._net._http

        def send() -> Awaitable[Any]:
            access, _ = self._tokens()
            return http.get(f"/api/v1/documents/{document_id}/pdf", headers={"authorization": f"Bearer {access}"})

        data = await self._net._send(send, authenticated=True, read=lambda response: response.content)
        if hashlib.sha256(data).hexdigest() != document["sha256"]:
            raise RequestRefused(0, "document_hash_mismatch", "下载的文书与签发记录的 SHA-256 不符 / document hash mismatch")
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(data)
        return data

    @_queues(SignDocument)
    async def sign_document(
        self,
        document_id: uuid.UUID,
        path: str | Path,
        *,
        signer_name: str,
        longitude: float | None = None,
        latitude: float | None = None,
        signed_at: dt.datetime | None = None,
    ) -> uuid.UUID:
        """The party signs an on-site document held here (the image at ``path``): recorded against the
        document's SHA-256 as pulled, the image queued for upload like a photo; the signature's evidence id."""
        document = self.store.record("document", document_id)
        if document is None:
            raise InvalidRecord("document_id", "本机没有这份文书，请先同步", "document not on this phone: sync first")
        refused = sign_refusal(DocumentStatus(document.get("status", DocumentStatus.ISSUED)), title=document["title"],
                               on_site=True, signed_already=any(
                                   s.get("document_id") == str(document_id) for s in self.store.records("document_signature")))
        if refused is not None:
            raise InvalidRecord(refused.field, refused.message, refused.message_en)
        data = Path(path).read_bytes()
        evidence_id = uuid.uuid4()
        inspection_id = uuid.UUID(document["inspection_id"])
        mutation = checks.build(
            SignDocument, seq=1, id=evidence_id, document_id=document_id, inspection_id=inspection_id,
            document_sha256=document["sha256"], signer_name=signer_name.strip(), sha256=hashlib.sha256(data).hexdigest(),
            size=len(data), media_type=mimetypes.guess_type(str(path))[0] or "image/png",
            signed_at=signed_at or _now(), longitude=longitude, latitude=latitude,
        )
        evidence = protocol.record_view(Evidence(
            id=evidence_id, kind=EvidenceKind.SIGNATURE, inspection_id=inspection_id, sha256=mutation.sha256,
            size=mutation.size, media_type=mutation.media_type, status=EvidenceStatus.PENDING,
            captured_at=mutation.signed_at, signer_name=mutation.signer_name, device_id=self.device_id,
            created_by=self.user_id,
        ))
        signature = protocol.record_view(DocumentSignature(
            id=evidence_id, document_id=document_id, inspection_id=inspection_id, document_number=document["number"],
            document_sha256=document["sha256"], signer_name=mutation.signer_name, signed_at=mutation.signed_at,
            recorded_by=self.user_id, device_id=self.device_id,
        ))
        self.store.enqueue(
            lambda seq: msgspec.structs.replace(mutation, seq=seq),
            entity_type="inspection", entity_id=inspection_id,
            overlays=lambda seq: [("evidence", evidence_id, evidence), ("document_signature", evidence_id, signature)],
        )
        self._uploads.enqueue(evidence_id, Path(path), mutation.sha256, len(data), mutation.media_type,
                              inspection_id=None)
        return evidence_id

    @_queues(SubmitInspection)
    async def submit_inspection(
        self,
        inspection_id: uuid.UUID,
        *,
        summary: str = "",
        signed_by_name: str = "",
        signature_evidence_id: uuid.UUID | None = None,
    ) -> None:
        """Sign and submit (every checklist item needs a result): edits then become amendments on the server."""
        current = self.store.record("inspection", inspection_id)
        checks.check_all_answered(
            self._template(current),
            [r for r in await self.records("item_result") if r.get("inspection_id") == str(inspection_id)],
        )
        mutation = checks.build(SubmitInspection, seq=1, inspection_id=inspection_id, summary=summary,
                                signed_by_name=signed_by_name, signature_evidence_id=signature_evidence_id,
                                submitted_at=_now())
        user = self._me()
        self.store.enqueue(
            lambda seq: msgspec.structs.replace(mutation, seq=seq),
            entity_type="inspection",
            entity_id=inspection_id,
            overlays=lambda seq: [("inspection", inspection_id, protocol.view_of("inspection", protocol.inspection_overlay(
                current, inspection_id=inspection_id, user_id=user, status="submitted",
                submitted_at=mutation.submitted_at, summary=summary, signed_by_name=signed_by_name)))],
        )

    @_queues(AddNote)
    async def add_note(self, inspection_id: uuid.UUID, text: str) -> uuid.UUID:
        """Append a note (an amendment, once the inspection is signed); its id."""
        note_id = uuid.uuid4()
        mutation = checks.build(AddNote, seq=1, id=note_id, inspection_id=inspection_id, text=text, created_at=_now())
        locked = self._signed(inspection_id)
        view = protocol.record_view(Amendment(
            id=note_id, inspection_id=inspection_id, author_id=self.user_id, text=text,
            payload={"kind": "amendment" if locked else "note"}, created_at=mutation.created_at,
        ))
        self.store.enqueue(
            lambda seq: msgspec.structs.replace(mutation, seq=seq),
            entity_type="inspection", entity_id=inspection_id,
            overlays=lambda seq: [("amendment", note_id, view)],
        )
        return note_id


def _about(record: Mapping[str, Any] | None, entity_type: str, entity_id: uuid.UUID) -> tuple[str, uuid.UUID]:
    """What an outbox entry is about: the record's inspection when known (its order and its stay on the phone)."""
    if record is not None and record.get("inspection_id"):
        return "inspection", uuid.UUID(str(record["inspection_id"]))
    return entity_type, entity_id


def _writes() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for name, member in vars(SyncClient).items():
        mutation_type = getattr(member, "__queues__", None)
        if mutation_type is not None:
            found.setdefault(str(mutation_type.__struct_config__.tag), []).append(name)
    return {kind: tuple(names) for kind, names in found.items()}


SyncClient.WRITES = _writes()


def _status_of(record: dict[str, Any] | None) -> str | None:
    return None if record is None else record.get("status")
