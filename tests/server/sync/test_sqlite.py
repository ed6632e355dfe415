"""The same protocol on the embedded SQLite engine: push dedupe, rejection, conflicts, paged pull, feed order."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec

from schemas import sync as wire
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.inspections.tables import ItemResult, ItemResultConflict
from server.sync import scopes
from server.sync import service as sync_service
from server.sync.pull import pull
from server.sync.tables import DeviceMutation
from sync_client import SyncClient
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, username_of
from tests.server.sync.conftest import make_template


async def test_two_phones_on_sqlite(sqlite_app, tmp_path):
    assert not database.is_postgres()
    department = await make_department()
    supervisor = await make_user(Role.SUPERVISOR, department_id=department)
    a_user, b_user = [await make_user(Role.INSPECTOR, department_id=department) for _ in range(2)]
    template, items = await make_template(3)
    enterprise = await make_enterprise()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://embedded.test") as http:
        headers = await login(http, await username_of(supervisor))
        created = await http.post("/api/v1/inspections/", headers=headers, json={
            "enterprise_id": str(enterprise), "template_id": str(template),
            "inspector_ids": [str(a_user), str(b_user)]})
        assert created.status_code == 201, created.text
        inspection = uuid.UUID(created.json()["id"])

    def phone(name):
        return SyncClient("http://embedded.test", tmp_path / f"{name}.sqlite3", transport=httpx.ASGITransport(app=sqlite_app),
                          pull_limit=2)

    async with phone("a") as a, phone("b") as b:
        await a.login(await username_of(a_user), PASSWORD)
        await b.login(await username_of(b_user), PASSWORD)
        await a.sync()
        await b.sync()
        await a.record_item_result(inspection, items[0], outcome="pass")
        await a.record_item_result(inspection, uuid.uuid4(), outcome="fail")  # not on the checklist
        await a.record_item_result(inspection, items[1], outcome="fail", note="安全标识缺失")
        await b.record_item_result(inspection, items[0], outcome="fail")
        seen: list[int] = []
        ra, rb = await a.sync(), await b.sync(progress=lambda report: seen.append(report.pulled))
        # pages of 2: told after each stored page, the count growing to what the sync reports
        assert len(seen) > 1 and seen == sorted(set(seen)) and seen[-1] == rb.pulled, (seen, rb.pulled)
        assert ra.complete and (ra.pushed, ra.rejected) == (3, 1)
        assert rb.complete and rb.conflicts == 1
        [kept] = (await b.status()).conflicts  # the phone is told, with both sides
        assert kept.field == "outcome" and kept.detail["server_record"]["outcome"] == "pass"
        await a.sync()
        assert await a.records("item_result") == await b.records("item_result")
        assert len(await a.records("item_result_conflict")) == 1
        assert await ItemResult.count() == 2 and await ItemResultConflict.count() == 1
        assert await DeviceMutation.count() == 4  # one stored outcome per mutation, rejected one included


async def test_feed_order_on_sqlite_with_overlapping_writers(sqlite_app):
    reader = Actor(user_id=uuid.uuid4(), role=Role.INSPECTOR)
    scope = scopes.user(reader.user_id)

    class Thing(msgspec.Struct):
        n: int

    published: list[uuid.UUID] = []

    async def write(n: int) -> None:
        async with database.transaction():
            entity = uuid.uuid4()
            await sync_service.publish("thing", entity, Thing(n=n), scope=scope)
            await asyncio.sleep(0.001 * (n % 3))
        published.append(entity)

    seen: list[uuid.UUID] = []
    cursors: dict[str, int] = {}

    async def read_all() -> None:
        nonlocal cursors
        while True:
            async with database.transaction():
                page = await pull(sqlite_app.state.context, sqlite_app.state.sync_registry, reader,
                                  wire.PullRequest(device_id=uuid.uuid4(), cursors=cursors, limit=3))
            seen.extend(c.entity_id for c in page.changes)
            cursors = page.cursors
            if not page.has_more:
                return

    for round_ in range(4):
        await asyncio.gather(*(write(round_ * 10 + n) for n in range(8)), read_all())
    await read_all()
    assert len(seen) == len(set(seen)) and set(seen) == set(published)
