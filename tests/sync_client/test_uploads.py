"""The phone's photo queue against the real app over a flaky network: resume, backoff, per-photo status."""

from __future__ import annotations

import collections
import hashlib
import random
import uuid

import httpx

from server.evidence.tables import Blob
from server.evidence.tables import Evidence as EvidenceRow
from storage import keys
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.evidence import images
from tests.server.sync.conftest import team  # noqa: F401  (fixture)


class FlakyUploads(httpx.AsyncBaseTransport):
    """The app's ASGI transport, except that chunk uploads are lost at random (before or after the server)."""

    def __init__(self, app, rng: random.Random, loss: float) -> None:  # type: ignore[no-untyped-def]
        self._inner = httpx.ASGITransport(app=app)
        self._rng = rng
        self.loss = loss
        self.delivered: collections.Counter[str] = collections.Counter()  # chunk URL -> deliveries to the server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        is_part = request.method == "PUT" and ("/parts/" in request.url.path or "/blobs/" in request.url.path)
        fault = is_part and self._rng.random() < self.loss
        before = fault and self._rng.random() < 0.5
        if before:
            raise httpx.WriteError("injected: connection lost while sending", request=request)
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self._inner.handle_async_request(copy)
        await response.aread()
        if is_part:
            self.delivered[request.url.path] += 1
        if fault:
            raise httpx.ReadError("injected: answer lost", request=request)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _no_sleep(_: float) -> None:
    return None


def _phone(app, tmp_path, transport=None, attempts: int = 2) -> SyncClient:  # type: ignore[no-untyped-def]
    return SyncClient(
        "http://fieldcheck.test", tmp_path / "phone.sqlite3",
        transport=transport or httpx.ASGITransport(app=app),
        retry=RetryPolicy(attempts=attempts, base_delay_s=0.0), sleep=_no_sleep, rng=random.Random(3),
    )


async def _ready(sc: SyncClient, team, client) -> uuid.UUID:  # type: ignore[no-untyped-def]
    inspection = await team.assign(client, [team.inspectors[0]])
    await sc.login(await username_of(team.inspectors[0]), PASSWORD)
    assert (await sc.sync()).complete
    await sc.start_inspection(inspection)
    return inspection


async def test_photos_cross_a_flaky_network_resume_from_the_last_chunk_and_end_verified(client, app, team, tmp_path):
    big = images.big_jpeg(12 * 1024 * 1024, seed=5)  # 3 chunks
    small = images.photo(seed=6)
    (tmp_path / "big.jpg").write_bytes(big)
    (tmp_path / "small.jpg").write_bytes(small)
    flaky = FlakyUploads(app, random.Random(11), loss=0.5)
    clock = Clock()
    # One attempt per request: every loss reaches the queue, which must resume on the next sync.
    async with _phone(app, tmp_path, flaky, attempts=1) as sc:
        sc._uploads.clock = clock
        inspection = await _ready(sc, team, client)
        big_id = await sc.attach_photo(inspection, tmp_path / "big.jpg", latitude=38.47, longitude=106.28)
        small_id = await sc.attach_photo(inspection, tmp_path / "small.jpg")
        (tmp_path / "big.jpg").unlink()  # the camera app may drop its file at once: the queue kept a copy
        assert (await sc.status()).pending_uploads == 2
        assert {p.status for p in sc._uploads.statuses()} == {"queued"}

        syncs = 0
        while not (await sc.status()).all_synced:
            syncs += 1
            assert syncs < 60, sc._uploads.statuses()
            await sc.sync()
            clock.now += 3600  # let every backoff pass before the next attempt
        assert syncs > 1, (flaky.delivered, sc._uploads.statuses())  # the network really did get in the way

        statuses = {p.evidence_id: p for p in sc._uploads.statuses()}
        assert statuses[big_id].status == statuses[small_id].status == "done"
        assert statuses[big_id].sent_bytes == len(big)
    # Every chunk reached the server exactly once: after each interruption the phone asked what the
    # server held (an answer lost on the way back included) and sent only what was missing.
    # (3 chunks of the big photo; the small one went whole, or as chunk 1 of a session after a loss)
    assert set(flaky.delivered.values()) == {1}
    assert sum(1 for path in flaky.delivered if "/parts/" in path) >= 3
    assert len(flaky.delivered) == 4
    rows = {r["id"]: r for r in await EvidenceRow.select().where(EvidenceRow.inspection == inspection)}
    assert rows[big_id]["status"] == rows[small_id]["status"] == "stored"
    store = app.state.evidence_store
    stored = await store.get(keys.blob_key(hashlib.sha256(big).hexdigest()))
    assert stored == big
    assert await Blob.count().where(Blob.sha256 == hashlib.sha256(big).hexdigest()) == 1
    assert not list((tmp_path / "phone.uploads").iterdir())  # local copies go once verified


async def test_a_refused_photo_fails_alone_with_its_reason_and_never_blocks_the_others(client, app, team, tmp_path):
    (tmp_path / "fake.jpg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    good = images.photo(seed=8)
    (tmp_path / "good.jpg").write_bytes(good)
    async with _phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        fake_id = await sc.attach_photo(inspection, tmp_path / "fake.jpg")
        good_id = await sc.attach_photo(inspection, tmp_path / "good.jpg")
        report = await sc.sync()
        assert report.complete
        statuses = {p.evidence_id: p for p in sc._uploads.statuses()}
        assert statuses[fake_id].status == "failed" and statuses[fake_id].code == "unsupported_media"
        assert statuses[fake_id].message  # the server's Chinese explanation, for the inspector
        assert statuses[good_id].status == "done"
        status = await sc.status()
        assert status.pending_uploads == 1 and not status.all_synced  # a person must look at the refused one
        await sc.sync()  # a failed photo is not retried in a loop
        assert sc._uploads.statuses()[0].attempts == statuses[fake_id].attempts


async def test_a_photo_whose_record_was_rejected_fails_at_once_with_the_servers_reason(client, app, team, tmp_path):
    other = await team.assign(client, [team.inspectors[1]])  # not this inspector's inspection
    (tmp_path / "p.jpg").write_bytes(images.photo(seed=9))
    clock = Clock()
    async with _phone(app, tmp_path) as sc:
        sc._uploads.clock = clock
        await _ready(sc, team, client)
        evidence_id = await sc.attach_photo(other, tmp_path / "p.jpg")
        await sc.sync()
        [rejection] = (await sc.status()).rejections
        [photo] = sc._uploads.statuses()
        # not "not synced yet" for ever: the record will never come, and the photo says why
        assert photo.evidence_id == evidence_id and photo.status == "failed"
        assert (photo.code, photo.message) == (rejection.code, rejection.message) and photo.attempts == 0
        clock.now += 7200
        await sc.sync()
        assert sc._uploads.statuses()[0].attempts == 0  # nothing is tried for it again


async def test_the_queue_survives_a_restart_of_the_app(client, app, team, tmp_path):
    data = images.photo(seed=10)
    (tmp_path / "p.jpg").write_bytes(data)
    async with _phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        evidence_id = await sc.attach_photo(inspection, tmp_path / "p.jpg")
    (tmp_path / "p.jpg").unlink()
    async with _phone(app, tmp_path) as sc:  # a new process on the same phone database
        assert (await sc.status()).pending_uploads == 1
        assert (await sc.sync()).complete
        assert (await sc.status()).all_synced
    row = await EvidenceRow.select().where(EvidenceRow.id == evidence_id).first()
    assert row["status"] == "stored"


async def test_pending_inspections_name_the_submits_that_must_wait_for_their_photos(client, app, team, tmp_path):
    data = images.photo(seed=12)
    path = tmp_path / "p.jpg"
    path.write_bytes(data)
    async with _phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        evidence_id = await sc.attach_photo(inspection, path)
        queue = sc._uploads
        queue.enqueue(evidence_id, path, hashlib.sha256(data).hexdigest(), len(data), "image/jpeg",
                      inspection_id=inspection)
        assert queue.pending_inspections() == {inspection}
        assert len(queue.statuses()) == 1  # the same photo, not a second one
        assert (await sc.sync()).complete
        assert queue.pending_inspections() == set()


async def test_a_refused_photo_does_not_hold_back_the_submit(client, app, team, tmp_path):
    (tmp_path / "fake.jpg").write_bytes(b"<html><script>alert(1)</script></html>")
    async with _phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        await sc.attach_photo(inspection, tmp_path / "fake.jpg")
        assert sc._uploads.pending_inspections() == {inspection}
        await sc.sync()
        assert sc._uploads.statuses()[0].status == "failed"
        assert sc._uploads.pending_inspections() == set()  # the server holds no pending evidence for it
