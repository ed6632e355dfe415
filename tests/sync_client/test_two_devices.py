"""One inspector on two phones: offline writes to the same field from one base are a conflict, shown on the phone."""

from __future__ import annotations

import httpx

from server.inspections.tables import ItemResult, ItemResultConflict
from sync_client import SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.sync.conftest import team  # noqa: F401  (fixture)


def phone(app, tmp_path, name: str) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / f"{name}.sqlite3", transport=httpx.ASGITransport(app=app))


async def online(inspector, *phones: SyncClient) -> None:
    """Log each phone in as the inspector and pull the assignment."""
    for p in phones:
        await p.login(await username_of(inspector), PASSWORD)
        assert (await p.sync()).complete


async def test_the_same_inspector_on_two_phones_from_one_base_is_a_conflict_both_kept(client, app, team, tmp_path):
    inspector = team.inspectors[0]
    inspection = await team.assign(client, [inspector])
    item = team.items[0]
    async with phone(app, tmp_path, "a") as a, phone(app, tmp_path, "b") as b:
        await online(inspector, a, b)
        # both offline, both from the same (empty) base
        await a.record_item_result(inspection, item, outcome="pass")
        await b.record_item_result(inspection, item, outcome="fail", note="灭火器压力不足")
        assert (await a.sync()).complete
        report = await b.sync()
        assert report.complete and report.conflicts == 1

        [conflict] = (await b.status()).conflicts
        assert conflict.detail["entity_type"] == "item_result" and conflict.field == "outcome"
        row = await ItemResult.select().where(ItemResult.inspection == inspection).first()
        assert (row["outcome"], row["note"]) == ("pass", "灭火器压力不足")  # the note merged, the outcome waits
        [kept] = await ItemResultConflict.select().output(load_json=True)
        assert (kept["server_value"], kept["client_value"], kept["client_device"]) == ("pass", "fail", b.device_id)
        await a.sync()
        shown = [c for c in await a.records("item_result_conflict")]  # the other phone sees it too
        assert [c["client_value"] for c in shown] == ["fail"]


async def test_a_phone_that_pulled_the_other_phones_write_first_merges(client, app, team, tmp_path):
    inspector = team.inspectors[0]
    inspection = await team.assign(client, [inspector])
    item = team.items[1]
    async with phone(app, tmp_path, "a") as a, phone(app, tmp_path, "b") as b:
        await online(inspector, a, b)
        await a.record_item_result(inspection, item, outcome="pass")
        assert (await a.sync()).complete
        assert (await b.sync()).complete  # b sees a's write
        await b.record_item_result(inspection, item, outcome="fail")
        await b.record_item_result(inspection, item, outcome="pass")  # its own later edit of the same field
        await b.record_item_result(inspection, item, outcome="fail")
        report = await b.sync()
        assert report.complete and report.conflicts == 0
        assert (await ItemResult.select().where(ItemResult.inspection == inspection).first())["outcome"] == "fail"
        assert await ItemResultConflict.count() == 0
