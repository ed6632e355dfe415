"""Fixtures for sync tests: a checklist, an enterprise, a team with phones, and push/pull helpers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from schemas import sync as wire
from schemas.vocab import Role, Sector
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from tests.conftest import login, make_department, make_enterprise, make_user, username_of

MSGPACK = "application/msgpack"


@dataclass
class Phone:
    """One logged-in device of one user, talking raw protocol to the app."""

    client: httpx.AsyncClient
    user_id: uuid.UUID
    device_id: uuid.UUID
    headers: dict[str, str]
    next_seq: int = 1

    def seq(self) -> int:
        value, self.next_seq = self.next_seq, self.next_seq + 1
        return value

    async def push_raw(self, mutations: list[Any], *, content_type: str = MSGPACK) -> httpx.Response:
        encode = msgspec.msgpack.encode if content_type == MSGPACK else msgspec.json.encode
        request = wire.PushRequest(device_id=self.device_id, mutations=[msgspec.Raw(encode(m)) for m in mutations])
        return await self.client.post(
            "/api/v1/sync/push", content=encode(request),
            headers={**self.headers, "content-type": content_type, "accept": content_type},
        )

    async def push(self, mutations: list[Any]) -> list[wire.Outcome]:
        response = await self.push_raw(mutations)
        assert response.status_code == 200, response.text
        return msgspec.msgpack.decode(response.content, type=wire.PushResponse).outcomes

    async def pull(self, cursors: dict[str, int] | None = None, *, limit: int = 2000) -> wire.PullResponse:
        body = msgspec.msgpack.encode(wire.PullRequest(device_id=self.device_id, cursors=cursors or {}, limit=limit))
        response = await self.client.post(
            "/api/v1/sync/pull", content=body, headers={**self.headers, "content-type": MSGPACK, "accept": MSGPACK}
        )
        assert response.status_code == 200, response.text
        return msgspec.msgpack.decode(response.content, type=wire.PullResponse)

    async def pull_all(self, cursors: dict[str, int] | None = None, *, limit: int = 2000) -> tuple[dict, dict[str, int]]:
        """Pull until caught up; the replica as {(type, id): record} (dropping removed/dropped ones) and cursors."""
        cursors = dict(cursors or {})
        held: dict[tuple[str, str, str], Any] = {}
        while True:
            page = await self.pull(cursors, limit=limit)
            for scope in page.dropped_scopes:
                held = {k: v for k, v in held.items() if k[0] != scope}
            for change in page.changes:
                key = (change.scope, change.entity_type, str(change.entity_id))
                if isinstance(change, wire.Put):
                    held[key] = msgspec.msgpack.decode(change.record)
                else:
                    held.pop(key, None)
            cursors = page.cursors
            if not page.has_more:
                break
        return {(k[1], k[2]): v for k, v in held.items()}, cursors


def answers(phone: Phone, inspection_id: uuid.UUID, items: list[uuid.UUID], outcome: str = "pass") -> list[Any]:
    """One result per item, as a phone records them: what a check needs before it can be submitted."""
    from schemas.inspections import RecordItemResult

    return [RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection_id, item_id=i, outcome=outcome)
            for i in items]


async def make_template(n_items: int = 5) -> tuple[uuid.UUID, list[uuid.UUID]]:
    now = dt.datetime.now(dt.UTC)
    template_id = uuid.uuid4()
    await ChecklistTemplate.insert(
        ChecklistTemplate(id=template_id, code=f"t-{template_id.hex[:6]}", version=1, sector=Sector.INDUSTRY_TRADE,
                          title="工贸企业安全检查表", created_at=now)
    )
    items = [uuid.uuid4() for _ in range(n_items)]
    await ChecklistItem.insert(
        *[ChecklistItem(id=i, template=template_id, position=n, code=f"{n + 1}", text=f"检查项{n + 1}")
          for n, i in enumerate(items)]
    )
    return template_id, items


async def make_phone(client: httpx.AsyncClient, user_id: uuid.UUID) -> Phone:
    device_id = uuid.uuid4()
    headers = await login(client, await username_of(user_id), device_id=device_id)
    return Phone(client, user_id, device_id, headers)


@dataclass
class Team:
    department_id: uuid.UUID
    supervisor: dict[str, str]
    supervisor_id: uuid.UUID
    enterprise_id: uuid.UUID
    template_id: uuid.UUID
    items: list[uuid.UUID]
    inspectors: list[uuid.UUID]

    async def assign(self, client: httpx.AsyncClient, inspectors: list[uuid.UUID] | None = None, **extra: Any) -> uuid.UUID:
        body = {"enterprise_id": str(self.enterprise_id), "template_id": str(self.template_id),
                "inspector_ids": [str(i) for i in (inspectors or self.inspectors)], **extra}
        response = await client.post("/api/v1/inspections/", json=body, headers=self.supervisor)
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])


@pytest.fixture
async def team(client: httpx.AsyncClient) -> Team:
    department = await make_department()
    supervisor_id = await make_user(Role.SUPERVISOR, department_id=department)
    inspectors = [await make_user(Role.INSPECTOR, department_id=department) for _ in range(2)]
    template_id, items = await make_template(5)
    return Team(
        department_id=department,
        supervisor=await login(client, await username_of(supervisor_id)),
        supervisor_id=supervisor_id,
        enterprise_id=await make_enterprise(),
        template_id=template_id,
        items=items,
        inspectors=inspectors,
    )


@pytest.fixture
async def sqlite_app(app, tmp_path):
    """The app on a fresh embedded SQLite database; the PostgreSQL engine is restored afterwards."""
    from server import database
    from server.app import create_app
    from tests.conftest import make_settings

    embedded = create_app(make_settings(tmp_path / "embedded"))
    await database.start(embedded.state.settings)
    try:
        yield embedded
    finally:
        await database.stop()
        database.activate(app.state.engine)
