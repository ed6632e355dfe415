"""Hostile input against the whole app: each answer is a 4xx with a stable code, never a 5xx or a stuck system.

:data:`HOSTILE` lists, in one place, what an outside review sent and what each must now get; the
stateless cases run in :func:`test_each_hostile_request`, the rest in the tests below it (on PostgreSQL
and on the embedded SQLite default). Elsewhere, for the inputs that need their own set-up:

- a gzip push inflating 31 KB to 30 MiB → 413 at once, flat memory: ``tests/server/sync/test_push_bombs.py``;
- a 40-Mpx PNG thumbnail, three at once → a few MB each, two at a time: ``tests/server/evidence/test_thumbnail_memory.py``;
- a month whose statistics recount fails → 503 for that month only: ``tests/server/stats/test_recount_faults.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from schemas.vocab import Role
from tests.conftest import PASSWORD, login, make_user, random_credit_code, username_of
from tests.server.hazards.factories import World, make_phone, make_world, world  # noqa: F401  (world: fixture)
from tests.server.registry.conftest import sqlite_client  # noqa: F401  (fixture)
from tests.server.sync.conftest import Phone
from tests.dates import bureau_today

#: A 2 KB JSON body nested 1000 levels deep (msgspec raises RecursionError on it).
DEEP_JSON = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
NOT_UTF8 = b'{"username": "\xff\xfe\xfd", "password": "x"}'
_JSON = {"content-type": "application/json"}

#: (what was sent, who sends it, method, path, body, expected status, expected code); "{user}" is a real username.
HOSTILE: list[tuple[str, str, str, str, Any, int, str]] = [
    ("JSON nested 1000 levels", "anyone", "POST", "/api/v1/auth/login", DEEP_JSON, 400, "invalid_input"),
    ("object nested 1000 levels", "inspector", "POST", "/api/v1/hazards/", DEEP_OBJECT, 400, "invalid_input"),
    ("invalid UTF-8", "anyone", "POST", "/api/v1/auth/login", NOT_UTF8, 400, "invalid_input"),
    ("NUL in a username", "anyone", "POST", "/api/v1/auth/login", {"username": "a\x00b", "password": "x"}, 400,
     "invalid_input"),
    ("NUL in device_name", "anyone", "POST", "/api/v1/auth/login",
     {"username": "{user}", "password": PASSWORD, "device_id": str(uuid.UUID(int=1)), "device_name": "小米\x00"}, 400,
     "invalid_input"),
    ("NUL in a search parameter", "leader", "GET", "/api/v1/enterprises/?q=%E6%B5%8B%00", None, 400, "invalid_input"),
    ("NUL hidden in a page cursor", "leader", "GET", "/api/v1/enterprises/?cursor="
     + base64.urlsafe_b64encode(b'["a\\u0000", "%s"]' % str(uuid.UUID(int=2)).encode()).decode().rstrip("="), None, 422,
     "invalid_input"),
    ("NUL in a path", "inspector", "GET", "/api/v1/checklists/by-code/a%00b", None, 400, "invalid_input"),
    ("OPTIONS on statistics", "leader", "OPTIONS", "/api/v1/stats/summary", None, 204, ""),
    ("OPTIONS on statistics, anonymous", "anyone", "OPTIONS", "/api/v1/stats/breakdown", None, 204, ""),
    ("HEAD on statistics, anonymous", "anyone", "HEAD", "/api/v1/stats/summary", None, 405, ""),
    ("a query time in year 1", "leader", "GET", "/api/v1/violations/repeat-offenders?since=0001-01-01T00:00:00Z", None,
     422, "date_out_of_range"),
    ("a statistics period in year 1", "leader", "GET", "/api/v1/stats/summary?period=0001", None, 422, "invalid_input"),
]


@pytest.mark.parametrize(("what", "who", "method", "path", "body", "status", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_each_hostile_request(
    client: httpx.AsyncClient, world: World, what: str, who: str, method: str, path: str, body: Any, status: int, code: str
):
    user = {"inspector": world.inspectors[0], "leader": world.leader_id}.get(who)
    headers = await world.headers(user) if user else {}
    if isinstance(body, dict):
        body = msgspec.json.encode(body).replace(b"{user}", (await username_of(world.inspectors[0])).encode())
    response = await client.request(method, path, content=body, headers={**headers, **_JSON})
    assert response.status_code == status, (what, response.text)
    if code:
        assert response.json()["code"] == code, (what, response.text)
    assert "Traceback" not in response.text and "scope" not in response.text, (what, response.text)


def _today() -> dt.date:
    return bureau_today()


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


# ------------------------------------------------------------------ malformed bodies, NUL, methods, ids

async def _malformed_bodies_are_400(client: httpx.AsyncClient, world: World) -> None:
    inspector, supervisor = await world.headers(world.inspectors[0]), await world.headers(world.supervisor_id)
    json_headers = {"content-type": "application/json"}
    for path, headers in (("/api/v1/auth/login", {}), ("/api/v1/hazards/", inspector), ("/api/v1/enterprises/", supervisor)):
        for body in (DEEP_JSON, DEEP_OBJECT, NOT_UTF8):
            response = await client.post(path, content=body, headers={**headers, **json_headers})
            assert response.status_code == 400, (path, body[:20], response.text)
            assert response.json()["code"] == "invalid_input"
    phone = await make_phone(client, world.inspectors[0])
    for body in (DEEP_JSON, DEEP_OBJECT, NOT_UTF8,
                 b'{"device_id": "%s", "mutations": [%s]}' % (str(phone.device_id).encode(), DEEP_JSON),
                 b'{"device_id": "%s", "mutations": [{"seq": 1, "kind": "\xff"}]}' % str(phone.device_id).encode()):
        response = await client.post("/api/v1/sync/push", content=body, headers={**phone.headers, **json_headers})
        assert 400 <= response.status_code < 500, (body[:40], response.text)


async def _nul_is_refused(client: httpx.AsyncClient, world: World) -> None:
    """NUL in any text: a name, a search parameter, a path, a device name."""
    admin_id = await make_user(Role.ADMIN)
    admin = await login(client, await username_of(admin_id))
    inspector = await world.headers(world.inspectors[0])
    enterprise = {"credit_code": random_credit_code(), "name": "测试\x00企业", "sector": "industry_trade",
                  "district": "shapotou", "address": "中卫市沙坡头区", "risk_grade": "B",
                  "standardization_level": "level_3", "major_hazard_source": False, "operating_status": "operating"}
    refused = [
        await client.post("/api/v1/enterprises/", json=enterprise, headers=admin),
        await client.get("/api/v1/enterprises/", params={"q": "测试\x00"}, headers=inspector),
        await client.get("/api/v1/enterprises/?q=%00", headers=inspector),
        await client.get("/api/v1/checklists/by-code/a%00b", headers=inspector),
        await client.post("/api/v1/auth/login", json={"username": await username_of(world.inspectors[0]),
                                                      "password": PASSWORD, "device_id": str(uuid.uuid4()),
                                                      "device_name": "小米\x00"}),
        await client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": PASSWORD}),
        await client.post("/api/v1/hazards/", json=hazard_body(await world.inspection(), location="\x00"), headers=inspector),
    ]
    for response in refused:
        assert response.status_code in (400, 422), (response.request.url, response.text)
        assert response.json()["code"] == "invalid_input", response.text
    assert (await client.get("/api/v1/enterprises/", params={"q": "测试"}, headers=inspector)).status_code == 200


async def _options_and_duplicates(client: httpx.AsyncClient, app: Any, world: World) -> None:
    leader = await world.headers(world.leader_id)
    for route in app.routes:
        path = re.sub(r"\{[^}:]+:uuid\}", str(uuid.uuid4()), route.path)
        path = re.sub(r"\{[^}:]+:int\}", "1", re.sub(r"\{[^}:]+(:str|:path)?\}", "x", path))
        for method, headers in (("OPTIONS", {}), ("OPTIONS", leader), ("HEAD", {}), ("HEAD", leader)):
            response = await client.request(method, path, headers=headers)
            assert response.status_code < 500, (path, response.status_code, response.text)
            assert "Traceback" not in response.text and "Error" not in response.text, (path, response.text)

    supervisor = await world.headers(world.supervisor_id)
    body = {"id": str(uuid.uuid4()), "enterprise_id": str(world.enterprise_id), "template_id": str(world.template_id),
            "inspector_ids": [str(world.inspectors[0])]}
    assert (await client.post("/api/v1/inspections/", json=body, headers=supervisor)).status_code == 201
    again = await client.post("/api/v1/inspections/", json=body, headers=supervisor)
    assert again.status_code == 409 and again.json()["code"] == "duplicate", again.text


async def _bad_kinds_reject_one_mutation(client: httpx.AsyncClient, world: World) -> None:
    inspection = await world.inspection()
    phone = await make_phone(client, world.inspectors[0])
    good = hazard_body(inspection)
    response = await _push_json(phone, [
        {"kind": "k" * 10_000, "seq": 1},
        {"kind": "add_hazard\x00", "seq": 2, "hazard": hazard_body(inspection)},
        {"kind": "add_hazard", "seq": 3, "hazard": good},
    ])
    assert response.status_code == 200, response.text
    outcomes = response.json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["rejected", "rejected", "applied"], outcomes
    assert all(o["code"] == "invalid_input" and len(o["message"]) < 500 and "\x00" not in o["message"]
               for o in outcomes[:2]), outcomes
    # The retry gets the stored answers back (the bad kinds were stored without their text).
    retried = await _push_json(phone, [{"kind": "k" * 10_000, "seq": 1}, {"kind": "add_hazard", "seq": 3, "hazard": good}])
    assert [o["outcome"] for o in retried.json()["outcomes"]] == ["rejected", "applied"], retried.text


async def test_hostile_bodies_on_postgres(client: httpx.AsyncClient, app, world: World):
    await _malformed_bodies_are_400(client, world)
    await _nul_is_refused(client, world)
    await _options_and_duplicates(client, app, world)
    await _bad_kinds_reject_one_mutation(client, world)


async def test_hostile_bodies_on_sqlite(sqlite_client: httpx.AsyncClient):  # noqa: F811
    world = await make_world(sqlite_client)
    await _malformed_bodies_are_400(sqlite_client, world)
    await _nul_is_refused(sqlite_client, world)
    await _bad_kinds_reject_one_mutation(sqlite_client, world)
