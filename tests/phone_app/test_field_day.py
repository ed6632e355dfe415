"""An inspector's day in the phone app, offline, then online (issue 12, must-show 1 and 2).

Log in and sync; the network goes; the page is reloaded offline and still opens the task; 20 items, a major
hazard with its 五落实 and a photo, a 三违 whose ID number is refused on the phone then accepted, a scene photo
and the enterprise's signature are recorded; the page is closed and reopened offline and everything is there.
Then the network comes back: everything reaches the server exactly once (rows counted), the photos' bytes hash
to what the phone computed, and the check is locked (a later edit is an amendment).
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World, photo_files

pytestmark = pytest.mark.browser


async def test_a_day_offline_then_online(world: World, phone, tmp_path):
    hazard_photo, scene_photo = photo_files(tmp_path, 2)
    page = await phone.new_page()
    p = Phone(page, world.url, "day")
    await p.open()
    await p.shot("login")
    await p.login(world.inspector)
    await page.wait_for_selector(f"[data-inspection='{world.inspection_id}']")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_function("caches.keys().then(k => k.some(n => n.startsWith('fieldcheck-shell-')))")
    await p.shot("tasks")
    task = await page.inner_text(f"[data-inspection='{world.inspection_id}']")
    assert "中卫市宏达金属制品有限公司" in task and "沙坡头区" in task and "纬三路 18 号" in task

    # --- offline: reload, open, record everything ---------------------------------------------------
    await phone.set_offline(True)
    await page.reload()
    await page.wait_for_function("window.FC && FC.app && FC.app.ready")
    await page.wait_for_selector("[data-testid=offline]")
    await page.click(f"[data-inspection='{world.inspection_id}']")
    await page.wait_for_selector(".item")
    await p.shot("checklist")
    major = world.major_items[0]
    card = page.locator(f"[data-item='{major['id']}']")
    assert "重大事故隐患判定项" in await card.inner_text() and "依据：" in await card.inner_text()
    # Signing is refused on the phone while items are unanswered.
    await page.click("[data-testid=go-sign]")
    await page.wait_for_selector("[data-testid=unanswered]")
    assert "还有 20 个检查项未填写结果" in await page.inner_text("[data-testid=unanswered]")
    await page.go_back()
    await page.wait_for_selector(".item")

    await helpers.answer_items(p, world, fail_code=major["code"])
    await p.shot("checklist-answered")
    await helpers.add_major_hazard(p, world, major, hazard_photo)
    refusal = await helpers.add_violation(p, helpers.WRONG_ID, helpers.RIGHT_ID)
    assert "GB 11643" in refusal
    masked = await page.inner_text("[data-testid=masked-id]")
    assert masked == "110105***********X" and helpers.RIGHT_ID not in await page.content()
    await helpers.take_photo(p, scene_photo)
    await p.shot("inspection-recorded")
    await helpers.sign_and_submit(p)
    await p.shot("submitted-offline")
    await page.click(".van-nav-bar__left")
    await page.click(".van-tabbar-item:nth-child(2)")
    await page.wait_for_selector("[data-testid=sync-state]")
    assert "等待上传" in await page.inner_text("[data-testid=sync-state]")
    await p.shot("sync-waiting")
    queued = await p.counts()
    assert queued["pending"] == 1 + 20 + 1 + 1 + 3 + 1  # start, 20 items, hazard, 三违, 2 photos + signature, submit
    device_id = await page.evaluate("FC.store.deviceId()")

    # --- close the page, reopen it offline: everything is still there -------------------------------
    await page.close()
    page = await phone.new_page()
    p = Phone(page, world.url, "day")
    await p.open(f"/i/{world.inspection_id}")
    await page.wait_for_selector(".inspection [data-violation]")
    assert await page.locator(".item[data-outcome='pass']").count() == 18
    assert await page.locator(".item[data-outcome='fail']").count() == 1
    assert await page.locator(".item[data-outcome='not_applicable']").count() == 1
    assert await page.locator(".inspection [data-hazard]").count() >= 1
    assert (await p.counts()) == queued
    await p.shot("reopened-offline")

    # --- online: exactly once, hashes match, locked ----------------------------------------------------
    await phone.set_offline(False)
    await helpers.sync_until_safe(p)
    await page.goto(f"{world.url}/app/#/sync")
    await page.wait_for_function("FC.app && FC.app.ready")
    await page.wait_for_selector("[data-testid=sync-state].safe")
    await p.shot("sync-safe")
    rows = await helpers.server_rows(world.inspection_id)
    assert rows["inspection"]["status"] == "submitted" and rows["inspection"]["signed_by_name"] == "王建国"
    assert len(rows["results"]) == 20
    assert {r["outcome"] for r in rows["results"]} == {"pass", "fail", "not_applicable"}
    assert [r["note"] for r in rows["results"] if r["outcome"] == "fail"] == ["作业前未进行气体检测，现场无检测记录"]
    [hazard] = rows["hazards"]
    assert hazard["level"] == "major" and hazard["responsible_person"] == "王建国（厂长）" and hazard["listed_supervision"]
    assert hazard["funds_yuan"] == 30000 and hazard["item"] == uuid.UUID(major["id"])
    [violation] = rows["violations"]
    assert violation["person_name"] == "李四"
    assert len(rows["evidence"]) == 3 and {e["status"] for e in rows["evidence"]} == {"stored"}
    kinds = sorted(e["kind"] for e in rows["evidence"])
    assert kinds == ["photo", "photo", "signature"]
    photo_hashes = {hashlib.sha256(path.read_bytes()).hexdigest() for path in (hazard_photo, scene_photo)}
    assert {e["sha256"] for e in rows["evidence"] if e["kind"] == "photo"} == photo_hashes
    supervisor = world.supervisor
    for evidence in rows["evidence"]:
        assert await helpers.downloaded_sha256(world.url, supervisor, evidence["id"]) == evidence["sha256"]
    [hazard_photo_row] = [e for e in rows["evidence"] if e["hazard"] == hazard["id"]]
    assert hazard_photo_row["sha256"] == hashlib.sha256(hazard_photo.read_bytes()).hexdigest()
    mutations = await helpers.device_mutations(device_id)
    assert [m["seq"] for m in mutations] == sorted({m["seq"] for m in mutations})  # one outcome per seq
    assert len(mutations) == queued["pending"]

    # Locked: a later edit from the phone becomes an amendment; the results stay as signed.
    item = world.items[0]
    await page.evaluate(f"FC.writes.recordItemResult('{world.inspection_id}', '{item['id']}', {{ note: '补充：复核无误' }})")
    await helpers.sync_until_safe(p)
    rows_after = await helpers.server_rows(world.inspection_id)
    assert len(rows_after["amendments"]) == len(rows["amendments"]) + 1
    assert {r["id"]: r["note"] for r in rows_after["results"]} == {r["id"]: r["note"] for r in rows["results"]}
    assert p.errors == []
    assert uuid.UUID(device_id)
