"""Answers that are not the server's: garbled encodings and captive portals come back as network trouble, never raised.

A phone on hotel or enterprise Wi-Fi meets pages that answer 200 with HTML (a captive portal), and a mobile
network can cut or corrupt a gzip body. The library must treat each like a lost answer: ``sync()`` returns a
report (or retries and succeeds), the outbox and the photo queue keep everything, and nothing is counted as
stored on the strength of an answer the API did not give.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from server.accounts.auth import issue_access_token
from server.accounts.policy import Actor
from server.evidence.tables import Evidence
from server.inspections.tables import ItemResult
from schemas.vocab import Role
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.evidence.images import photo
from tests.server.sync.conftest import team  # noqa: F401  (fixture)

PORTAL = "<html><head><title>WLAN 认证</title></head><body>请先登录酒店网络</body></html>"


class Hostile(httpx.AsyncBaseTransport):
    """The app behind a network that answers some requests itself: ``faults`` maps a path prefix to a list of kinds.

    ``portal``   the request never reaches the server; a 200 HTML page answers it
    ``garbled``  the server handles it; its answer arrives as a gzip body that does not inflate
    """

    def __init__(self, app, faults: dict[str, list[str]]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.faults = faults
        self.seen: list[str] = []

    def _next_fault(self, path: str) -> str | None:
        for prefix, kinds in self.faults.items():
            if path.startswith(prefix) and kinds:
                return kinds.pop(0)
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._next_fault(request.url.path)
        self.seen.append(f"{fault or 'ok'} {request.method} {request.url.path}")
        if fault == "portal":
            return httpx.Response(200, headers={"content-type": "text/html; charset=utf-8"},
                                  content=PORTAL.encode(), request=request)
        response = await self._inner.handle_async_request(request)
        await response.aread()
        if fault == "garbled":
            return httpx.Response(200, headers={"content-type": response.headers.get("content-type", ""),
                                                "content-encoding": "gzip"},
                                  stream=httpx.ByteStream(b"\x1f\x8b\x08\x00garbled on the way"), request=request)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)


def phone(app, tmp_path, faults: dict[str, list[str]], *, attempts: int = 3) -> tuple[SyncClient, Hostile]:
    network = Hostile(app, faults)
    client = SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3", transport=network,
                        retry=RetryPolicy(attempts=attempts, base_delay_s=0, max_delay_s=0))
    return client, network


async def test_a_garbled_gzip_answer_is_retried_and_the_push_lands_once(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    sc, network = phone(app, tmp_path, {"/api/v1/sync/push": ["garbled"], "/api/v1/sync/pull": ["garbled"]})
    async with sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.start_inspection(inspection)
        result_id = await sc.record_item_result(inspection, team.items[0], outcome="fail", note="疏散通道堵塞")
        report = await sc.sync()
        assert report.complete, report.error
        assert (await sc.status()).all_synced
    assert "garbled POST /api/v1/sync/push" in network.seen and "garbled POST /api/v1/sync/pull" in network.seen
    assert await ItemResult.count().where(ItemResult.id == result_id) == 1


async def test_a_captive_portal_on_every_sync_call_is_reported_not_raised(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    sc, network = phone(app, tmp_path, {"/api/v1/sync/": ["portal"] * 3})
    async with sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.start_inspection(inspection)
        await sc.record_item_result(inspection, team.items[0], outcome="pass")
        report = await sc.sync()
        assert not report.complete and "unreadable" in report.error
        status = await sc.status()
        assert status.pending_mutations == 2 and not status.auth_required
        report = await sc.sync()  # the portal is gone: everything lands
        assert report.complete and report.pushed == 2, report.error
        assert (await sc.status()).all_synced


@pytest.mark.parametrize("fault", ["portal", "garbled"])
async def test_a_portal_or_a_lost_answer_on_the_token_refresh_keeps_the_login(client, app, team, tmp_path, fault):
    # "garbled": the server rotated the token but its answer is lost, so the phone retries with the rotated
    # token; the server takes it again from this device within the grace period (issue 18, item 7).
    inspection = await team.assign(client, [team.inspectors[0]])
    sc, network = phone(app, tmp_path, {"/api/v1/auth/refresh": [fault]})
    async with sc:
        user = await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        expired = issue_access_token(
            Actor(user_id=uuid.UUID(user["id"]), role=Role.INSPECTOR, device_id=sc.device_id),
            secret=app.state.settings.auth.secret_key, ttl_s=60, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        )
        sc.store.set_meta(access_token=expired)
        await sc.record_item_result(inspection, team.items[0], outcome="pass")
        report = await sc.sync()
        assert not report.complete and ("unreadable" if fault == "portal" else "refresh failed") in report.error
        status = await sc.status()
        assert not status.auth_required and status.pending_mutations == 1  # no login lost, nothing dropped
        report = await sc.sync()  # the real refresh answer arrives now
        assert report.complete, report.error
        assert (await sc.status()).all_synced
    assert f"{fault} POST /api/v1/auth/refresh" in network.seen


async def test_a_portal_answering_the_photo_upload_is_not_taken_for_stored(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    picture = tmp_path / "hazard.jpg"
    picture.write_bytes(photo())
    sc, network = phone(app, tmp_path, {"/api/v1/evidence/blobs/": ["portal"] * 3}, attempts=3)
    async with sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.start_inspection(inspection)
        evidence_id = await sc.attach_photo(inspection, picture, caption="消防栓被遮挡")
        report = await sc.sync()
        assert not report.complete and "unreadable" in report.error
        [upload] = (await sc.status()).uploads
        assert upload.status != "done"  # a 200 from the portal proves nothing about the server's copy
        stored = await Evidence.select(Evidence.status).where(Evidence.id == evidence_id).first()
        assert stored["status"] != "stored"
        await _retry_now(sc)
        report = await sc.sync()
        assert report.complete, report.error
        assert (await sc.status()).all_synced
    stored = await Evidence.select(Evidence.status).where(Evidence.id == evidence_id).first()
    assert stored["status"] == "stored"


async def _retry_now(sc: SyncClient) -> None:
    """Let the photo's backoff run out (the phone's clock moved on)."""
    with sc.store.transaction() as db:
        db.execute("UPDATE upload SET next_attempt_at = 0")


async def test_a_server_taking_fewer_mutations_per_push_than_the_phone_sends_still_gets_everything(
    client, app, team, tmp_path
):
    import dataclasses

    from server.app import create_app

    inspection = await team.assign(client, [team.inspectors[0]])
    normal = app.state.settings
    strict = create_app(dataclasses.replace(normal, sync=dataclasses.replace(normal.sync, max_push_mutations=2)))
    sc, network = phone(strict, tmp_path, {})
    async with sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.start_inspection(inspection)
        ids = [await sc.record_item_result(inspection, item, outcome="pass") for item in team.items]
        report = await sc.sync()
        assert report.complete and report.pushed == 1 + len(ids) and report.rejected == 0, report.error
        assert (await sc.status()).all_synced
    assert any(line.startswith("ok POST /api/v1/sync/push") for line in network.seen)
    assert await ItemResult.count().where(ItemResult.id.is_in(ids)) == len(ids)


def test_settings_no_phone_can_work_with_are_refused_at_start_up(app, tmp_path):
    import dataclasses

    import pytest

    from server.app import create_app
    from tests.conftest import make_settings

    base = make_settings(tmp_path)
    cases = {
        "SYNC_MAX_PUSH_MUTATIONS": dataclasses.replace(base, sync=dataclasses.replace(base.sync, max_push_mutations=0)),
        "SYNC_PULL_PAGE_SIZE": dataclasses.replace(base, sync=dataclasses.replace(base.sync, pull_page_size=0)),
        "EVIDENCE_CHUNK_BYTES": dataclasses.replace(
            base, evidence=dataclasses.replace(base.evidence, chunk_bytes=1024 * 1024)
        ),
    }
    for name, settings in cases.items():
        with pytest.raises(ValueError, match=name):
            create_app(settings)
    create_app(base)  # the defaults start
