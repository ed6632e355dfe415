"""Two inspectors on one check: the web app's edit of an item result another phone recorded merges on the
version it pulled (an omitted default on the wire is read as the default, as the schema says)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
import pytest

from schemas.vocab import Role
from server.inspections.tables import ItemResult, ItemResultConflict
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, make_user, username_of
from tests.phone_app.conftest import Phone, World
from tests.dates import bureau_today

pytestmark = pytest.mark.browser


async def test_an_edit_on_the_pulled_version_merges_without_conflict(world: World, phone, client, app, tmp_path):
    colleague = await make_user(Role.INSPECTOR, department_id=world.department_id)
    shared = await client.post("/api/v1/inspections/", headers=world.supervisor, json={
        "enterprise_id": str(world.enterprise_id), "template_id": world.template_id,
        "inspector_ids": [str(colleague), str(world.inspector_id)], "planned_date": bureau_today().isoformat()})
    assert shared.status_code == 201, shared.text
    inspection = uuid.UUID(shared.json()["id"])
    item = uuid.UUID(world.items[0]["id"])
    async with SyncClient("http://fieldcheck.test", tmp_path / "colleague.sqlite3", transport=httpx.ASGITransport(app=app),
                          retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0)) as other:
        await other.login(await username_of(colleague), PASSWORD)
        await other.sync()
        await other.start_inspection(inspection)
        await other.record_item_result(inspection, item, outcome="fail", note="灭火器过期")
        assert (await other.sync()).complete

    page = await phone.new_page()
    p = Phone(page, world.url, "two")
    await p.open()
    await p.login(world.inspector)
    await p.sync()
    await page.evaluate(f"FC.writes.recordItemResult('{inspection}', '{item}', {{ note: '灭火器过期，已责令更换' }})")
    report = await p.sync()
    assert report["conflicts"] == 0 and report["rejected"] == 0, report
    [row] = await ItemResult.select().where(ItemResult.inspection == inspection)
    assert (row["outcome"], row["note"]) == ("fail", "灭火器过期，已责令更换")
    assert await ItemResultConflict.count() == 0

    # Both change the same note from the same version: the second is a conflict, both values kept, and the
    # sync screen says so in words; 知悉 takes it off the screen.
    await page.evaluate(f"FC.writes.recordItemResult('{inspection}', '{item}', {{ note: '现场已更换两具灭火器' }})")
    async with SyncClient("http://fieldcheck.test", tmp_path / "colleague.sqlite3", transport=httpx.ASGITransport(app=app),
                          retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0)) as other:
        await other.sync()
        await other.record_item_result(inspection, item, note="企业承诺三日内更换")
        assert (await other.sync()).complete
    report = await p.sync()
    assert report["conflicts"] == 1, report
    await page.goto(f"{world.url}/app/#/sync")
    card = page.locator("[data-code=version_conflict]")
    await card.wait_for()
    assert "与其他检查人员的记录冲突，已提交负责人裁定：备注" in await card.inner_text()
    await p.shot("conflict")
    await card.locator("[data-testid=ack]").click()
    await page.wait_for_selector("[data-testid=sync-state].safe")
    [conflict] = await ItemResultConflict.select()
    assert {json.loads(conflict["server_value"]), json.loads(conflict["client_value"])} == {"企业承诺三日内更换", "现场已更换两具灭火器"}
    assert p.errors == []
