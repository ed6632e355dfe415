"""A gzip push is inflated against a bound: a bomb is refused at once, before anything is decoded."""

from __future__ import annotations

import gzip
import time
import tracemalloc

import httpx
import msgspec

from tests.conftest import app_of
from tests.server.sync.conftest import Team, make_phone, team  # noqa: F401 (fixture)


async def test_a_gzip_bomb_push_is_413_with_flat_memory(client: httpx.AsyncClient, team: Team) -> None:  # noqa: F811
    phone = await make_phone(client, team.inspectors[0])
    # 30 MiB of empty mutations in 31 KB: what the review sent (it grew the server by 1.1 GB).
    head = b'{"device_id": "%s", "mutations": [' % str(phone.device_id).encode()
    inflated = head + b",".join([b"{}"] * (10 * 1024 * 1024)) + b"]}"
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 64 * 1024 and len(inflated) > 20 * 1024 * 1024
    headers = {**phone.headers, "content-type": "application/json", "content-encoding": "gzip"}

    tracemalloc.start()
    try:
        started = time.monotonic()
        response = await client.post("/api/v1/sync/push", content=bomb, headers=headers)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert peak < 4 * app_of(client).state.settings.sync.max_push_bytes, f"peak {peak / 2**20:.0f} MiB"
    assert elapsed < 5, elapsed

    # A push just under the bound still inflates and is answered.
    fine = head + b"]}"
    response = await client.post("/api/v1/sync/push", content=gzip.compress(fine), headers=headers)
    assert response.status_code == 200, response.text
    assert msgspec.json.decode(response.content)["outcomes"] == []
