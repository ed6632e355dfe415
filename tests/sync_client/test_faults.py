"""Phones over a misbehaving network: nothing lost, nothing applied twice, nothing silently overwritten.

Hypothesis draws what each inspector records offline (starts, item results,
notes, hazards, 三违, photos, submits), when each phone syncs (alone or all at
once) or restarts, and which faults hit each request: dropped requests,
dropped, garbled or falsely gzipped responses, captive-portal pages,
duplicated and late copies, delays and server restarts that also lose the
store's unfinished uploads (see ``faults.py``). Four phones: one inspector on
two devices and a teammate share an inspection, a third inspector works alone.

After the network heals and every phone has synced until quiet:

- every record made on a phone exists on the server exactly once, or the
  phone holds its rejection (with a reason, naming it, its content kept);
- every item result is what the merge rule gives for the writes in the
  order the server applied them (replayed here: a field written since the
  writer's base by another device is a conflict, else the write wins), and
  each conflict is in the status of the phone that wrote it;
- every photo not refused is stored, with its hash; every replica equals the
  server's view of its scope; the audit chain verifies; the server answered
  no request with a 5xx.

Runs on PostgreSQL (in-process, and as two ``fieldcheck serve`` processes on one database,
where a restart is a ``kill -9`` of one of them) and on the embedded SQLite default. Seeded and
derandomised in CI (``FIELDCHECK_CHAOS_EXAMPLES`` examples per engine, a few
dozen); ``make chaos`` runs many more with a fresh seed (``FIELDCHECK_CHAOS_SEED``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import inspect
import os
import random
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from schemas.hazards import AddHazard, HazardCreate
from schemas.identifiers import id_number_check_char
from schemas.inspections import RecordItemResult
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.app import create_app
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.enforcement.tables import EnforcementAction
from server.evidence.tables import Evidence
from server.hazards.tables import Hazard
from server.inspections.tables import InspectionAmendment, ItemResult, ItemResultConflict
from server.sync.tables import Change, DeviceMutation
from server.violations.tables import ViolationRecord
from storage import keys
from sync_client import InvalidRecord, RetryPolicy, SyncClient
from sync_client._protocol import record_decoder
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, username_of
from tests.server.evidence import images
from tests.server.sync.conftest import make_template, sqlite_app  # noqa: F401  (fixture)
from tests.sync_client.faults import FAULTS, FaultyTransport, Processes, Server
from tests.sync_client.test_uploads import Clock, _no_sleep
from tests.dates import bureau_today

KINDS = ("inspection", "item_result", "item_result_conflict", "amendment", "hazard", "violation", "evidence")
#: Examples per engine in CI; ``make chaos`` sets many more.
EXAMPLES = int(os.environ.get("FIELDCHECK_CHAOS_EXAMPLES", "5"))
#: A fixed seed by default (CI runs the same examples every time); ``make chaos`` draws a fresh one.
SEED = os.environ.get("FIELDCHECK_CHAOS_SEED")
#: Phone n belongs to inspector OWNER[n]: inspector 0 has two devices.
OWNER = (0, 0, 1, 2)
ID_NUMBER = "64010419850101123" + id_number_check_char("64010419850101123")
PHOTOS = [images.photo(seed=n, size=(64, 48)) for n in range(3)]

PHONE = st.integers(0, len(OWNER) - 1)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("item"), PHONE, st.integers(0, 3), st.sampled_from(["pass", "fail"]),
                  st.sampled_from([None, "隐患", "整改"])),
        st.tuples(st.just("note"), PHONE),
        st.tuples(st.just("start"), PHONE),
        st.tuples(st.just("hazard"), PHONE),
        st.tuples(st.just("violation"), PHONE),
        st.tuples(st.just("photo"), PHONE, st.integers(0, len(PHOTOS) - 1)),
        st.tuples(st.just("signature"), PHONE, st.integers(0, len(PHOTOS) - 1)),
        st.tuples(st.just("rectify"), PHONE),
        st.tuples(st.just("propose"), PHONE),
        st.tuples(st.just("submit"), PHONE),
        st.tuples(st.just("sync"), PHONE),
        st.tuples(st.just("reboot"), PHONE),
        st.tuples(st.just("sync_all"),),
    ),
    min_size=1,
    max_size=24,
)


class Fleet:
    """The phones of one example, with everything each recorded (what the invariants check against)."""

    def __init__(self, folder: Path, transports: list[FaultyTransport], rng: random.Random) -> None:
        self.folder, self.transports, self.rng = folder, transports, rng
        self.clock = Clock()
        self.phones: list[SyncClient] = []
        self.created: list[list[tuple[str, uuid.UUID]]] = [[] for _ in OWNER]  # (entity type, id) per phone
        self.item_writes: dict[tuple[uuid.UUID, int], RecordItemResult] = {}  # (device, seq) -> mutation
        self.photos: dict[uuid.UUID, str] = {}  # evidence id -> sha256
        self.refused_locally = 0  # writes the phone's own checks refused (nothing queued)

    def _open(self, n: int) -> SyncClient:
        return SyncClient("http://fieldcheck.test", self.folder / f"p{n}.sqlite3", transport=self.transports[n],
                          retry=RetryPolicy(attempts=3, base_delay_s=0.0, max_delay_s=0.0), sleep=_no_sleep,
                          rng=random.Random(self.rng.random()))

    async def start(self) -> None:
        for n in range(len(OWNER)):
            phone = self._open(n)
            await phone.__aenter__()
            phone._uploads.clock = self.clock
            self.phones.append(phone)

    async def reboot(self, n: int) -> None:
        """The app is killed and opened again: everything it had is on disk."""
        await self.phones[n].__aexit__(None, None, None)
        phone = self._open(n)
        await phone.__aenter__()
        phone._uploads.clock = self.clock
        self.phones[n] = phone

    async def close(self) -> None:
        for phone in self.phones:
            await phone.__aexit__(None, None, None)

    def last_mutation(self, n: int) -> bytes:
        store = self.phones[n].store
        [entry] = store.pending(1, after_seq=store.get_meta("next_seq") - 2)
        return entry.payload


async def _add_hazard(phone: SyncClient, inspection_id: uuid.UUID, text: str) -> uuid.UUID:
    """A hazard through the client's method; through its outbox as the method would, while the method still
    speaks the old field name (``grade``) the server refuses to decode."""
    deadline = bureau_today() + dt.timedelta(days=7)
    if "level" in inspect.signature(phone.add_hazard).parameters:
        return await phone.add_hazard(inspection_id, level="general", description=text, deadline_date=deadline)
    hazard = HazardCreate(id=uuid.uuid4(), inspection_id=inspection_id, level="general", description=text,
                          deadline_date=deadline, found_at=dt.datetime.now(dt.UTC))
    view = {**msgspec.to_builtins(hazard), "status": "found"}
    phone.store.enqueue(lambda seq: AddHazard(seq=seq, hazard=hazard), entity_type="inspection",
                        entity_id=inspection_id, overlays=lambda seq: [("hazard", hazard.id, view)])
    return hazard.id


async def _act(fleet: Fleet, step: tuple, inspection_of: list[uuid.UUID], items: list[uuid.UUID]) -> None:
    try:
        await _write(fleet, step, inspection_of, items)
    except InvalidRecord:  # refused on the phone before queueing (not synced yet, items unanswered): nothing queued
        fleet.refused_locally += 1


async def _write(fleet: Fleet, step: tuple, inspection_of: list[uuid.UUID], items: list[uuid.UUID]) -> None:
    kind, who = step[0], (step[1] if len(step) > 1 else None)
    if kind == "sync_all":
        await asyncio.gather(*(p.sync() for p in fleet.phones))
        return
    phone, inspection = fleet.phones[who], inspection_of[who]
    made = fleet.created[who]
    if kind == "item":
        _, _, item, outcome, note = step
        await phone.record_item_result(inspection, items[item], **({"outcome": outcome} if note is None else
                                                                   {"outcome": outcome, "note": note}))
        mutation = msgspec.msgpack.decode(fleet.last_mutation(who), type=RecordItemResult)
        fleet.item_writes[(phone.device_id, mutation.seq)] = mutation
    elif kind == "note":
        made.append(("amendment", await phone.add_note(inspection, f"记录{len(made)}")))
    elif kind == "start":
        await phone.start_inspection(inspection)
    elif kind == "hazard":
        made.append(("hazard", await _add_hazard(phone, inspection, f"隐患{len(made)}：消防通道堵塞")))
    elif kind == "violation":
        made.append(("violation", await phone.add_violation(
            inspection, person_name="王五", id_number=ID_NUMBER, violation_type="illegal_operation",
            description=f"三违{len(made)}：未系安全带登高")))
    elif kind == "photo":
        path = fleet.folder / f"photo-{who}-{len(made)}.jpg"
        path.write_bytes(PHOTOS[step[2]])
        evidence = await phone.attach_photo(inspection, path)
        path.unlink()  # the camera app may drop its file at once
        made.append(("evidence", evidence))
        fleet.photos[evidence] = hashlib.sha256(PHOTOS[step[2]]).hexdigest()
    elif kind == "signature":
        path = fleet.folder / f"signature-{who}-{len(made)}.png"
        path.write_bytes(PHOTOS[step[2]])
        evidence = await phone.attach_signature(inspection, path, signer_name="企业负责人")
        path.unlink()
        made.append(("evidence", evidence))
        fleet.photos[evidence] = hashlib.sha256(PHOTOS[step[2]]).hexdigest()
    elif kind == "rectify":
        hazards = [entity_id for entity_type, entity_id in made if entity_type == "hazard"]
        if hazards:
            await phone.report_rectification(hazards[-1], note="已更换灭火器并清理通道")
    elif kind == "propose":
        made.append(("enforcement", await phone.propose_enforcement(
            kind="rectify_order", reason="消防通道堵塞，责令限期整改", inspection_id=inspection,
            deadline_date=bureau_today() + dt.timedelta(days=10))))
    elif kind == "submit":
        await phone.submit_inspection(inspection, summary="现场检查完毕", signed_by_name="企业负责人")
    elif kind == "sync":
        await phone.sync()
    elif kind == "reboot":
        await fleet.reboot(who)


async def _heal(fleet: Fleet) -> None:
    """The network heals: every phone syncs until nothing moves, then once more cleanly."""
    for t in fleet.transports:
        t.plan = []
        await t.settle()
    for _ in range(8):
        fleet.clock.now += 3600  # every photo's backoff has passed
        for p in fleet.phones:
            await p.sync()
        if all(p.store.counts()["pending"] == 0 and _uploads_settled(p) for p in fleet.phones):
            break
    for _ in range(2):
        for p in fleet.phones:
            report = await p.sync()
            assert report.complete, report.error


def _uploads_settled(phone: SyncClient) -> bool:
    return all(u.status in ("done", "failed") for u in phone._uploads.statuses())


async def _server_view(app: Any, user_id: uuid.UUID, device_id: uuid.UUID) -> dict[str, list[dict]]:
    """What the server says this user's phone should hold: live change rows in the user's scopes."""
    keys_ = await app.state.sync_registry.scopes_for(
        app.state.context, Actor(user_id=user_id, role=Role.INSPECTOR, device_id=device_id)
    )
    rows = await Change.select(Change.entity_type, Change.entity_id, Change.payload).where(
        Change.scope.is_in(sorted(keys_)), Change.payload.is_not_null()
    )
    view: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
    for row in rows:
        if row["entity_type"] in view:
            view[row["entity_type"]][str(row["entity_id"])] = record_decoder(row["entity_type"])(row["payload"])
    return {k: [v[i] for i in sorted(v)] for k, v in view.items()}


_TABLES: dict[str, Any] = {"amendment": InspectionAmendment, "hazard": Hazard, "violation": ViolationRecord,
                           "evidence": Evidence, "enforcement": EnforcementAction}


async def _replayed_item_results(fleet: Fleet, inspections: list[uuid.UUID]) -> tuple[dict, set, set]:
    """The item results and conflicts the merge rule gives for the writes in the order the server applied them
    (and which writes it applied).

    A writer is a device. A field another device wrote after the writer's
    ``base_version`` is a conflict (unless the values are equal); otherwise
    the write wins, and each mutation that changed something bumps the version.
    """
    entries = await AuditEntry.select(AuditEntry.device_id, AuditEntry.changes).where(
        AuditEntry.action == "inspection.item_results", AuditEntry.entity_id.is_in([str(i) for i in inspections])
    ).order_by(AuditEntry.seq).output(load_json=True)
    state: dict[tuple[str, str], dict[str, Any]] = {}
    conflicts: set[tuple[uuid.UUID, str, str, Any]] = set()
    seen: set[tuple[uuid.UUID, int]] = set()
    for entry in entries:
        for result in entry["changes"]["results"]:
            key = (entry["device_id"], int(result["seq"]))
            assert key not in seen, f"item result {key} applied twice"
            seen.add(key)
            m = fleet.item_writes[key]
            row = state.setdefault((str(m.inspection_id), str(m.item_id)), {
                "id": str(m.id), "version": 0, "outcome": None, "note": "", "meta": {}})
            applied = {}
            for name in ("outcome", "note"):
                value = getattr(m, name)
                if value is msgspec.UNSET or row[name] == value:
                    continue
                written = row["meta"].get(name)
                if written and written[0] > m.base_version and written[1] != entry["device_id"]:
                    conflicts.add((entry["device_id"], row["id"], name, value))
                else:
                    applied[name] = value
            if applied:
                row["version"] += 1
                for name, value in applied.items():
                    row[name] = value
                    row["meta"][name] = (row["version"], entry["device_id"])
    return state, conflicts, seen


async def _check_invariants(
    app: Any, fleet: Fleet, users: list[uuid.UUID], inspections: list[uuid.UUID]
) -> None:
    phones = fleet.phones
    kept = {p.device_id: p.store.outcomes(acknowledged=True) for p in phones}
    rejected_ids = {(p.device_id, o.entity_id) for p in phones for o in kept[p.device_id] if o.outcome == "rejected"}

    # every answer came back: each recorded mutation has one stored outcome on the server
    for p in phones:
        recorded = p.store.get_meta("next_seq") - 1
        assert (await p.status()).pending_mutations == 0
        seqs = [r["seq"] for r in await DeviceMutation.select(DeviceMutation.seq).where(DeviceMutation.device == p.device_id)]
        assert sorted(seqs) == list(range(1, recorded + 1))
        # every rejection came back with a reason, names its record, and the content is still on the phone
        for o in kept[p.device_id]:
            if o.outcome == "rejected":
                assert o.code and o.message and o.entity_id and o.content is not None, o

    # every record made on a phone exists on the server exactly once, or its rejection is on that phone
    for p, made in zip(phones, fleet.created, strict=True):
        for entity_type, entity_id in made:
            count = await _TABLES[entity_type].count().where(_TABLES[entity_type].id == entity_id)
            assert count == (0 if (p.device_id, str(entity_id)) in rejected_ids else 1), (entity_type, entity_id)

    # item results: what the merge rule gives for the applied writes; each conflict told to its phone
    replay, expected_conflicts, applied = await _replayed_item_results(fleet, inspections)
    for (device, seq), m in fleet.item_writes.items():
        amended = await InspectionAmendment.count().where(InspectionAmendment.id == uuid.uuid5(m.id, f"amend:{seq}"))
        assert (device, seq) in applied or amended or (device, str(m.id)) in rejected_ids, (device, seq)
    rows = await ItemResult.select().where(ItemResult.inspection.is_in(inspections))
    assert {(str(r["inspection"]), str(r["item"])): (r["outcome"], r["note"], r["version"]) for r in rows} == {
        k: (v["outcome"], v["note"], v["version"]) for k, v in replay.items()
    }
    stored_conflicts = await ItemResultConflict.select().where(
        ItemResultConflict.item_result.inspection.is_in(inspections)).output(load_json=True)
    assert {(c["client_device"], str(c["item_result"]), c["field"], c["client_value"]) for c in stored_conflicts} == (
        expected_conflicts
    )
    for c in stored_conflicts:
        told = [o for o in kept[c["client_device"]] if o.outcome == "conflict"
                and str(c["id"]) in (o.detail or {}).get("conflict_ids", [])]
        assert told and told[0].entity_id == str(c["item_result"]), c

    # every photo not refused is stored with its hash
    for evidence_id, sha256 in fleet.photos.items():
        row = await Evidence.select(Evidence.status, Evidence.sha256).where(Evidence.id == evidence_id).first()
        if row is None:
            assert any(o.entity_id == str(evidence_id) for os_ in kept.values() for o in os_ if o.outcome == "rejected")
            continue
        assert (row["status"], row["sha256"]) == ("stored", sha256), evidence_id

    # every replica is the server's view of its scope
    for p, owner in zip(phones, OWNER, strict=True):
        view = await _server_view(app, users[owner], p.device_id)
        for kind in KINDS:
            assert await p.records(kind) == view[kind], kind

    report = await audit_service.verify()
    assert report.ok, report
    errors = [s for t in fleet.transports for s in t.statuses if s[0] >= 500]
    assert errors == [], errors


async def _scenario(app: Any, http: httpx.AsyncClient, folder: Path, plans: list[list[str]], rng: int,
                    steps: list, processes: Processes | None = None) -> None:
    department = await make_department()
    supervisor = await make_user(Role.SUPERVISOR, department_id=department)
    users = [await make_user(Role.INSPECTOR, department_id=department) for _ in range(3)]
    template, items = await make_template(4)
    enterprise = await make_enterprise()
    headers = await login(http, await username_of(supervisor))
    made = []
    for team in ([users[0], users[1]], [users[2]]):
        response = await http.post("/api/v1/inspections/", headers=headers, json={
            "enterprise_id": str(enterprise), "template_id": str(template), "inspector_ids": [str(u) for u in team]})
        assert response.status_code == 201, response.text
        made.append(uuid.UUID(response.json()["id"]))
    inspection_of = [made[0], made[0], made[0], made[1]]

    settings_ = app.state.settings

    async def restart() -> None:
        if processes is not None:
            await processes.kill()
        elif database.is_postgres():
            engine = database.get_engine()
            await engine.close_connection_pool()
            await engine.start_connection_pool(min_size=1, max_size=10)
        store = app.state.evidence_store
        async for upload in store.list_uploads(""):
            await store.abort_upload(upload.key, upload.upload_id)

    def fresh_app() -> Any:
        if processes is not None:
            return processes
        fresh = create_app(settings_)
        fresh.state.evidence_store = app.state.evidence_store  # one store behind every restart
        return fresh

    server = Server(restart)
    transports = [FaultyTransport(fresh_app, server, []) for _ in OWNER]
    fleet = Fleet(folder, transports, random.Random(rng))
    await fleet.start()
    try:
        for p, owner in zip(fleet.phones, OWNER, strict=True):
            await p.login(await username_of(users[owner]), PASSWORD)
        for t, plan in zip(transports, plans, strict=True):
            t.plan = list(plan)
        for step in steps:
            await _act(fleet, step, inspection_of, items)
        await _heal(fleet)
        await _check_invariants(app, fleet, users, made)
    finally:
        for t in transports:
            t.plan = []
            await t.settle()
        await fleet.close()


def _chaos(test: Any, examples: int = EXAMPLES) -> Any:
    """No shrinking: each example is a full multi-phone scenario, and a failing one is printed as drawn.

    Two examples are always run first: the defects the outside fault run found most often.
    """
    drawn = given(plans=st.lists(st.lists(st.sampled_from(FAULTS), max_size=15), min_size=len(OWNER),
                                 max_size=len(OWNER)),
                  rng=st.integers(0, 2**32), steps=ops)(test)
    configured = settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                          derandomize=SEED is None, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])(drawn)
    # one inspector on two phones, both offline, sets one item differently from the same base
    configured = example(plans=[[], [], [], []], rng=1, steps=[
        ("sync", 0), ("sync", 1), ("item", 0, 0, "pass", None), ("item", 1, 0, "fail", "隐患"), ("sync_all",),
    ])(configured)
    # photos taken before and after the signing, a server restart while they upload, a garbled answer
    configured = example(plans=[[], [], [], ["ok", "ok", "garble_gzip", "restart", "portal", "restart"]], rng=2, steps=[
        ("start", 3), ("photo", 3, 0), ("item", 3, 1, "fail", "整改"), ("submit", 3), ("photo", 3, 1), ("sync", 3),
    ])(configured)
    return seed(int(SEED))(configured) if SEED is not None else configured


@_chaos
async def test_phones_under_chaos_on_postgresql(client, app, tmp_path_factory, plans, rng, steps):
    await _scenario(app, client, tmp_path_factory.mktemp("phones"), plans, rng, steps)


@_chaos
async def test_phones_under_chaos_on_the_embedded_default(sqlite_app, tmp_path_factory, plans, rng, steps):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://embedded.test") as http:
        await _scenario(sqlite_app, http, tmp_path_factory.mktemp("phones"), plans, rng, steps)


@pytest.fixture
async def two_servers(settings):
    """Two ``fieldcheck serve`` processes on the session's PostgreSQL database and data folder."""
    processes = Processes(2, {
        "DATABASE_URL": settings.database.url, "FIELDCHECK_DATA_DIR": str(settings.server.data_dir),
        "FIELDCHECK_SECRET_KEY": settings.auth.secret_key, "FIELDCHECK_ID_HASH_KEY": settings.privacy.id_hash_key,
        "FIELDCHECK_AUDIT_KEY": settings.audit.checkpoint_key, "FIELDCHECK_JOBS": "false",
        "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "4",
    })
    await processes.start()
    try:
        yield processes
    finally:
        await processes.stop()


@functools.partial(_chaos, examples=max(1, EXAMPLES // 2))  # each restart is a process start: slower
async def test_phones_under_chaos_on_two_server_processes(client, app, two_servers, tmp_path_factory, plans, rng, steps):
    await _scenario(app, client, tmp_path_factory.mktemp("phones"), plans, rng, steps, processes=two_servers)
