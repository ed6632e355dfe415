"""Steps of an inspector's day in the app, written as a person does them (taps, typing, the camera input)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx

from server.evidence.tables import Evidence
from server.hazards.tables import Hazard
from server.inspections.tables import Inspection, InspectionAmendment, ItemResult
from server.sync.tables import DeviceMutation
from server.violations.tables import ViolationRecord
from tests.phone_app.conftest import Phone, World
from tests.dates import bureau_today

WRONG_ID = "110105194912310021"  # the right number ends in X
RIGHT_ID = "11010519491231002X"


async def answer_items(p: Phone, world: World, *, fail_code: str) -> None:
    """Every item: pass, the cited major item fail (with a note), the other major item not applicable."""
    for item in world.items:
        card = p.page.locator(f"[data-item='{item['id']}']")
        choice = "fail" if item["code"] == fail_code else "not_applicable" if item["is_major_criterion"] else "pass"
        if choice == "fail":
            await card.locator("textarea").fill("作业前未进行气体检测，现场无检测记录")
        await card.locator(f"[data-answer='{choice}']").click()
        await card.locator(f"[data-answer='{choice}'].on").wait_for()


async def add_major_hazard(p: Phone, world: World, item: dict[str, Any], photo: Path) -> None:
    await p.page.click(f"[data-hazard-for='{item['id']}']")
    await p.page.wait_for_selector("[data-testid=five]")  # a major-criterion item opens as major, asking 五落实
    deadline = (bureau_today() + dt.timedelta(days=15)).isoformat()
    await p.page.fill("input[name=deadline_date]", deadline)
    await p.page.fill("input[name=location]", "三号车间地下污水池")
    await p.page.fill("input[name=five_responsible_person]", "王建国（厂长）")
    await p.page.fill("textarea[name=five_measures]", "立即停止有限空间作业，配备四合一气体检测仪，作业审批制度上墙")
    await p.page.fill("input[name=five_funds_yuan]", "30000")
    await p.page.fill("input[name=five_deadline_date]", deadline)
    await p.page.fill("textarea[name=five_contingency_plan]", "有限空间中毒窒息事故现场处置方案")
    await p.page.set_input_files("[data-testid=hazard-photo]", str(photo))
    await p.page.wait_for_selector(".form-screen .photo img")
    await p.shot("hazard")
    await p.page.click("[data-testid=save-hazard]")
    await p.page.wait_for_selector(".inspection [data-hazard]")


async def add_violation(p: Phone, wrong: str, right: str) -> str:
    """A 三违 typed first with a wrong check digit (refused here, nothing queued), then the right one."""
    await p.page.click("[data-testid=add-violation]")
    await p.page.fill("input[name=person_name]", "李四")
    await p.page.fill("input[name=post]", "有限空间作业人员")
    await p.page.fill("textarea[name=violation_description]", "未经气体检测进入污水池作业")
    await p.page.fill("input[name=id_number]", wrong)
    before = (await p.counts())["pending"]
    await p.page.click("[data-testid=save-violation]")
    dialog = p.page.locator(".van-dialog__message")
    await dialog.wait_for()
    refusal = await dialog.inner_text()
    await p.shot("violation-refused")
    assert (await p.counts())["pending"] == before, "a refused 三违 was queued"
    await p.page.click(".van-dialog__confirm")
    await p.page.fill("input[name=id_number]", right)
    await p.page.click("[data-testid=save-violation]")
    await p.page.wait_for_selector(".inspection [data-violation]")
    return refusal


async def take_photo(p: Phone, photo: Path) -> None:
    await p.page.set_input_files("[data-testid=photo-input]", str(photo))
    await p.page.wait_for_function("FC.app.data.uploads.length >= 2")


async def draw_signature(p: Phone, selector: str) -> None:
    """A signature stroke across the pad, the way a finger draws it."""
    canvas = p.page.locator(selector)
    await p.page.locator(".van-toast").first.wait_for(state="hidden")  # a toast over the pad would take the stroke
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    await p.page.mouse.move(x + 40, y + 120)
    await p.page.mouse.down()
    for step in range(1, 30):
        await p.page.mouse.move(x + 40 + step * 9, y + 120 - 60 * ((step % 10) / 10), steps=2)
    await p.page.mouse.up()


async def sign_and_submit(p: Phone, signer: str = "王建国") -> None:
    await p.page.click("[data-testid=go-sign]")
    canvas = p.page.locator("[data-testid=signature]")
    await canvas.wait_for()
    await p.page.fill("input[name=signer]", signer)
    await draw_signature(p, "[data-testid=signature]")
    await p.shot("sign")
    await p.page.click("[data-testid=submit]")
    await p.page.wait_for_selector(".inspection .van-notice-bar")  # the locked notice


async def sync_until_safe(p: Phone, rounds: int = 6) -> None:
    for _ in range(rounds):
        await p.sync()
        counts = await p.counts()
        if not counts["pending"] and not counts["uploadsWaiting"]:
            return
    raise AssertionError(f"still waiting after {rounds} syncs: {counts}")


async def server_rows(inspection_id: uuid.UUID) -> dict[str, Any]:
    """What the server's tables hold about one check."""
    return {
        "inspection": await Inspection.select().where(Inspection.id == inspection_id).first(),
        "results": await ItemResult.select().where(ItemResult.inspection == inspection_id),
        "hazards": await Hazard.select().where(Hazard.inspection == inspection_id),
        "violations": await ViolationRecord.select().where(ViolationRecord.inspection == inspection_id),
        "evidence": await Evidence.select().where(Evidence.inspection == inspection_id),
        "amendments": await InspectionAmendment.select().where(InspectionAmendment.inspection == inspection_id),
    }


async def device_mutations(device_id: str) -> list[dict[str, Any]]:
    return await DeviceMutation.select(DeviceMutation.seq, DeviceMutation.kind).where(
        DeviceMutation.device == uuid.UUID(device_id)).order_by(DeviceMutation.seq)


async def downloaded_sha256(url: str, headers: dict[str, str], evidence_id: uuid.UUID) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get(f"/api/v1/evidence/{evidence_id}/content", headers=headers)
        assert answer.status_code == 200, answer.text
        return hashlib.sha256(answer.content).hexdigest()
