"""Hostile input against the whole app: each answer is a 4xx with a stable code, never a 5xx or a stuck system.

The table :data:`HOSTILE` lists what an outside review sent (and what it found answered 500); the
tests below it send each case through the real HTTP app, on PostgreSQL and on the embedded SQLite default.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from tests.server.hazards.factories import World, make_phone, make_world, world  # noqa: F401  (world: fixture)
from tests.server.registry.conftest import sqlite_client  # noqa: F401  (fixture)
from tests.server.sync.conftest import Phone

MSGPACK = "application/msgpack"


def _today() -> dt.date:
    return dt.date.today()


def hazard_body(inspection_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "inspection_id": str(inspection_id), "level": "general",
            "description": "消防通道堆放杂物", "deadline_date": (_today() + dt.timedelta(days=7)).isoformat(), **extra}


#: Dates and times no person could mean, for each field kind: (field, value).
IMPLAUSIBLE_HAZARD_FIELDS = [
    ("found_at", "0001-01-01T00:00:00Z"),
    ("found_at", "1970-01-01T00:00:00Z"),
    ("found_at", (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()),
    ("deadline_date", "0001-01-01"),
    ("deadline_date", "9999-12-31"),
]


async def _push_json(phone: Phone, mutations: list[dict[str, Any]]) -> httpx.Response:
    body = msgspec.json.encode({"device_id": str(phone.device_id), "mutations": mutations})
    return await phone.client.post("/api/v1/sync/push", content=body,
                                   headers={**phone.headers, "content-type": "application/json"})


async def _dates_are_bounded(client: httpx.AsyncClient, world: World) -> None:
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    for name, value in IMPLAUSIBLE_HAZARD_FIELDS:
        response = await client.post("/api/v1/hazards/", json=hazard_body(inspection, **{name: value}), headers=inspector)
        assert response.status_code == 422, (name, value, response.text)
        assert response.json()["code"] == "date_out_of_range" and response.json()["field"] == name, response.text
    # Inside the range all is well, at both ends.
    fine = hazard_body(inspection, found_at="2000-01-01T00:00:00Z")
    assert (await client.post("/api/v1/hazards/", json=fine, headers=inspector)).status_code == 201

    # Over sync: only the mutation with the year-0001 time is refused; the one after it is applied.
    phone = await make_phone(client, world.inspectors[0])
    bad, good = hazard_body(inspection, found_at="0001-01-01T00:00:00Z"), hazard_body(inspection)
    response = await _push_json(phone, [{"kind": "add_hazard", "seq": 1, "hazard": bad},
                                        {"kind": "add_hazard", "seq": 2, "hazard": good}])
    assert response.status_code == 200, response.text
    first, second = response.json()["outcomes"]
    assert (first["outcome"], first["code"], first["field"]) == ("rejected", "date_out_of_range", "hazard.found_at")
    assert second["outcome"] == "applied"
    listed = (await client.get("/api/v1/hazards/", headers=inspector)).json()
    assert {h["id"] for h in listed} == {fine["id"], good["id"]}


async def test_dates_and_times_are_bounded_on_postgres(client: httpx.AsyncClient, world: World):
    await _dates_are_bounded(client, world)
    # What the review saw: statistics stay readable for everyone after the attempt.
    leader = await world.headers(world.leader_id)
    assert (await client.get("/api/v1/stats/summary", headers=leader)).status_code == 200


async def test_dates_and_times_are_bounded_on_sqlite(sqlite_client: httpx.AsyncClient):  # noqa: F811
    await _dates_are_bounded(sqlite_client, await make_world(sqlite_client))
