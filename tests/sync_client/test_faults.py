"""Several phones over a misbehaving network: nothing lost, nothing applied twice, every replica converges.

Hypothesis draws what each inspector records, when each phone syncs (alone or
all at once) and which faults hit each request: dropped requests, dropped or
garbled responses, duplicated and late copies of requests, delays and server
restarts (see ``faults.py``). After the faults stop and every phone has synced
cleanly, the server must hold each recorded mutation exactly once and each
phone's replica must equal the server's view of that phone's scope.
"""

from __future__ import annotations

import asyncio
import uuid

import msgspec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.app import create_app
from server.audit.tables import AuditEntry
from server.inspections.tables import InspectionAmendment, ItemResult
from server.sync.pull import scopes_for
from server.sync.tables import Change, DeviceMutation
from sync_client import RetryPolicy, SyncClient
from sync_client._protocol import record_decoder
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, truncate_all, username_of
from tests.server.sync.conftest import make_template
from tests.sync_client.faults import FAULTS, FaultyTransport

KINDS = ("inspection", "item_result", "item_result_conflict", "amendment")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("item"), st.integers(0, 2), st.integers(0, 3), st.sampled_from(["pass", "fail"]),
                  st.sampled_from([None, "隐患", "整改"])),
        st.tuples(st.just("note"), st.integers(0, 2)),
        st.tuples(st.just("start"), st.integers(0, 2)),
        st.tuples(st.just("sync"), st.integers(0, 2)),
        st.tuples(st.just("sync_all"),),
    ),
    min_size=1,
    max_size=20,
)


async def _server_view(user_id: uuid.UUID, device_id: uuid.UUID) -> dict[str, list[dict]]:
    """What the server says this user's phone should hold: live change rows in the user's scopes."""
    keys = await scopes_for(Actor(user_id=user_id, role=Role.INSPECTOR, device_id=device_id))
    rows = await Change.select(Change.entity_type, Change.entity_id, Change.payload).where(
        Change.scope.is_in(sorted(keys)), Change.payload.is_not_null()
    )
    view: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
    for row in rows:
        if row["entity_type"] in view:
            view[row["entity_type"]][str(row["entity_id"])] = record_decoder(row["entity_type"])(row["payload"])
    return {k: [v[i] for i in sorted(v)] for k, v in view.items()}


# No shrinking: each example is a full multi-phone scenario, and a failing one is printed as drawn.
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data(), steps=ops)
async def test_exactly_once_and_convergence_under_network_faults(client, app, tmp_path_factory, data, steps):
    await truncate_all()
    department = await make_department()
    supervisor = await make_user(Role.SUPERVISOR, department_id=department)
    inspectors = [await make_user(Role.INSPECTOR, department_id=department) for _ in range(3)]
    template, items = await make_template(4)
    enterprise = await make_enterprise()
    headers = await login(client, await username_of(supervisor))
    shared = (await client.post("/api/v1/inspections/", headers=headers, json={
        "enterprise_id": str(enterprise), "template_id": str(template),
        "inspector_ids": [str(inspectors[0]), str(inspectors[1])]})).json()["id"]
    alone = (await client.post("/api/v1/inspections/", headers=headers, json={
        "enterprise_id": str(enterprise), "template_id": str(template), "inspector_ids": [str(inspectors[2])]})).json()["id"]
    inspection_of = [uuid.UUID(shared), uuid.UUID(shared), uuid.UUID(alone)]

    engine = database.get_engine()

    async def restart() -> None:
        await engine.close_connection_pool()
        await engine.start_connection_pool(min_size=1, max_size=10)

    folder = tmp_path_factory.mktemp("phones")
    transports = [FaultyTransport(lambda: create_app(app.state.settings), restart, []) for _ in inspectors]
    phones = [
        SyncClient("http://fieldcheck.test", folder / f"p{n}.sqlite3", transport=t,
                   retry=RetryPolicy(attempts=4), sleep=lambda s: asyncio.sleep(0))
        for n, t in enumerate(transports)
    ]
    for p in phones:
        await p.__aenter__()
    try:
        for p, user in zip(phones, inspectors, strict=True):
            await p.login(await username_of(user), PASSWORD)
        for t in transports:
            t.plan = data.draw(st.lists(st.sampled_from(FAULTS), max_size=15), label="faults")
        notes: list[uuid.UUID] = []
        item_writes = 0
        for step in steps:
            if step[0] == "item":
                _, who, item, outcome, note = step
                kwargs = {"outcome": outcome} if note is None else {"outcome": outcome, "note": note}
                await phones[who].record_item_result(inspection_of[who], items[item], **kwargs)
                item_writes += 1
            elif step[0] == "note":
                notes.append(await phones[step[1]].add_note(inspection_of[step[1]], f"记录{len(notes)}"))
            elif step[0] == "start":
                await phones[step[1]].start_inspection(inspection_of[step[1]])
            elif step[0] == "sync":
                await phones[step[1]].sync()
            else:
                await asyncio.gather(*(p.sync() for p in phones))

        for t in transports:  # the network heals
            t.plan = []
            await t.settle()
        for _ in range(2):
            for p in phones:
                report = await p.sync()
                assert report.complete, report.error

        # exactly once: every mutation each phone recorded has one stored outcome, and its effect happened once
        for p in phones:
            recorded = p.store.get_meta("next_seq") - 1
            assert (await p.status()).pending_mutations == 0
            seqs = [r["seq"] for r in await DeviceMutation.select(DeviceMutation.seq).where(DeviceMutation.device == p.device_id)]
            assert sorted(seqs) == list(range(1, recorded + 1))
        stored_notes = {r["id"] for r in await InspectionAmendment.select(InspectionAmendment.id)}
        assert stored_notes == set(notes)
        assert await AuditEntry.count().where(AuditEntry.action == "inspection.note") == len(notes)
        audited = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "inspection.item_results").output(
            load_json=True
        )
        assert sum(len(entry["changes"]["results"]) for entry in audited) == item_writes
        rejected = [o for p in phones for o in (await p.status()).rejections]
        assert rejected == []

        # convergence: each replica is the server's view of that phone's scope, and the feed matches the tables
        for p, user in zip(phones, inspectors, strict=True):
            view = await _server_view(user, p.device_id)
            for kind in KINDS:
                assert await p.records(kind) == view[kind], kind
        for row in await ItemResult.select():
            [published] = await Change.select(Change.payload).where(Change.entity_id == row["id"])
            fed = msgspec.msgpack.decode(published["payload"])
            assert (fed["outcome"], fed.get("note", ""), fed.get("version", 1)) == (row["outcome"], row["note"], row["version"])
    finally:
        for t in transports:
            t.plan = []
            await t.settle()
        for p in phones:
            await p.__aexit__(None, None, None)
