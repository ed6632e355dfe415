"""A 回头看 recheck reaches the inspector's task list and its result goes back from the recheck screen."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.vocab import Role
from server.hazards.tables import Recheck
from tests.conftest import login, make_user, username_of
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World, new_phone
from tests.dates import bureau_today

pytestmark = pytest.mark.browser


async def test_a_recheck_is_listed_and_its_result_synced(world: World, phone, browser, client):
    # The finder never rechecks their own hazard: the recheck goes to a colleague of the department.
    rechecker = await username_of(await make_user(Role.INSPECTOR, department_id=world.department_id))
    page = await phone.new_page()
    p = Phone(page, world.url, "recheck")
    await p.open()
    await p.login(world.inspector)
    await p.sync()
    general = next(i for i in world.items if not i["is_major_criterion"])
    await page.evaluate("""async ([inspection, items, general, deadline]) => {
      await FC.writes.startInspection(inspection);
      for (const item of items) await FC.writes.recordItemResult(inspection, item.id,
        { outcome: item.id === general ? "fail" : item.is_major_criterion ? "not_applicable" : "pass" });
      await FC.writes.addHazard(inspection, { level: "general", description: "消防通道堆放杂物", deadline_date: deadline,
                                              checklist_item_id: general });
      await FC.writes.submitInspection(inspection, { summary: "一般隐患一项", signedByName: "王建国" });
    }""", [str(world.inspection_id), world.items, general["id"], (bureau_today() + dt.timedelta(days=7)).isoformat()])
    await helpers.sync_until_safe(p)
    [hazard] = (await helpers.server_rows(world.inspection_id))["hazards"]

    reported = await client.post(f"/api/v1/hazards/{hazard['id']}/rectification-report",
                                 headers=await login(client, world.inspector), json={"note": "杂物已清理"})
    assert reported.status_code == 200, reported.text
    await p.sync()
    await page.goto(f"{world.url}/app/#/tasks")
    assert await page.locator("[data-recheck]").count() == 0  # not the finder's to recheck
    colleague_phone = await new_phone(browser)
    other = await colleague_phone.new_page()
    q = Phone(other, world.url, "recheck-colleague")
    await q.open()
    await q.login(rechecker)
    await q.sync()
    await other.goto(f"{world.url}/app/#/tasks")
    await other.wait_for_selector("[data-recheck]")
    assert "消防通道堆放杂物" in await other.inner_text("[data-recheck]")
    await q.shot("tasks-with-recheck")
    await other.click("[data-recheck]")
    await other.wait_for_selector("text=回头看复查")
    await other.fill("textarea", "现场复核：通道已畅通")
    await q.shot("recheck")
    await other.click("text=保存复查结果")
    await other.wait_for_selector(".van-empty, .task")
    await helpers.sync_until_safe(q)
    assert q.errors == []
    await colleague_phone.close()
    [row] = await Recheck.select().where(Recheck.hazard == hazard["id"])
    assert row["status"] == "passed" and row["note"] == "现场复核：通道已畅通"

    # Approved, the check leaves the team's scopes: the phone forgets what it held only through them.
    held = "FC.store.db.records.toArray().then(rs => rs.filter(r => r.type === 'item_result').length)"
    assert await page.evaluate(held) == 20
    approved = await client.post(f"/api/v1/inspections/{world.inspection_id}/review", headers=world.supervisor,
                                 json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    await p.sync()
    assert await page.evaluate(held) == 0
    assert await page.evaluate("FC.store.cursors().then(c => Object.keys(c).filter(k => k.startsWith('inspection:')))") == []
    assert p.errors == []
