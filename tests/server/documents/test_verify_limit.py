"""The public verify endpoints' per-address limit: 429 with Retry-After and a Chinese message, per address."""

from __future__ import annotations

import httpx

from server.documents.verify_limit import VerifyLimiter
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_refills_over_the_minute_and_counts_each_address_apart():
    clock = Clock()
    limiter = VerifyLimiter(6, clock=clock)  # one request every 10 s after the burst
    assert [limiter.wait_s("10.0.0.1") for _ in range(6)] == [0] * 6
    assert limiter.wait_s("10.0.0.1") == 10
    assert limiter.wait_s("10.0.0.2") == 0  # another address has its own bucket
    clock.t += 9.0
    assert limiter.wait_s("10.0.0.1") == 1
    clock.t += 1.0
    assert limiter.wait_s("10.0.0.1") == 0
    assert VerifyLimiter(0, clock=clock).wait_s("10.0.0.1") == 0  # 0 = no limit


def test_forgets_the_least_recently_seen_past_its_bound():
    limiter = VerifyLimiter(1, clock=Clock(), max_clients=3)
    for address in ("a", "b", "c", "d"):
        assert limiter.wait_s(address) == 0
    assert len(limiter._buckets) == 3 and "a" not in limiter._buckets
    assert limiter.wait_s("d") > 0


async def test_public_endpoints_answer_429_with_retry_after(client, app, settings):
    assert app.state.verify_limiter.capacity == settings.documents.verify_per_minute  # the setting is what runs
    await _limited(client, app)


async def test_public_endpoints_are_limited_embedded(sqlite_app):  # noqa: F811
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://embedded.test") as c:
        await _limited(c, sqlite_app)


async def _limited(client, app):
    app.state.verify_limiter = VerifyLimiter(3)
    for _ in range(3):
        assert (await client.get("/api/v1/public/documents/ABCDE-FGHJK")).status_code == 200
    refused = await client.get("/api/v1/public/documents/ABCDE-FGHJK")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["code"] == "rate_limited" and "核验请求过于频繁" in refused.json()["message"]
    upload = await client.post("/api/v1/public/documents/verify", content=b"%PDF-1.7", headers={"content-type": "application/pdf"})
    assert upload.status_code == 429
    # refused before the body is read: an oversized upload is 429, not 413
    oversized = b"%PDF-1.7" + b"0" * app.state.settings.documents.max_verify_bytes
    assert (await client.post("/api/v1/public/documents/verify", content=oversized,
                              headers={"content-type": "application/pdf"})).status_code == 429

    app.state.verify_limiter = VerifyLimiter(2)
    assert (await client.get("/verify/")).status_code == 200
    assert (await client.get("/verify/ABCDE-FGHJK")).status_code == 200
    page = await client.get("/verify/ABCDE-FGHJK")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert int(page.headers["retry-after"]) >= 1 and "核验请求过于频繁" in page.text
    form = await client.post("/verify/", files={"code": (None, "ABCDE-FGHJK")})
    assert form.status_code == 429
