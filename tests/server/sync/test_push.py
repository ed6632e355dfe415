"""Push: typed outcomes, exactly-once, isolation of a rejected mutation, atomicity."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import msgspec

from schemas import sync as wire
from schemas.inspections import AddNote, RecordItemResult, StartInspection, SubmitInspection
from server.audit.tables import AuditEntry
from server.inspections.tables import InspectionAmendment, ItemResult
from server.sync.tables import Change, DeviceMutation
from tests.server.sync.conftest import answers, make_phone

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


async def test_one_invalid_mutation_in_the_middle_is_rejected_alone_and_a_retry_applies_nothing_twice(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    stranger_item = uuid.uuid4()
    batch = [
        StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=NOW),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[0], outcome="pass"),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=stranger_item, outcome="fail"),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[1], outcome="fail",
                         note="灭火器过期"),
        AddNote(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, text="现场负责人不在", created_at=NOW),
    ]
    outcomes = await phone.push(batch)
    assert [type(o).__name__ for o in outcomes] == ["Applied", "Applied", "Rejected", "Applied", "Applied"]
    rejected = outcomes[2]
    assert (rejected.seq, rejected.code, rejected.field) == (3, "invalid_input", "item_id")
    assert "检查项" in rejected.message
    assert await ItemResult.count() == 2
    audited = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "inspection.item_results").output(
        load_json=True
    )
    assert sorted(r["seq"] for e in audited for r in e["changes"]["results"]) == [2, 4]  # nothing of seq 3

    audit_before, changes_before = await AuditEntry.count(), await Change.count()
    again = await phone.push(batch)  # the response was lost: the phone sends the same batch again
    assert again == outcomes
    assert await ItemResult.count() == 2
    assert await InspectionAmendment.count() == 1
    assert (await AuditEntry.count(), await Change.count()) == (audit_before, changes_before)
    assert await DeviceMutation.count() == 5


async def test_an_undecodable_mutation_is_rejected_without_failing_the_batch(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    good = AddNote(seq=2, id=uuid.uuid4(), inspection_id=inspection, text="正常记录", created_at=NOW)
    bad = {"kind": "record_item_result", "seq": 1, "id": str(uuid.uuid4()), "inspection_id": str(inspection),
           "item_id": str(team.items[0]), "outcome": "maybe"}
    from_future = {"kind": "teleport_inspector", "seq": 3}
    request = wire.PushRequest(
        device_id=phone.device_id,
        mutations=[msgspec.Raw(msgspec.json.encode(m)) for m in (bad, good, from_future)],
    )
    response = await client.post("/api/v1/sync/push", content=msgspec.json.encode(request),
                                 headers={**phone.headers, "content-type": "application/json"})
    assert response.status_code == 200, response.text
    outcomes = response.json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["rejected", "applied", "rejected"]
    assert outcomes[0]["field"] == "outcome" and outcomes[0]["code"] == "invalid_input"
    assert await InspectionAmendment.count() == 1


async def test_a_push_interrupted_before_commit_leaves_nothing_and_the_retry_applies_all_once(client, team, app):
    """Kill the database session of a push while it waits to commit: nothing of the batch may remain."""
    import asyncpg


    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    batch = [RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass")
             for item in team.items]
    counts = (await ItemResult.count(), await DeviceMutation.count(), await Change.count(), await AuditEntry.count())
    admin = await asyncpg.connect(app.state.settings.database.url)
    holder = await asyncpg.connect(app.state.settings.database.url)  # its transaction would freeze admin's view
    try:
        # The commit moves the batch's feed entries into change_pending: held up there, the push waits at commit.
        await holder.execute("BEGIN; LOCK TABLE change_pending IN EXCLUSIVE MODE")
        task = asyncio.create_task(phone.push_raw(batch))
        for _ in range(200):
            waiting = await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%change_pending%'"
                " AND query LIKE '%COMMIT%' AND pid <> pg_backend_pid() AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.02)
        assert waiting, "the push never reached its commit"
        await admin.execute("SELECT pg_terminate_backend($1)", waiting[0]["pid"])  # the crash
        await holder.execute("ROLLBACK")
        response = await task
        assert response.status_code >= 500
    finally:
        await holder.close()
        await admin.close()
    assert (await ItemResult.count(), await DeviceMutation.count(), await Change.count(), await AuditEntry.count()) == counts

    outcomes = await phone.push(batch)
    assert all(isinstance(o, wire.Applied) for o in outcomes)
    assert await ItemResult.count() == counts[0] + len(team.items)


async def test_a_device_may_only_push_under_its_own_token(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    phone.device_id = uuid.uuid4()
    response = await phone.push_raw([AddNote(seq=1, id=uuid.uuid4(), inspection_id=inspection, text="x", created_at=NOW)])
    assert response.status_code == 403
    assert response.json()["field"] == "device_id"


async def test_an_inspector_not_on_the_team_is_rejected_per_mutation(client, team):
    inspection = await team.assign(client, [team.inspectors[0]])
    outsider = await make_phone(client, team.inspectors[1])
    [outcome] = await outsider.push(
        [RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[0], outcome="fail")]
    )
    assert isinstance(outcome, wire.Rejected) and outcome.code == "not_found"
    assert await ItemResult.count() == 0


async def test_submitted_inspection_is_locked_and_later_edits_become_amendments(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    result_id = uuid.uuid4()
    outcomes = await phone.push([
        RecordItemResult(seq=phone.seq(), id=result_id, inspection_id=inspection, item_id=team.items[0], outcome="pass"),
        *answers(phone, inspection, team.items[1:]),
        SubmitInspection(seq=phone.seq(), inspection_id=inspection, summary="整体良好", signed_by_name="张三", submitted_at=NOW),
        RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=team.items[0], base_version=1,
                         outcome="fail"),
        SubmitInspection(seq=phone.seq(), inspection_id=inspection, submitted_at=NOW),
    ])
    outcomes = outcomes[len(team.items):]
    assert isinstance(outcomes[1], wire.Applied) and outcomes[1].amendment and outcomes[1].entity_type == "amendment"
    assert isinstance(outcomes[2], wire.Rejected) and outcomes[2].code == "state_conflict"
    row = await ItemResult.select().where(ItemResult.id == result_id).first()
    assert row["outcome"] == "pass"  # the signed record is untouched
    amendment = await InspectionAmendment.select().where(InspectionAmendment.id == outcomes[1].entity_id).output(load_json=True).first()
    assert amendment["payload"]["changes"] == {"outcome": "fail"}
