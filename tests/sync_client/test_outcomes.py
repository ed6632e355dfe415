"""What an app does with the server's answers: each names its record, keeps the content, can be retried,
discarded or acknowledged; photos likewise; the report counts uploads."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import httpx
import pytest

from server.evidence.tables import Evidence as EvidenceRow
from schemas.identifiers import id_number_check_char
from server.inspections.tables import ItemResult
from server.violations.tables import ViolationRecord
from schemas.violations import AddViolation, ViolationCreate
from sync_client import InvalidRecord, RetryPolicy, SyncClient
from tests.server.evidence import images
from tests.server.sync.conftest import team  # noqa: F401  (fixture)
from tests.sync_client.test_server_faults import _fail_amendments, _heal
from tests.sync_client.test_uploads import _ready


ID_NUMBER = "64010419850101123" + id_number_check_char("64010419850101123")
VIOLATION = {"person_name": "王五", "id_number": ID_NUMBER, "violation_type": "illegal_operation"}


async def _no_sleep(_: float) -> None:
    return None


def phone(app, tmp_path) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3", transport=httpx.ASGITransport(app=app),
                      retry=RetryPolicy(attempts=2, base_delay_s=0.0, max_delay_s=0.0), sleep=_no_sleep,
                      rng=random.Random(4))


async def test_a_rejection_names_its_record_keeps_the_content_and_can_be_fixed_and_resent(client, app, team, tmp_path):
    other = await team.assign(client, [team.inspectors[1]])  # not this inspector's
    async with phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        good = await sc.add_violation(inspection, **VIOLATION, description="未戴安全帽")
        # This phone refuses a record about a check it does not hold; an older app build queued it anyway,
        # so the server's refusal is what names it here.
        queued = len(sc.store.pending())
        with pytest.raises(InvalidRecord):
            await sc.add_violation(other, **VIOLATION, description="无证登高作业")
        assert len(sc.store.pending()) == queued  # nothing queued
        bad = uuid.uuid4()
        stale = ViolationCreate(id=bad, inspection_id=other, **VIOLATION, description="无证登高作业",
                                recorded_at=dt.datetime.now(dt.UTC))
        sc.store.enqueue(lambda seq: AddViolation(seq=seq, violation=stale), entity_type="inspection", entity_id=other,
                         record=("violation", bad))
        stray = uuid.uuid4()
        wrong = await sc.record_item_result(inspection, stray, outcome="fail", note="消防通道堵塞")
        report = await sc.sync()
        assert report.rejected == 2
        rejections = {r.entity_id: r for r in (await sc.status()).rejections}
        assert set(rejections) == {str(bad), str(wrong)}
        violation = rejections[str(bad)]
        # A check off this inspector's team does not exist for them (inspections.access), as over HTTP.
        assert (violation.entity_type, violation.kind, violation.code) == ("violation", "add_violation", "not_found")
        assert violation.message and violation.content["violation"]["description"] == "无证登高作业"  # kept as written
        assert rejections[str(wrong)].entity_type == "item_result"
        assert await ViolationRecord.count().where(ViolationRecord.id == good) == 1

        # fixed (the right checklist item) and resent: it lands, the rejection is gone
        fixed = {**rejections[str(wrong)].content, "item_id": str(team.items[2])}
        report = await sc.retry(rejections[str(wrong)].seq, fixed)
        assert report.complete and report.pushed == 1 and report.rejected == 0
        row = await ItemResult.select().where(ItemResult.inspection == inspection, ItemResult.item == team.items[2]).first()
        assert (row["outcome"], row["note"]) == ("fail", "消防通道堵塞")
        assert [r.entity_id for r in (await sc.status()).rejections] == [str(bad)]

        # seen: it leaves status(), the content stays until discarded
        assert await sc.acknowledge(violation.seq) == 1
        status = await sc.status()
        assert status.rejections == [] and status.all_synced
        assert sc.store.outcome(violation.seq).content["violation"]["description"] == "无证登高作业"
        assert await sc.discard(violation.seq)
        assert sc.store.outcome(violation.seq) is None
        assert not await sc.discard(violation.seq)
        assert await sc.retry(10_000) is None


async def test_a_stuck_mutation_names_its_record_and_can_be_retried_now_or_discarded(client, app, team, tmp_path):
    async with phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        note = await sc.add_note(inspection, "企业负责人不在场")
        await _fail_amendments("always")
        try:
            report = await sc.sync()
            assert report.deferred == 1 and not report.complete
            [stuck] = (await sc.status()).deferred
            assert (stuck.entity_type, stuck.entity_id, stuck.kind) == ("amendment", str(note), "add_note")
            report = await sc.retry(stuck.seq)  # still broken: still kept
            assert report.deferred == 1 and (await sc.status()).pending_mutations == 1
        finally:
            await _heal()
        report = await sc.retry(stuck.seq)
        assert report.complete and (await sc.status()).all_synced

        second = await sc.add_note(inspection, "待删除的笔记")
        await _fail_amendments("always")
        try:
            await sc.sync()
            [stuck] = (await sc.status()).deferred
            assert stuck.entity_id == str(second)
            assert await sc.discard(stuck.seq)
            status = await sc.status()
            assert status.all_synced and status.deferred == []
            assert [a["text"] for a in await sc.records("amendment")] == ["企业负责人不在场"]
        finally:
            await _heal()


async def test_photos_are_counted_and_a_failed_one_can_be_retried_or_discarded(client, app, team, tmp_path):
    (tmp_path / "fake.jpg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    (tmp_path / "good.jpg").write_bytes(images.photo(seed=21))
    async with phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        fake = await sc.attach_photo(inspection, tmp_path / "fake.jpg")
        good = await sc.attach_photo(inspection, tmp_path / "good.jpg")
        report = await sc.sync()
        assert (report.uploaded, report.uploads_waiting, report.uploads_failed) == (1, 0, 1)
        report = await sc.retry_photo(fake)  # tried again at once: the server still refuses the bytes
        assert (report.uploaded, report.uploads_failed) == (0, 1)
        assert [u.evidence_id for u in (await sc.status()).uploads] == [fake]
        assert await sc.discard_photo(fake)
        status = await sc.status()
        assert status.all_synced and status.uploads == []
        assert not await sc.discard_photo(good)  # done: nothing to give up
        assert await sc.retry_photo(uuid.uuid4()) is None
    rows = {r["id"]: r["status"] for r in await EvidenceRow.select().where(EvidenceRow.inspection == inspection)}
    assert rows[good] == "stored"


async def test_discarding_a_photo_whose_record_is_still_queued_drops_the_record_too(client, app, team, tmp_path):
    (tmp_path / "p.jpg").write_bytes(images.photo(seed=22))
    async with phone(app, tmp_path) as sc:
        inspection = await _ready(sc, team, client)
        evidence = await sc.attach_photo(inspection, tmp_path / "p.jpg")
        assert await sc.discard_photo(evidence)
        report = await sc.sync()
        assert report.complete and report.uploads_waiting == 0
        assert (await sc.status()).all_synced
    assert await EvidenceRow.count().where(EvidenceRow.id == evidence) == 0
