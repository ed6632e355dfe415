"""Evidence end to end over HTTP, on the filesystem store and on moto's S3 server: sync, upload, verify, serve."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import random
import uuid

import httpx
import pytest
from PIL import Image

from schemas import sync as wire
from schemas.vocab import Role
from server.errors import StateConflict
from server.evidence import service as evidence_service
from server.evidence.tables import Blob, UploadSession
from storage import keys
from storage.base import ObjectLocked
from tests.conftest import login, make_user, username_of
from tests.server.sync.conftest import answers

from . import images
from .conftest import Field, make_phone


def _applied(outcome: wire.Outcome) -> uuid.UUID:
    assert isinstance(outcome, wire.Applied), outcome
    return outcome.entity_id


async def test_20mb_upload_interrupted_at_random_chunk_boundaries_resumes_and_completes(
    field: Field, photo_20mb: bytes
) -> None:
    data = photo_20mb
    assert len(data) >= 20 * 1024 * 1024
    evidence_id = _applied(await field.attach(data))
    assert (await field.evidence(evidence_id))["status"] == "pending"
    rng = random.Random(20)

    session = (await field.open(data)).json()
    assert session["part_count"] == 5 and session["received_parts"] == []
    sent_in_total = 0
    while session["status"] == "open":
        # The phone "restarts": it knows nothing but the hash, asks the server, and resumes.
        session = (await field.open(data)).json()
        missing = [n for n in range(1, session["part_count"] + 1) if n not in session["received_parts"]]
        if not missing:
            break
        # Send a random number of the missing chunks, then the connection drops mid-chunk.
        burst = missing[: rng.randint(1, 2)]
        for number in burst:
            response = await field.send_part(session, data, number)
            assert response.status_code == 200, response.text
            session = response.json()
            sent_in_total += 1
        following = [n for n in missing if n not in burst]
        if following:
            size = session["chunk_bytes"]
            start = (following[0] - 1) * size
            cut = data[start : start + rng.randint(1, size - 1)]  # a truncated body: refused, nothing stored
            response = await field.send_part(session, data, following[0], body=cut)
            assert response.status_code == 422
            assert response.json()["code"] == "evidence_chunk_mismatch"
    assert session["status"] == "complete"
    assert sent_in_total == 5  # every chunk went over the wire exactly once: nothing restarted from zero
    assert str(evidence_id) in session["evidence_ids"]

    record = await field.evidence(evidence_id)
    assert record["status"] == "stored" and record["size"] == len(data)
    assert record["media_type"] == "image/jpeg" and record["exif_latitude"] == pytest.approx(38.47)
    downloaded = await field.download(evidence_id)
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert await field.env.blob_keys() == [keys.blob_key(hashlib.sha256(data).hexdigest())]
    assert [info async for info in field.env.store.list_uploads("")] == []
    assert [info async for info in field.env.store.list("staging/")] == []


async def test_corrupted_chunk_is_refused_and_not_stored(field: Field) -> None:
    data = images.big_jpeg(11 * 1024 * 1024, seed=3)
    _applied(await field.attach(data))
    session = (await field.open(data)).json()
    bad = bytearray(data[: session["chunk_bytes"]])
    bad[1000] ^= 0xFF  # flipped on the way; the phone's hash is of the good bytes
    response = await field.send_part(
        session, data, 1, chunk_hash=hashlib.sha256(data[: session["chunk_bytes"]]).hexdigest(), body=bytes(bad)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "evidence_chunk_mismatch"
    state = (await field.env.client.get(f"/api/v1/evidence/uploads/{session['id']}", headers=field.phone.headers)).json()
    assert state["received_parts"] == [] and state["status"] == "open"
    # The phone re-sends the chunk intact and the upload finishes.
    assert (await field.upload(data)).json()["status"] == "complete"


@pytest.mark.parametrize("size_mb", [1, 11])
async def test_wrong_declared_hash_is_refused_and_nothing_completed(field: Field, size_mb: int) -> None:
    real = images.big_jpeg(size_mb * 1024 * 1024, seed=size_mb)
    other = hashlib.sha256(b"not these bytes").hexdigest()
    evidence_id = _applied(await field.attach(real, sha256=other))
    response = await field.upload(real, sha256=other)  # every chunk is intact; the whole is not what was declared
    assert response.status_code == 422
    assert response.json()["code"] == "evidence_hash_mismatch"
    assert (await field.evidence(evidence_id))["status"] == "pending"
    assert await Blob.count() == 0
    assert await field.env.blob_keys() == []
    session = (await field.open(real, sha256=other)).json()
    assert session["status"] == "open" and session["received_parts"] == []  # starts over, nothing half-kept
    assert await evidence_service.pending_count(field.inspection_id) == 1


async def test_same_photo_twice_is_stored_once(field: Field) -> None:
    data = images.photo(seed=7)
    first = _applied(await field.attach(data))
    assert (await field.upload(data)).json()["status"] == "complete"
    second = _applied(await field.attach(data, caption="同一张照片再次作为证据"))
    assert (await field.evidence(second))["status"] == "pending"  # a record is stored by bytes sent for it
    assert (await field.open(data)).json()["status"] == "open"
    assert (await field.upload(data)).json()["status"] == "complete"
    assert (await field.evidence(second))["status"] == "stored"
    session = (await field.open(data)).json()
    assert session["status"] == "complete" and session["received_parts"] == []
    assert sorted(session["evidence_ids"]) == sorted([str(first), str(second)])
    assert len(await field.env.blob_keys()) == 1
    assert await Blob.count() == 1


async def test_naming_someone_elses_stored_photo_proves_nothing(field: Field) -> None:
    data = images.photo(seed=41)
    sha256 = hashlib.sha256(data).hexdigest()
    theirs = _applied(await field.attach(data))
    assert (await field.upload(data)).json()["status"] == "complete"
    client = field.env.client
    intruder_id = await make_user(Role.INSPECTOR, department_id=field.team.department_id)
    intruder = Field(
        env=field.env, phone=await make_phone(client, intruder_id), team=field.team,
        inspection_id=await field.team.assign(client, inspectors=[intruder_id]),
    )
    # Through the sync push: a record naming the hash and size is accepted, and waits for bytes.
    claim = _applied(await intruder.attach(data))
    record = await intruder.evidence(claim)
    assert record["status"] == "pending" and record.get("width") is None and record.get("completed_at") is None
    for path in ("/content", "/thumbnail"):
        refused = await client.get(f"/api/v1/evidence/{claim}{path}", headers=intruder.phone.headers)
        assert refused.status_code == 409 and refused.json()["code"] == "evidence_pending", path
        assert (await client.get(f"/api/v1/evidence/{theirs}{path}", headers=intruder.phone.headers)).status_code == 404
    # Through the upload API: the server holding those bytes from someone else is no answer to the intruder …
    session = (await intruder.open(data)).json()
    assert session["status"] == "open" and session["evidence_ids"] == []
    # … and bytes that are not the photo are refused.
    forged = images.photo(seed=42)
    response = await client.put(
        f"/api/v1/evidence/blobs/{sha256}", content=forged[: len(data)].ljust(len(data), b"\0"),
        headers={**intruder.phone.headers, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 422 and response.json()["code"] == "evidence_chunk_mismatch", response.text
    assert (await intruder.evidence(claim))["status"] == "pending"
    # A claim made before the owner uploads is not carried along by the owner's upload either.
    later = images.photo(seed=43)
    early_claim = _applied(await intruder.attach(later))
    _applied(await field.attach(later))
    assert (await field.upload(later)).json()["status"] == "complete"
    assert (await intruder.evidence(early_claim))["status"] == "pending"
    # Whoever does hold the bytes proves it by sending them; storage stays one blob.
    assert (await intruder.upload(data)).json()["status"] == "complete"
    assert (await intruder.evidence(claim))["status"] == "stored"
    assert (await intruder.download(claim)).content == data
    assert len(await field.env.blob_keys()) == 2 and await Blob.count() == 2


async def test_fake_jpeg_is_refused_with_a_clear_code_and_its_record_rejected(field: Field) -> None:
    fake = b"<html><body><script>document.location='http://evil'</script></body></html>" * 10
    evidence_id = _applied(await field.attach(fake, media_type="image/jpeg"))
    response = await field.upload(fake)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media"
    record = await field.evidence(evidence_id)
    assert record["status"] == "rejected" and record["rejection_code"] == "unsupported_media"
    assert await field.env.blob_keys() == []
    assert await evidence_service.pending_count(field.inspection_id) == 0


async def test_pixel_bomb_is_refused_without_decoding(field: Field) -> None:
    bomb = images.png_bomb(14000)
    evidence_id = _applied(await field.attach(bomb, media_type="image/png"))
    response = await field.upload(bomb)
    assert response.status_code == 413
    assert response.json()["code"] == "image_too_many_pixels"
    assert (await field.evidence(evidence_id))["rejection_code"] == "image_too_many_pixels"
    assert await field.env.blob_keys() == []


async def test_oversized_file_is_refused_at_sync_and_at_upload(field: Field) -> None:
    limit = field.env.settings.evidence.max_bytes
    outcome = await field.attach(b"x", size=limit + 1, sha256="a" * 64)
    assert isinstance(outcome, wire.Rejected) and outcome.code == "payload_too_large"
    response = await field.env.client.post(
        "/api/v1/evidence/uploads", json={"sha256": "a" * 64, "size": limit + 1}, headers=field.phone.headers
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    # A chunk body larger than the chunk size is cut off while it is read.
    data = images.photo()
    _applied(await field.attach(data))
    session = (await field.open(data)).json()
    response = await field.send_part(session, data, 1, body=os.urandom(session["chunk_bytes"] + 1))
    assert response.status_code == 413


async def test_thumbnail_has_no_gps_while_the_original_keeps_it(field: Field) -> None:
    data = images.photo(size=(1600, 1200), seed=11)
    evidence_id = _applied(await field.attach(data))
    assert (await field.upload(data)).json()["status"] == "complete"
    response = await field.env.client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=field.phone.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(response.content))
    assert max(thumb.size) <= 480
    assert len(thumb.getexif()) == 0 and not thumb.getexif().get_ifd(0x8825)
    assert b"GPS" not in response.content
    original = (await field.download(evidence_id)).content
    assert original == data
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)[2] == images.LATITUDE
    again = await field.env.client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=field.phone.headers)
    assert again.content == response.content  # made once, then served from the store


async def test_exif_disagreement_is_flagged(field: Field) -> None:
    data = images.photo(seed=13)
    near = _applied(await field.attach(data))
    far = _applied(await field.attach(data, captured_at=dt.datetime(2024, 5, 3, 9, 0, tzinfo=dt.UTC)))
    await field.upload(data)
    assert (await field.evidence(near)).get("exif_disagrees", False) is False
    record = await field.evidence(far)
    assert record["exif_disagrees"] is True
    assert record["exif_captured_at"].startswith("2024-05-01T02:00:00")


async def test_downloads_only_for_users_allowed_to_see_the_inspection(field: Field) -> None:
    data = images.photo(seed=17)
    evidence_id = _applied(await field.attach(data))
    await field.upload(data)
    client = field.env.client
    stranger = await login(client, await username_of(await make_user(Role.INSPECTOR)))
    for path in ("", "/content", "/thumbnail"):
        response = await client.get(f"/api/v1/evidence/{evidence_id}{path}", headers=stranger)
        assert response.status_code == 404, path
    listing = await client.get(f"/api/v1/evidence/?inspection_id={field.inspection_id}", headers=stranger)
    assert listing.status_code == 404
    teammate = await login(client, await username_of(field.team.inspectors[1]))
    assert (await field.download(evidence_id, headers=teammate)).content == data
    assert (await field.download(evidence_id, headers=field.team.supervisor)).content == data
    leader = await login(client, await username_of(await make_user(Role.LEADER)))
    assert (await field.download(evidence_id, headers=leader)).content == data
    # A stranger cannot upload into someone else's evidence either.
    response = await client.post(
        "/api/v1/evidence/uploads", json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
        headers=stranger,
    )
    assert response.status_code == 404


def _assert_photo_attachment(response: httpx.Response, evidence_id: uuid.UUID, data: bytes) -> None:
    """The original as a JPEG attachment under a plain name (type and disposition set however it was served)."""
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="photo-{evidence_id}.jpg"; filename*=UTF-8\'\'photo-{evidence_id}.jpg'
    )
    assert response.headers["cache-control"] == "private, no-store"


async def test_downloads_are_streamed_as_attachments_that_no_browser_sniffs(field: Field) -> None:
    data = images.photo(seed=19)
    evidence_id = _applied(await field.attach(data))
    await field.upload(data)
    response = await field.env.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=field.phone.headers)
    # On S3 too by default: a presigned link cannot carry nosniff.
    _assert_photo_attachment(response, evidence_id, data)
    assert response.headers["x-content-type-options"] == "nosniff"
    thumbnail = await field.env.client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=field.phone.headers)
    assert thumbnail.headers["x-content-type-options"] == "nosniff"


async def test_presigned_downloads_when_asked_for_force_type_and_attachment(field: Field) -> None:
    from server.app import create_app

    data = images.photo(seed=20)
    evidence_id = _applied(await field.attach(data))
    await field.upload(data)
    settings = field.env.settings
    presigning = create_app(
        dataclasses.replace(settings, evidence=dataclasses.replace(settings.evidence, presigned_downloads=True))
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=presigning), base_url="http://fieldcheck.test") as c:
        response = await c.get(f"/api/v1/evidence/{evidence_id}/content", headers=field.phone.headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    if field.env.name == "filesystem":  # no links to hand out: streamed as without the setting
        _assert_photo_attachment(response, evidence_id, data)
        return
    assert response.status_code == 307 and "X-Amz-Expires=300" in response.headers["location"]
    async with httpx.AsyncClient() as direct:
        _assert_photo_attachment(await direct.get(response.headers["location"]), evidence_id, data)


async def test_originals_cannot_be_overwritten_or_deleted(field: Field) -> None:
    data = images.photo(seed=23)
    evidence_id = _applied(await field.attach(data))
    await field.upload(data)
    client = field.env.client
    for method in ("DELETE", "PUT", "PATCH"):
        response = await client.request(method, f"/api/v1/evidence/{evidence_id}", headers=field.phone.headers)
        assert response.status_code == 405
    key = keys.blob_key(hashlib.sha256(data).hexdigest())
    with pytest.raises(ObjectLocked):
        await field.env.store.delete(key)
    assert (await field.env.store.stat(key)).locked
    # Re-attaching under the same id with other bytes is refused; the record keeps its hash.
    outcome = await field.attach(images.photo(seed=24), id=evidence_id)
    assert isinstance(outcome, wire.Rejected) and outcome.code == "duplicate"
    assert (await field.evidence(evidence_id))["sha256"] == hashlib.sha256(data).hexdigest()


async def test_upload_is_idempotent(field: Field) -> None:
    data = images.big_jpeg(6 * 1024 * 1024, seed=29)
    _applied(await field.attach(data))
    session = (await field.open(data)).json()
    assert session["part_count"] == 2
    first = await field.send_part(session, data, 1)
    again = await field.send_part(session, data, 1)  # a retry after a lost response
    assert first.json()["received_parts"] == again.json()["received_parts"] == [1]
    done = await field.send_part(session, data, 2)
    assert done.json()["status"] == "complete"
    assert (await field.send_part(session, data, 2)).json()["status"] == "complete"
    response = await field.env.client.post(
        f"/api/v1/evidence/uploads/{session['id']}/complete", headers=field.phone.headers
    )
    assert response.status_code == 200 and response.json()["status"] == "complete"
    assert len(await field.env.blob_keys()) == 1


async def test_signature_of_the_representative_is_evidence(field: Field) -> None:
    signature = images.photo("PNG", size=(600, 200), exif=False, seed=31)
    evidence_id = _applied(
        await field.attach(signature, evidence_kind="signature", media_type="image/png", signer_name="张三")
    )
    await field.upload(signature)
    record = await field.evidence(evidence_id)
    assert record["kind"] == "signature" and record["signer_name"] == "张三" and record["status"] == "stored"


async def test_pending_count_and_the_record_syncs_to_the_team(field: Field) -> None:
    data = images.photo(seed=37)
    evidence_id = _applied(await field.attach(data))
    assert await evidence_service.pending_count(field.inspection_id) == 1
    with pytest.raises(StateConflict) as refused:
        await evidence_service.ensure_none_pending(field.inspection_id)
    assert refused.value.code == "evidence_pending"
    held, _ = await field.phone.pull_all()
    assert held[("evidence", str(evidence_id))]["status"] == "pending"
    await field.upload(data)
    assert await evidence_service.pending_count(field.inspection_id) == 0
    await evidence_service.ensure_none_pending(field.inspection_id)
    held, _ = await field.phone.pull_all()
    assert held[("evidence", str(evidence_id))]["status"] == "stored"


async def test_garbage_collection_removes_unfinished_uploads_and_orphans_but_never_evidence(field: Field) -> None:
    store = field.env.store
    kept = images.photo(seed=41)
    _applied(await field.attach(kept))
    await field.upload(kept)
    unfinished = images.big_jpeg(6 * 1024 * 1024, seed=43)
    _applied(await field.attach(unfinished))
    session = (await field.open(unfinished)).json()
    await field.send_part(session, unfinished, 1)
    orphan = os.urandom(1000)
    await store.put(keys.blob_key(hashlib.sha256(orphan).hexdigest()), orphan, content_type="image/jpeg")
    await store.put(keys.staging_key(uuid.uuid4().hex), b"left by a crash", content_type="image/jpeg")

    from server import database

    async with database.transaction():  # nothing is old enough yet
        report = await evidence_service.collect_garbage(store, older_than=dt.timedelta(hours=1))
    assert report.expired_sessions == 0 and report.removed_blobs == 0 and report.removed_staging == 0

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    async with database.transaction():
        report = await evidence_service.collect_garbage(store, older_than=dt.timedelta(hours=1), now=later)
    assert report.expired_sessions == 1
    assert report.removed_blobs >= 1 and report.removed_staging >= 1
    assert [u async for u in store.list_uploads("")] == []
    assert await field.env.blob_keys() == [keys.blob_key(hashlib.sha256(kept).hexdigest())]
    assert (await UploadSession.select(UploadSession.status).where(UploadSession.id == uuid.UUID(session["id"])).first())[
        "status"
    ] == "expired"
    # The finished evidence is still whole.
    assert hashlib.sha256(await store.get(keys.blob_key(hashlib.sha256(kept).hexdigest()))).hexdigest() == hashlib.sha256(
        kept
    ).hexdigest()


async def test_a_small_file_goes_in_one_request_with_the_same_checks(field: Field) -> None:
    data = images.photo(seed=47)
    evidence_id = _applied(await field.attach(data))
    digest = hashlib.sha256(data).hexdigest()
    headers = {**field.phone.headers, "content-type": "application/octet-stream"}
    client = field.env.client
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x01
    response = await client.put(f"/api/v1/evidence/blobs/{digest}", content=bytes(damaged), headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "evidence_chunk_mismatch"
    assert (await field.evidence(evidence_id))["status"] == "pending"
    response = await client.put(f"/api/v1/evidence/blobs/{digest}", content=data, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "complete"
    assert (await field.evidence(evidence_id))["status"] == "stored"
    assert (await field.download(evidence_id)).content == data
    # A file larger than one chunk must use a session; a cut-off one does not match its record.
    big = images.big_jpeg(6 * 1024 * 1024, seed=48)
    _applied(await field.attach(big))
    path = f"/api/v1/evidence/blobs/{hashlib.sha256(big).hexdigest()}"
    response = await client.put(path, content=big, headers=headers)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    response = await client.put(path, content=big[: 5 * 1024 * 1024], headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "evidence_hash_mismatch"


async def test_submit_is_refused_while_evidence_is_pending_then_applies(field: Field) -> None:
    from schemas.inspections import SubmitInspection
    from server.inspections.tables import Inspection

    data = images.photo(seed=41)
    _applied(await field.attach(data))
    assert all(isinstance(o, wire.Applied) for o in await field.phone.push(
        answers(field.phone, field.inspection_id, field.team.items)))

    def submit() -> SubmitInspection:
        return SubmitInspection(
            seq=field.phone.seq(), inspection_id=field.inspection_id, summary="检查完毕",
            signed_by_name="王经理", submitted_at=dt.datetime(2024, 5, 1, 3, 0, tzinfo=dt.UTC),
        )

    (refused,) = await field.phone.push([submit()])
    assert isinstance(refused, wire.Rejected) and refused.code == "evidence_pending"
    # The HTTP signing runs the same guard.
    response = await field.env.client.post(
        f"/api/v1/inspections/{field.inspection_id}/submit", headers=field.phone.headers,
        json={"summary": "检查完毕", "signed_by_name": "王经理"},
    )
    assert response.status_code == 409 and response.json()["code"] == "evidence_pending", response.text
    row = await Inspection.select(Inspection.status).where(Inspection.id == field.inspection_id).first()
    assert row["status"] != "submitted"

    await field.upload(data)
    (accepted,) = await field.phone.push([submit()])
    assert isinstance(accepted, wire.Applied)
    row = await Inspection.select(Inspection.status).where(Inspection.id == field.inspection_id).first()
    assert row["status"] == "submitted"


async def test_an_upload_the_store_lost_mid_way_restarts_instead_of_failing_every_chunk(field: Field) -> None:
    data = images.big_jpeg(11 * 1024 * 1024, seed=12)
    evidence_id = _applied(await field.attach(data))
    session = (await field.open(data)).json()
    assert (await field.send_part(session, data, 1)).status_code == 200
    # The store loses the multipart upload (a restart of a store that keeps it in memory, an abort):
    row = await UploadSession.select(UploadSession.backend_upload_id).where(
        UploadSession.id == uuid.UUID(session["id"])
    ).first()
    await field.env.store.abort_upload(keys.staging_key(uuid.UUID(session["id"]).hex), row["backend_upload_id"])

    response = await field.send_part(session, data, 2)
    assert response.status_code == 200, response.text  # not a 500 for every chunk from now on
    assert response.json()["received_parts"] == [2]  # chunk 1 went with the lost upload: the phone resends it
    assert (await field.upload(data)).json()["status"] == "complete"
    record = await field.evidence(evidence_id)
    assert record["status"] == "stored"
    downloaded = await field.download(evidence_id)
    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(data).hexdigest()
