"""The login on the phone: it survives offline; once the server stops taking it, sync pauses and the outbox
stays (as sync_client does), until the inspector logs in again on the same device.

The inspector changes the password from another device while the phone is offline with queued work; the
phone's tokens are then refused (refresh included). Its sync screen says so, nothing queued is lost, and after
logging in again with the new password everything reaches the server once, under the same device.
"""

from __future__ import annotations

import uuid

import pytest

from server.accounts.tables import Device
from server.inspections.tables import ItemResult
from tests.conftest import PASSWORD, login
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World

pytestmark = pytest.mark.browser
NEW_PASSWORD = "new-field-password-2026"


async def test_a_refused_login_pauses_sync_and_keeps_the_outbox(world: World, phone, client):
    page = await phone.new_page()
    p = Phone(page, world.url, "session")
    await p.open()
    await p.login(world.inspector)
    await page.wait_for_selector(f"[data-inspection='{world.inspection_id}']")
    device_id = await page.evaluate("FC.store.deviceId()")

    await phone.set_offline(True)
    await page.click(f"[data-inspection='{world.inspection_id}']")
    for item in world.items[:3]:
        await page.locator(f"[data-item='{item['id']}'] [data-answer='pass']").click()
        await page.locator(f"[data-item='{item['id']}'] [data-answer='pass'].on").wait_for()
    queued = (await p.counts())["pending"]
    assert queued == 4

    elsewhere = await login(client, world.inspector, device_id=uuid.uuid4())
    changed = await client.post("/api/v1/auth/password", headers=elsewhere,
                                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text

    await phone.set_offline(False)
    report = await p.sync()
    assert report["complete"] is False and "重新登录" in report["error"]
    assert (await p.counts())["pending"] == queued  # nothing lost, nothing half-sent
    await page.goto(f"{world.url}/app/#/sync")
    await page.wait_for_selector("text=登录已过期，同步已暂停")
    await p.shot("login-expired")
    assert await ItemResult.count().where(ItemResult.inspection == world.inspection_id) == 0

    # Logging in again on this device (the same device id) resumes; the queue goes once.
    await page.click("[data-testid=relogin]")
    await page.fill("input[name=password]", NEW_PASSWORD)
    await page.click("[data-testid=login]")
    await page.wait_for_selector(".task")
    await helpers.sync_until_safe(p)
    assert await page.evaluate("FC.store.deviceId()") == device_id
    assert await ItemResult.count().where(ItemResult.inspection == world.inspection_id) == 3
    assert len(await helpers.device_mutations(device_id)) == queued
    assert await Device.exists().where(Device.id == uuid.UUID(device_id))
    assert p.errors == []
