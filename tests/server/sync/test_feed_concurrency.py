"""The change feed under overlapping writers: a reader pulling all along misses nothing and sees nothing twice.

Writers open transactions at staggered times, publish, dawdle, and commit in
a different order than they started (one long transaction starts first and
commits last). A reader pulls small pages the whole time. Positions are
handed out only by settles, one at a time under the chain lock, after the
commits they number, so a page can never be cut above a position whose
transaction is still open.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import msgspec

from schemas import sync as wire
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.sync import scopes
from server.sync import service as sync_service
from server.sync.pull import pull


class Thing(msgspec.Struct):
    n: int


async def test_overlapping_writers_and_a_pulling_reader(app, client):
    reader = Actor(user_id=uuid.uuid4(), role=Role.INSPECTOR)
    scope = scopes.user(reader.user_id)
    rng = random.Random(7)
    published: list[uuid.UUID] = []
    done = asyncio.Event()

    async def write(batch: int, dawdle: float) -> None:
        async with database.transaction():
            ids = [uuid.uuid4() for _ in range(3)]
            for n, entity_id in enumerate(ids):
                await sync_service.publish("thing", entity_id, Thing(n=batch * 10 + n), scope=scope)
            await asyncio.sleep(dawdle)
        published.extend(ids)

    async def writer(w: int) -> None:
        for b in range(12):
            await asyncio.sleep(rng.random() * 0.01)
            await write(w * 100 + b, rng.random() * 0.02)

    async def long_writer() -> None:
        await write(9999, 0.6)  # starts first, commits after many others

    seen: list[uuid.UUID] = []
    last_seq = 0

    async def read() -> None:
        nonlocal last_seq
        cursors: dict[str, int] = {}
        while True:
            finished = done.is_set()
            async with database.transaction():
                page = await pull(app.state.context, app.state.sync_registry, reader,
                                  wire.PullRequest(device_id=uuid.uuid4(), cursors=cursors, limit=5))
            for change in page.changes:
                assert isinstance(change, wire.Put)
                assert change.seq > last_seq  # positions only ever grow
                last_seq = change.seq
                seen.append(change.entity_id)
            cursors = page.cursors
            if finished and not page.has_more:
                return
            if not page.changes:
                await asyncio.sleep(0.005)

    reading = asyncio.create_task(read())
    await asyncio.gather(long_writer(), *(writer(w) for w in range(8)))
    done.set()
    await reading
    assert len(published) == 3 * (8 * 12 + 1)
    assert len(seen) == len(set(seen)), "an entity arrived twice"
    assert set(seen) == set(published), f"missed {len(set(published) - set(seen))}"
