"""A server that fails on a record is never a verdict on it: the phone keeps it and it lands later, once.

The database itself is made to fail (a test-only trigger on ``inspection_amendment``), as a bug, a broken
row or a race would: a unique violation once (a concurrent writer committed the same key first), or an
error on every try until the cause is gone.
"""

from __future__ import annotations

import httpx

from server import database
from server.inspections.tables import InspectionAmendment, ItemResult
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.sync.conftest import team  # noqa: F401  (fixture)


def phone(app, tmp_path) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3", transport=httpx.ASGITransport(app=app),
                      retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0))


async def _fail_amendments(how: str) -> None:
    """``once``: the next insert raises a unique violation; ``always``: every insert raises an error."""
    engine = database.get_engine()
    # A sequence counts the failures: unlike a row, it is not rolled back with the failing savepoint.
    await engine.run_ddl("DROP SEQUENCE IF EXISTS test_fault_count")
    await engine.run_ddl("CREATE SEQUENCE test_fault_count")
    budget = 1 if how == "once" else 1_000_000
    await engine.run_ddl(
        "CREATE OR REPLACE FUNCTION test_fail_amendment() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF nextval('test_fault_count') <= {budget} THEN "
        + ("RAISE unique_violation USING MESSAGE = 'duplicate key value violates unique constraint "
           "\"inspection_amendment_pkey\"'; " if how == "once" else "RAISE EXCEPTION 'the server is broken'; ")
        + "END IF; RETURN NEW; END $$"
    )
    await engine.run_ddl("DROP TRIGGER IF EXISTS test_fail_amendment ON inspection_amendment")
    await engine.run_ddl(
        "CREATE TRIGGER test_fail_amendment BEFORE INSERT ON inspection_amendment "
        "FOR EACH ROW EXECUTE FUNCTION test_fail_amendment()"
    )


async def _heal() -> None:
    engine = database.get_engine()
    await engine.run_ddl("DROP TRIGGER IF EXISTS test_fail_amendment ON inspection_amendment")
    await engine.run_ddl("DROP FUNCTION IF EXISTS test_fail_amendment()")
    await engine.run_ddl("DROP SEQUENCE IF EXISTS test_fault_count")


async def test_a_unique_violation_from_a_concurrent_writer_is_resolved_inside_the_push(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.start_inspection(inspection)
        await sc.add_note(inspection, "企业负责人在场")
        await _fail_amendments("once")
        try:
            report = await sc.sync()
        finally:
            await _heal()
        assert report.complete and report.rejected == 0 and report.deferred == 0, report
        assert (await sc.status()).all_synced
    notes = await InspectionAmendment.select(InspectionAmendment.text).where(InspectionAmendment.inspection == inspection)
    assert [n["text"] for n in notes] == ["企业负责人在场"]


async def test_a_record_the_server_fails_on_stays_on_the_phone_and_lands_once_later(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.start_inspection(inspection)
        await sc.add_note(inspection, "灭火器压力不足，现场已拍照")
        result_id = await sc.record_item_result(inspection, team.items[0], outcome="fail", note="压力表指针在红区")
        await _fail_amendments("always")
        try:
            report = await sc.sync()
            assert not report.complete and report.deferred == 2 and report.rejected == 0, report
            status = await sc.status()
            # the note and the item result queued after it (same inspection, order kept) wait on the phone
            assert status.pending_mutations == 2 and status.rejections == []
            assert {d.kind for d in status.deferred} == {"add_note", "record_item_result"}
            assert all("保留在本机" in d.message or "前一条" in d.message for d in status.deferred)
            assert [a["text"] for a in await sc.records("amendment")] == ["灭火器压力不足，现场已拍照"]
            report = await sc.sync()  # still broken: still kept, nothing lost, nothing counted twice
            assert not report.complete and (await sc.status()).pending_mutations == 2
        finally:
            await _heal()
        report = await sc.sync()
        assert report.complete and report.pushed == 2, report
        status = await sc.status()
        assert status.all_synced and status.deferred == [] and status.rejections == []
    notes = await InspectionAmendment.select(InspectionAmendment.text).where(InspectionAmendment.inspection == inspection)
    assert [n["text"] for n in notes] == ["灭火器压力不足，现场已拍照"]
    assert await ItemResult.count().where(ItemResult.id == result_id) == 1
