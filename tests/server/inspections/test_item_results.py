"""Item results merge field by field; same-field conflicts between inspectors are kept for a supervisor."""

from __future__ import annotations

import uuid

from schemas import sync as wire
from schemas.inspections import RecordItemResult
from server.inspections.tables import ItemResult, ItemResultConflict
from tests.server.sync.conftest import make_phone, team  # noqa: F401  (fixture)


async def test_different_fields_from_the_same_base_merge_without_conflict(client, team):
    inspection = await team.assign(client)
    a, b = [await make_phone(client, u) for u in team.inspectors]
    item = team.items[0]
    [first] = await a.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass")])
    base = first.version
    [x] = await a.push([RecordItemResult(seq=2, id=uuid.uuid4(), inspection_id=inspection, item_id=item, base_version=base,
                                         outcome="fail")])
    [y] = await b.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, base_version=base,
                                         note="安全出口堵塞")])
    assert isinstance(x, wire.Applied) and isinstance(y, wire.Applied)
    row = await ItemResult.select().where(ItemResult.inspection == inspection).first()
    assert (row["outcome"], row["note"]) == ("fail", "安全出口堵塞")
    assert await ItemResultConflict.count() == 0


async def test_same_field_different_values_keeps_both_and_tells_the_phone(client, team):
    inspection = await team.assign(client)
    a, b = [await make_phone(client, u) for u in team.inspectors]
    item = team.items[1]
    # Both were offline and recorded the same item without having seen each other's record.
    [x] = await a.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass")])
    [y] = await b.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="fail",
                                         note="配电箱无防护")])
    assert isinstance(x, wire.Applied)
    assert isinstance(y, wire.Conflict)
    assert y.fields == ["outcome"] and y.server_record["outcome"] == "pass"
    row = await ItemResult.select().where(ItemResult.inspection == inspection).first()
    assert (row["outcome"], row["note"]) == ("pass", "配电箱无防护")  # the note merged, the outcome waits
    [conflict] = await ItemResultConflict.select().output(load_json=True)
    assert (conflict["server_value"], conflict["client_value"], conflict["client_user"]) == ("pass", "fail", b.user_id)

    listed = await client.get("/api/v1/item-result-conflicts/", headers=team.supervisor)
    assert [c["id"] for c in listed.json()] == [str(y.conflict_ids[0])]
    decided = await client.post(f"/api/v1/item-result-conflicts/{y.conflict_ids[0]}/resolve",
                                json={"choose": "client", "reason": "现场照片显示不合格"}, headers=team.supervisor)
    assert decided.status_code == 200, decided.text
    row = await ItemResult.select().where(ItemResult.inspection == inspection).first()
    assert row["outcome"] == "fail"
    assert (await client.get("/api/v1/item-result-conflicts/", headers=team.supervisor)).json() == []
    # an inspector cannot decide
    inspector_headers = a.headers
    refused = await client.post(f"/api/v1/item-result-conflicts/{y.conflict_ids[0]}/resolve",
                                json={"choose": "server"}, headers=inspector_headers)
    assert refused.status_code == 403


async def test_the_same_inspector_writing_twice_offline_is_not_a_conflict(client, team):
    inspection = await team.assign(client)
    a = await make_phone(client, team.inspectors[0])
    item = team.items[2]
    outcomes = await a.push([
        RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass"),
        RecordItemResult(seq=2, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="fail"),
    ])
    assert all(isinstance(o, wire.Applied) for o in outcomes)
    row = await ItemResult.select().where(ItemResult.inspection == inspection).first()
    assert row["outcome"] == "fail" and row["version"] == 2


async def test_equal_values_from_two_inspectors_do_not_conflict(client, team):
    inspection = await team.assign(client)
    a, b = [await make_phone(client, u) for u in team.inspectors]
    item = team.items[3]
    await a.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="fail")])
    [y] = await b.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="fail")])
    assert isinstance(y, wire.Applied)
    assert await ItemResultConflict.count() == 0


async def test_teammates_pushing_the_same_item_at_the_same_moment_lose_nothing(client, team):
    """Concurrent pushes of one item: each merges against the other's commit; the feed matches the table."""
    import asyncio

    import msgspec

    from server.sync.tables import Change

    inspection = await team.assign(client)
    a, b = [await make_phone(client, u) for u in team.inspectors]
    for round_, item in enumerate(team.items):
        results = await asyncio.gather(
            a.push([RecordItemResult(seq=a.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=item,
                                     outcome="pass", note=f"甲{round_}")]),
            b.push([RecordItemResult(seq=b.seq(), id=uuid.uuid4(), inspection_id=inspection, item_id=item,
                                     outcome="fail", note=f"乙{round_}")]),
        )
        kinds = sorted(type(r[0]).__name__ for r in results)
        assert kinds == ["Applied", "Conflict"]  # one wrote first; the other is told, both values kept
    rows = await ItemResult.select().where(ItemResult.inspection == inspection)
    assert len(rows) == len(team.items)
    assert await ItemResultConflict.count() == 2 * len(team.items)  # outcome and note, per item
    for row in rows:
        published = await Change.select(Change.payload).where(Change.entity_type == "item_result")
        fed = {msgspec.msgpack.decode(p["payload"])["id"]: msgspec.msgpack.decode(p["payload"]) for p in published}
        assert set(fed) == {str(r["id"]) for r in rows}  # no record in the feed that the table does not hold
        assert fed[str(row["id"])]["outcome"] == row["outcome"] and fed[str(row["id"])]["note"] == row["note"]


async def test_one_inspector_on_two_devices_from_the_same_base_is_a_conflict(client, team):
    inspection = await team.assign(client)
    a, b = await make_phone(client, team.inspectors[0]), await make_phone(client, team.inspectors[0])
    item = team.items[4]
    [x] = await a.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass")])
    [y] = await b.push([RecordItemResult(seq=1, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="fail")])
    assert isinstance(x, wire.Applied) and isinstance(y, wire.Conflict) and y.fields == ["outcome"]
    [conflict] = await ItemResultConflict.select().output(load_json=True)
    assert (conflict["client_value"], conflict["client_device"]) == ("fail", b.device_id)
    # b, now holding a's version, writes again: that merges
    [z] = await b.push([RecordItemResult(seq=2, id=uuid.uuid4(), inspection_id=inspection, item_id=item,
                                         base_version=x.version, outcome="fail")])
    assert isinstance(z, wire.Applied)
    assert (await ItemResult.select().where(ItemResult.inspection == inspection).first())["outcome"] == "fail"
