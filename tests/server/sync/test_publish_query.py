"""Publishing the rows a query selects: numbered at commit like any publish, later publishes of a record win."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from server import database
from server.sync import scopes
from server.sync import service as sync_service


class Note(msgspec.Struct):
    n: int


_PG = ("SELECT s.scope, 'note' AS entity_type, s.id AS entity_id, s.payload"
       " FROM unnest($2::text[], $3::uuid[], $4::bytea[]) WITH ORDINALITY AS s(scope, id, payload, o) ORDER BY s.o")


async def _read(keys: list[str]) -> list[tuple]:
    async with database.transaction():
        hw = await sync_service.high_watermark()
        rows, _, more = await sync_service.read(dict.fromkeys(keys, 0), hw, 1000)
    assert not more
    return rows


async def test_query_rows_are_published_numbered_and_replaced_by_a_later_publish(client) -> None:
    keys = [scopes.inspection(uuid.uuid4()) for _ in range(3)]
    ids = [uuid.uuid4() for _ in keys]
    payloads = [msgspec.msgpack.encode(Note(n=n)) for n in range(3)]
    async with database.transaction():
        await sync_service.publish_query(_PG, "", keys, ids, payloads)
        await sync_service.publish("note", ids[1], Note(n=10), scope=keys[1])  # later: it wins
        await sync_service.publish("note", uuid.uuid4(), Note(n=20), scope=keys[2])
    rows = await _read(keys)
    got = {(r[1], r[3]): msgspec.msgpack.decode(r[4], type=Note).n for r in rows}
    assert got[(keys[0], ids[0])] == 0 and got[(keys[1], ids[1])] == 10 and got[(keys[2], ids[2])] == 2
    assert len(rows) == 4
    seqs = [r[0] for r in rows]
    assert seqs == sorted(seqs) and min(seqs) > 0 and len(set(seqs)) == 4


async def test_it_must_come_before_the_transactions_other_publishes(client) -> None:
    key = scopes.inspection(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with database.transaction():
            await sync_service.publish("note", uuid.uuid4(), Note(n=1), scope=key)
            await sync_service.publish_query(_PG, "", [key], [uuid.uuid4()], [b"x"])
    assert await _read([key]) == []
