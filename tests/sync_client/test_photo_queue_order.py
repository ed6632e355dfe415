"""Photos, their records and the submit that needs them always drain, whatever order they were queued in."""

from __future__ import annotations

import uuid

import httpx

from server.evidence.tables import Evidence
from server.inspections.tables import Inspection
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.evidence.images import photo
from tests.server.sync.conftest import team  # noqa: F401  (fixture)


def phone(app, tmp_path) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3", transport=httpx.ASGITransport(app=app),
                      retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0))


async def _sync_until_quiet(sc: SyncClient, rounds: int = 4):
    report = None
    for _ in range(rounds):
        report = await sc.sync()
        if report.complete and (await sc.status()).all_synced:
            break
    return report


async def test_a_photo_taken_after_the_signing_does_not_wait_for_the_submit_that_waits_for_it(
    client, app, team, tmp_path
):
    inspection = await team.assign(client, [team.inspectors[0]])
    picture = tmp_path / "after.jpg"
    picture.write_bytes(photo())
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.start_inspection(inspection)
        for item in team.items:  # signing needs every item answered
            await sc.record_item_result(inspection, item, outcome="pass")
        await sc.submit_inspection(inspection, summary="未发现隐患", signed_by_name="王五")
        evidence_id = await sc.attach_photo(inspection, picture, caption="离场时补拍的大门")
        report = await _sync_until_quiet(sc)
        status = await sc.status()
        assert report.complete and status.all_synced, (report, status)
    row = await Inspection.select(Inspection.status).where(Inspection.id == inspection).first()
    assert row["status"] == "submitted"
    stored = await Evidence.select(Evidence.status).where(Evidence.id == evidence_id).first()
    assert stored["status"] == "stored"


async def test_a_photo_whose_record_is_rejected_fails_with_the_reason_and_the_submit_goes_on(
    client, app, team, tmp_path
):
    inspection = await team.assign(client, [team.inspectors[0]])
    picture = tmp_path / "orphan.jpg"
    picture.write_bytes(photo())
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.start_inspection(inspection)
        for item in team.items:  # signing needs every item answered
            await sc.record_item_result(inspection, item, outcome="pass")
        evidence_id = await sc.attach_photo(inspection, picture, hazard_id=uuid.uuid4(), caption="隐患照片")
        await sc.submit_inspection(inspection, summary="未发现隐患", signed_by_name="王五")
        report = await _sync_until_quiet(sc)
        assert report.complete, report
        status = await sc.status()
        [rejection] = status.rejections
        assert rejection.kind == "attach_evidence" and rejection.message
        [upload] = status.uploads
        assert (str(upload.evidence_id), upload.status) == (str(evidence_id), "failed")
        assert upload.message == rejection.message  # the photo says why, and its copy is still on the phone
        assert status.pending_mutations == 0
    row = await Inspection.select(Inspection.status).where(Inspection.id == inspection).first()
    assert row["status"] == "submitted"
    assert await Evidence.count().where(Evidence.id == evidence_id) == 0
