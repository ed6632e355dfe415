"""A mutation the server rejects comes back to the sync screen with its Chinese reason and a way to act
(issue 12, must-show 4).

This phone checks ID numbers before it queues a 三违; a phone on an older build did not, and its outbox still
holds one with a wrong check digit (queued here through the store, as that build did). The server refuses it
with its own sentence; the screen shows it beside the record, the inspector corrects the number in 修改后重发
and it lands; a second refused record (a check this inspector does not hold) is acknowledged.
"""

from __future__ import annotations

import json
import uuid

import pytest

from schemas.identifiers import id_number_refusal
from schemas.vocab import Role
from server.violations.tables import ViolationRecord
from tests.conftest import make_user
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World, wait_until

pytestmark = pytest.mark.browser


def _queue_as_an_old_build(inspection_id: uuid.UUID, id_number: str, description: str) -> str:
    violation = {"id": str(uuid.uuid4()), "inspection_id": str(inspection_id), "person_name": "赵六", "id_number": id_number,
                 "violation_type": "labor_discipline", "description": description}
    return (f"FC.store.enqueue({{ make: (seq) => ({{ kind: 'add_violation', seq, violation: {json.dumps(violation)} }}),"
            f" entityType: 'inspection', entityId: '{inspection_id}', record: ['violation', '{violation['id']}'] }})")


async def test_a_rejection_shows_the_servers_reason_and_can_be_fixed_or_acknowledged(world: World, phone, client):
    colleague = await make_user(Role.INSPECTOR, department_id=world.department_id)
    other = await client.post("/api/v1/inspections/", headers=world.supervisor, json={
        "enterprise_id": str(world.enterprise_id), "template_id": world.template_id,
        "inspector_ids": [str(colleague)]})  # someone else's check
    assert other.status_code == 201, other.text
    page = await phone.new_page()
    p = Phone(page, world.url, "rejected")
    await p.open()
    await p.login(world.inspector)
    await page.wait_for_selector(f"[data-inspection='{world.inspection_id}']")
    await page.evaluate(_queue_as_an_old_build(world.inspection_id, helpers.WRONG_ID, "在禁烟区吸烟"))
    await page.evaluate(_queue_as_an_old_build(uuid.UUID(other.json()["id"]), helpers.RIGHT_ID, "未系安全带高处作业"))
    await p.sync()
    await page.goto(f"{world.url}/app/#/sync")
    await page.wait_for_selector("[data-outcome-seq]")
    assert await page.locator("[data-outcome-seq]").count() == 2
    await p.shot("rejections")
    wrong = page.locator("[data-code=invalid_id_number]")
    reason = await wrong.locator("[data-testid=reason]").inner_text()
    assert reason == "服务器：" + id_number_refusal(helpers.WRONG_ID).message
    assert "在禁烟区吸烟" in await wrong.inner_text()
    forbidden = page.locator("[data-outcome-seq]:not([data-code=invalid_id_number])")
    assert "未系安全带高处作业" in await forbidden.inner_text()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in await forbidden.locator("[data-testid=reason]").inner_text())

    # Fix and resend: the number is corrected where the server pointed, and it lands once.
    await wrong.locator("[data-testid=fix]").click()
    field = page.locator("input[name='fix-violation.id_number']")
    await field.wait_for()
    await p.shot("fix")
    await field.fill(helpers.RIGHT_ID)
    await page.click("[data-testid=send-fixed]")
    await page.wait_for_function("FC.app.data.outcomes.length === 1 && !FC.app.data.counts.pending")
    await wait_until(lambda: ViolationRecord.exists().where(ViolationRecord.inspection == world.inspection_id))
    rows = await ViolationRecord.select().where(ViolationRecord.inspection == world.inspection_id)
    assert [r["description"] for r in rows] == ["在禁烟区吸烟"]

    # Acknowledge: it leaves the screen; the content stays on the phone until discarded.
    await forbidden.locator("[data-testid=ack]").click()
    await page.wait_for_selector("[data-testid=sync-state].safe")
    await p.shot("acknowledged")
    kept = await page.evaluate("FC.store.outcomes(true).then(o => o.map(x => x.payload.violation.description))")
    assert kept == ["未系安全带高处作业"]
    assert p.errors == []
