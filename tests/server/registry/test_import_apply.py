"""How a confirmed import is written: set-based in one transaction, its progress in the database, memory flat, the feed right."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

import httpx
import msgspec
import pytest

from schemas import registry as wire
from schemas.vocab import Role
from server import database
from server.registry import imports
from server.registry import service as registry_service
from server.registry.tables import Enterprise
from server.sync import scopes
from server.sync import service as sync_service
from tests.conftest import login, make_user, username_of
from tests.server.registry.import_files import registry_file

API = "/api/v1/enterprise-imports"


async def _checked(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> dict:
    started = await client.post(API, params={"file_name": "名录.csv"}, content=body, headers=headers)
    assert started.status_code == 202, started.text
    await imports.wait_for([uuid.UUID(started.json()["id"])])
    done = (await client.get(f"{API}/{started.json()['id']}", headers=headers)).json()
    assert done["status"] == "checked", done
    return done


async def feed_matches_the_registry(client: httpx.AsyncClient, headers: dict[str, str], expected: int) -> None:
    """Every imported enterprise is in its own sync scope, as the API returns it (what a phone would store)."""
    listed = (await client.get("/api/v1/enterprises/", params={"limit": 200}, headers=headers)).json()["items"]
    assert listed
    async with database.transaction():
        hw = await sync_service.high_watermark()
        page, _, more = await sync_service.read({scopes.enterprise(e["id"]): 0 for e in listed}, hw, 1000)
    assert not more and len(page) == len(listed)
    by_id = {str(row[3]): msgspec.msgpack.decode(row[4], type=wire.Enterprise) for row in page}
    for item in listed:
        assert msgspec.to_builtins(by_id[item["id"]]) == item
    assert hw >= expected


async def test_the_feed_carries_each_imported_enterprise_as_the_api_shows_it(client: httpx.AsyncClient) -> None:
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    done = await _checked(client, admin, registry_file(150, salt=61).csv())
    await client.post(f"{API}/{done['id']}/confirm", headers=admin)
    await imports.wait_for([uuid.UUID(done["id"])])
    assert (await client.get(f"{API}/{done['id']}", headers=admin)).json()["status"] == "applied"
    await feed_matches_the_registry(client, admin, done["good_rows"])


async def test_the_progress_of_an_apply_is_in_the_database_while_nothing_is_registered(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another server process reads only the database: the count the page polls must be there, committed."""
    monkeypatch.setattr(imports, "APPLY_CHUNK", 300)
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    done = await _checked(client, admin, registry_file(1000, salt=62, bad=False).csv())
    reached, release = asyncio.Event(), asyncio.Event()
    real = registry_service.create_imported

    async def held(*args: object) -> None:  # the last step waits until the test has looked
        reached.set()
        await release.wait()
        await real(*args)

    monkeypatch.setattr(registry_service, "create_imported", held)
    await client.post(f"{API}/{done['id']}/confirm", headers=admin)
    await asyncio.wait_for(reached.wait(), 30)
    seen = (await client.get(f"{API}/{done['id']}", headers=admin)).json()
    assert (seen["status"], seen["applied_rows"]) == ("applying", 1000)
    assert await Enterprise.count() == 0  # all or nothing: none registered before the one transaction commits
    release.set()
    await imports.wait_for([uuid.UUID(done["id"])])
    final = (await client.get(f"{API}/{done['id']}", headers=admin)).json()
    assert (final["status"], final["applied_rows"]) == ("applied", 1000) and await Enterprise.count() == 1000


async def _peaks(client: httpx.AsyncClient, headers: dict[str, str], rows: int, salt: int) -> tuple[int, int]:
    """tracemalloc peaks (bytes) of the check and of the apply of a file of ``rows`` good rows."""
    body = registry_file(rows, salt=salt, bad=False).csv()  # the test's own data, made before tracing
    tracemalloc.start()
    try:
        done = await _checked(client, headers, body)
        check_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        await client.post(f"{API}/{done['id']}/confirm", headers=headers)
        await imports.wait_for([uuid.UUID(done["id"])])
        apply_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (await client.get(f"{API}/{done['id']}", headers=headers)).json()["applied_rows"] == rows
    return check_peak, apply_peak


async def test_memory_does_not_grow_with_the_file(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await _flat_memory(client, monkeypatch)


@pytest.mark.sqlite
async def test_memory_does_not_grow_with_the_file_on_sqlite(sqlite_client: httpx.AsyncClient, monkeypatch) -> None:
    await _flat_memory(sqlite_client, monkeypatch)


async def _flat_memory(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "APPLY_CHUNK", 500)
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    small = await _peaks(client, admin, 500, salt=63)
    large = await _peaks(client, admin, 5000, salt=64)
    # Ten times the rows, about the same peak: one chunk at a time (the apply used to hold ~2 KiB a row, +9 MiB
    # here); the check keeps only each credit code seen (for duplicates within the file).
    assert large[0] < small[0] * 1.5 + 512 * 1024, (small, large)
    assert large[1] < small[1] * 1.5 + 512 * 1024, (small, large)


async def test_a_code_repeated_chunks_apart_is_found_in_the_rows_staged_before(client: httpx.AsyncClient) -> None:
    """The check keeps no code in memory: a repeat 1,100 rows later is found among the staged rows."""
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    sheet = registry_file(1200, salt=65, bad=False)
    sheet.rows[1100][0] = sheet.rows[0][0]  # file row 1102 repeats row 2
    sheet.rows[5][3] = "银川市"  # row 7 is refused for its district: its (valid) code is no one's first
    sheet.rows[1150][0] = sheet.rows[5][0]  # so row 1152 with the same code is good
    done = await _checked(client, admin, sheet.csv())
    assert (done["good_rows"], done["bad_rows"]) == (1198, 2)
    refused = (await client.get(f"{API}/{done['id']}/rows", params={"ok": "false"}, headers=admin)).json()["items"]
    by_row = {r["row_number"]: r["errors"][0]["message"] for r in refused}
    assert by_row[1102] == "与第 2 行的统一社会信用代码重复" and "银川市" in by_row[7]
