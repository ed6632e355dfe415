"""A supervisor's day in the office console, in Debian's chromium against the app on PostgreSQL.

Plan and draw a 双随机 campaign and verify the draw; review a check a phone synced through ``sync_client`` (its
photos on the page); follow its hazard to an ordered recheck that a second inspector's phone passes; propose a
suspension that a second supervisor decides and the legal reviewer reviews; look a 三违 person's full ID number
up (audited). Every page is photographed to tests/output/console-office-*.png; no request leaves the origin.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from schemas.hazards import RecheckResult
from server.audit.tables import AuditEntry
from server.enforcement.tables import EnforcementAction
from server.hazards.tables import Recheck, RecheckAssignee
from tests.conftest import PASSWORD
from tests.server.console.browser import Console
from tests.server.console.office_world import ID_NUMBER, make_office, phone, phone_check, sync_all
from tests.dates import bureau_today

pytestmark = pytest.mark.browser


async def act(console: Console, selector: str) -> None:
    """Press a button whose POST ends in a page load (HX-Redirect)."""
    async with console.page.expect_navigation():
        await console.page.click(selector)
    await console.page.wait_for_load_state("networkidle")


async def refused(console: Console, selector: str) -> str:
    """Press a button whose POST the server refuses; the refusal appears in the page's notice area."""
    await console.page.click(selector)
    await console.page.wait_for_selector("#flash .error-flash")
    return (await console.page.text_content("#flash #error-message")) or ""


async def text(console: Console, selector: str) -> str:
    return ((await console.page.text_content(selector)) or "").strip()


async def images_loaded(console: Console, selector: str) -> list[int]:
    return await console.page.eval_on_selector_all(selector, "els => els.map(e => e.complete ? e.naturalWidth : 0)")


async def test_a_supervisors_day(client, console: Console, console_url, tmp_path) -> None:
    office = await make_office(client)
    check = await phone_check(office, console_url, tmp_path)
    await console.login(office.usernames[office.supervisor])
    await console.shot("console-office-home.png")

    # --- 双随机: plan, preview the pool, draw, verify ----------------------------------------------------------
    await console.open("/console/spotchecks")
    today = bureau_today()
    await console.page.fill("#campaign-name", "十二月危化企业双随机抽查")
    await console.page.fill("input[name=label]", "重点时段：元旦")
    await console.page.fill("#period-start", (today + dt.timedelta(days=1)).isoformat())
    await console.page.fill("#period-end", (today + dt.timedelta(days=20)).isoformat())
    await console.page.check("input[name=sectors][value=hazardous_chemicals]")
    for day in (6, 7):
        await console.page.check(f"input[name=weekdays][value='{day}']")
    await console.page.fill("#sample-value", "2")
    await console.shot("console-office-campaign-new.png")
    await act(console, "#create-campaign")
    assert "/console/spotchecks/" in console.page.url
    campaign_id = console.page.url.rsplit("/", 1)[1]
    assert await text(console, "#eligible") == "6" and await text(console, "#sample") == "2"
    await console.shot("console-office-campaign-pool.png")
    await act(console, "#draw-button")
    assert await text(console, "#status") == "已抽取"
    assert await console.page.locator("#tasks tbody tr").count() == 2
    seed_hash = await text(console, ".draw .seed-hash")
    assert len(seed_hash) == 64 and len(await text(console, ".draw .seed")) == 64
    await console.page.click("#verify-button-1")
    await console.page.wait_for_selector(".verification[data-ok=yes]")
    assert "复核一致" in await text(console, ".verification")
    await console.shot("console-office-campaign-verified.png")

    # --- the check a phone synced: photos, signature, items, hazard, 三违, history; approve ---------------------
    await console.open("/console/inspections?status=submitted")
    assert await console.page.locator("#table-area tbody tr").count() == 1
    await console.shot("console-office-checks.png")
    async with console.page.expect_navigation():
        await console.page.click("#table-area tbody tr a")
    await console.page.wait_for_load_state("networkidle")
    assert console.page.url.endswith(f"/console/inspections/{check.inspection_id}")
    assert await console.page.locator("#item-results tbody tr").count() == 3
    assert "一名电工无证上岗" in await text(console, "#item-results")
    photos = await images_loaded(console, "section .photos img")
    assert len(photos) == 3 and all(w > 0 for w in photos), photos  # two photos and the signature, decoded
    assert "罐区可燃气体报警器未定期标定" in await text(console, "#hazards")
    masked = await text(console, "#violations .masked")
    assert masked != ID_NUMBER and masked[:3] == ID_NUMBER[:3] and "*" in masked
    assert "签字提交" in await text(console, "#history")
    await console.shot("console-office-check.png")
    await console.page.click(f"figure[data-evidence='{check.photo_ids[0]}'] a.zoom")
    await console.page.wait_for_function(
        "() => { const i = document.querySelector('#lightbox img'); return !document.getElementById('lightbox').hidden && i.complete && i.naturalWidth >= 640; }"
    )
    await console.shot("console-office-check-photo.png")
    await console.page.click("#lightbox .close")
    await act(console, "#approve")
    assert await text(console, "#status") == "已审核"
    assert "审核通过" in await text(console, "#history")
    await console.shot("console-office-check-approved.png")

    # --- the hazard: board, ordered recheck passed on another inspector's phone, closed ------------------------
    await console.open("/console/hazards")
    assert "罐区可燃气体报警器未定期标定" in await text(console, "#table-area")
    await console.shot("console-office-hazards.png")
    await console.open(f"/console/hazards/{check.hazard_id}")
    assert await console.page.locator("#close-hazard").count() == 0  # no passed recheck yet
    early = await console.post(f"/console/hazards/{check.hazard_id}/close")
    assert early["status"] == 409 and "须经复查合格" in early["text"]
    await act(console, "#order-recheck")
    assert "负责人安排复查" in await text(console, "#rechecks") and "待复查" in await text(console, "#rechecks")
    await console.shot("console-office-hazard-recheck-ordered.png")
    [recheck] = await Recheck.select(Recheck.id).where(Recheck.hazard == check.hazard_id)
    assignees = {a["user"] for a in await RecheckAssignee.select(RecheckAssignee.user).where(RecheckAssignee.recheck == recheck["id"])}
    assert assignees and not assignees & set(office.inspectors[:2])  # away from the finders
    rechecker = sorted(assignees, key=str)[0]
    async with phone(console_url, tmp_path, "rechecker") as sc:
        await sc.login(office.usernames[rechecker], PASSWORD)
        await sync_all(sc)
        await sc.report_recheck(recheck["id"], passed=True, note="报警器已标定，记录齐全")
        await sync_all(sc)
    await console.open(f"/console/hazards/{check.hazard_id}")
    assert await text(console, "#status") == "已销号"
    assert "复查合格" in await text(console, "#rechecks")
    assert "销号" in await text(console, "#history")
    await console.shot("console-office-hazard-closed.png")

    # --- enforcement: proposed by one supervisor, decided by another, reviewed by the legal reviewer -----------
    await console.open(f"/console/inspections/{check.inspection_id}")
    await console.page.click("#propose summary")
    await console.page.select_option("#propose-kind", "suspension")
    await console.page.fill("#propose-reason", "可燃气体报警系统失效期间仍组织生产，责令停产停业整顿")
    await console.page.fill("input[name=legal_basis]", "《安全生产法》第一百零二条")
    await act(console, "#propose-submit")
    action_id = console.page.url.rsplit("/", 1)[1]
    assert await text(console, "#status") == "待决定"
    message = await refused(console, "#decide-submit")
    assert "提出人不能决定" in message, message
    await console.shot("console-office-enforcement-own-refused.png")
    await console.logout()

    await console.login(office.usernames[office.second_supervisor])
    await console.open(f"/console/enforcement/{action_id}")
    await console.page.fill("#decide-note", "同意责令停产停业整顿")
    await act(console, "#decide-submit")
    assert await text(console, "#status") == "待法制审核"
    await console.shot("console-office-enforcement-decided.png")
    await console.logout()

    await console.login(office.usernames[office.legal])
    await console.open("/console/enforcement?status=awaiting_review")
    await console.shot("console-office-enforcement-list-legal.png")
    async with console.page.expect_navigation():
        await console.page.click("#table-area tbody tr a")
    await console.page.fill("#review-opinion", "事实清楚，证据确凿，程序合法，适用依据正确")
    await act(console, "#review-submit")
    assert await text(console, "#status") == "已生效"
    await console.shot("console-office-enforcement-reviewed.png")
    row = await EnforcementAction.select().where(EnforcementAction.id == uuid.UUID(action_id)).first()
    assert (row["proposed_by"], row["decided_by"], row["reviewed_by"]) == (office.supervisor, office.second_supervisor, office.legal)
    await console.logout()

    # --- §113 counter and the 三违 register -------------------------------------------------------------------
    await console.login(office.usernames[office.supervisor])
    await console.open(f"/console/enterprises/{office.enterprises[0]}")
    assert await text(console, "#short-count") == "1 次"
    await console.shot("console-office-enterprise.png")
    await console.open("/console/violations")
    assert "马小军" in await text(console, "#table-area")
    await console.shot("console-office-violations.png")
    async with console.page.expect_navigation():
        await console.page.click("#table-area tbody tr a")
    await console.page.click(f"[data-violation='{check.violation_id}'] .reveal")
    await console.page.wait_for_selector(f"[data-revealed='{check.violation_id}']")
    assert await text(console, f"[data-revealed='{check.violation_id}']") == ID_NUMBER
    looks = await AuditEntry.count().where(
        (AuditEntry.action == "violation.reveal_id_number") & (AuditEntry.entity_id == str(check.violation_id)))
    assert looks == 1
    await console.shot("console-office-person.png")
    await console.open(f"/console/spotchecks/{campaign_id}")
    await console.shot("console-office-campaign-after.png")

    assert console.external_requests() == []


async def test_a_supervisor_names_the_pair_and_settles_what_their_phones_disagree_on(client, console: Console, console_url, tmp_path) -> None:
    office = await make_office(client)
    first, second, conflicted = office.inspectors[0], office.inspectors[1], office.inspectors[2]
    declared = await client.post("/api/v1/conflicts-of-interest/", headers=await office.headers(office.supervisor), json={
        "user_id": str(conflicted), "enterprise_id": str(office.enterprises[3]), "reason": "其兄在该企业任生产副总"})
    assert declared.status_code == 201, declared.text
    inspection = await office.assign([office.inspectors[3]], enterprise=office.enterprises[3])
    await console.login(office.usernames[office.supervisor])
    await console.open(f"/console/inspections/{inspection}")
    await console.page.select_option("#team-lead", str(first))
    await console.page.select_option("#team-member", str(conflicted))
    message = await refused(console, "#assign-team")
    assert "回避" in message, message
    await console.shot("console-office-assign-refused.png")
    await console.page.select_option("#team-member", str(second))
    await act(console, "#assign-team")
    assert office.usernames[first] in await text(console, "section.card dl") and office.usernames[second] in await text(console, "section.card dl")
    await console.shot("console-office-assigned.png")

    # Both phones take the check; each records the first item offline, differently.
    async with phone(console_url, tmp_path, "a") as a, phone(console_url, tmp_path, "b") as b:
        await a.login(office.usernames[first], PASSWORD)
        await b.login(office.usernames[second], PASSWORD)
        await sync_all(a)
        await sync_all(b)
        await a.start_inspection(inspection)
        await a.record_item_result(inspection, office.items[0], outcome="pass")
        await sync_all(a)
        await b.record_item_result(inspection, office.items[0], outcome="fail", note="安全责任制未签订")
        await b.sync()
    await console.open(f"/console/inspections/{inspection}")
    assert await console.page.locator("#conflicts .conflict").count() == 1
    assert await text(console, "#conflicts .client-value") == "不符合"
    await console.shot("console-office-conflict.png")
    await console.page.check("#conflicts input[name=choose][value=client]")
    await console.page.fill("#conflicts input[name=reason]", "现场照片显示责任制未签订")
    await act(console, "#conflicts button[type=submit]")
    assert await console.page.locator("#conflicts").count() == 0
    assert "不符合" in await text(console, "#item-results tbody tr:first-child")
    assert "裁定冲突" in await text(console, "#history")
    await console.shot("console-office-conflict-resolved.png")
    assert console.external_requests() == []


async def test_the_public_list_shows_a_drawn_check_once_approved(client, console: Console, console_url, tmp_path) -> None:
    office = await make_office(client)
    supervisor = await office.headers(office.supervisor)
    today = bureau_today()
    campaign = await client.post("/api/v1/spot-checks/campaigns", headers=supervisor, json={
        "name": "危化企业公开抽查", "period_start": today.isoformat(), "period_end": (today + dt.timedelta(days=10)).isoformat(),
        "covert": False, "rules": {"sample_size": 1, "weekdays": [1, 2, 3, 4, 5, 6, 7],
                                   "filters": {"sectors": ["hazardous_chemicals"]}}})
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    drawn = await client.post(f"/api/v1/spot-checks/campaigns/{campaign_id}/draws", json={}, headers=supervisor)
    assert drawn.status_code == 201, drawn.text
    [task] = (await client.get(f"/api/v1/spot-checks/campaigns/{campaign_id}/tasks", headers=supervisor)).json()
    lead = uuid.UUID(task["team"][0])
    async with phone(console_url, tmp_path, "spot") as sc:
        await sc.login(office.usernames[lead], PASSWORD)
        await sync_all(sc)
        inspection = uuid.UUID(task["inspection_id"])
        await sc.start_inspection(inspection)
        for item in office.items:
            await sc.record_item_result(inspection, item, outcome="pass")
        await sc.submit_inspection(inspection, summary="未发现隐患", signed_by_name="企业负责人")
        await sync_all(sc)

    await console.login(office.usernames[office.supervisor])
    await console.open(f"/console/spotchecks/{campaign_id}")
    assert await console.page.locator("#public-results td.empty").count() == 1  # signed, not yet approved
    await console.open(f"/console/inspections/{inspection}")
    await act(console, "#approve")
    await console.open(f"/console/spotchecks/{campaign_id}")
    rows = console.page.locator("#public-results tbody tr")
    assert await rows.count() == 1 and "未发现隐患" in await text(console, "#public-results tbody tr")
    assert task["enterprise_name"] in await text(console, "#public-results")
    assert await text(console, "#progress b:nth-of-type(3)") == "1"  # done
    csv = await console.get(f"/console/spotchecks/{campaign_id}/results.csv")
    assert csv["status"] == 200 and task["enterprise_name"] in csv["text"] and office.usernames[lead] not in csv["text"]
    assert await console.page.locator("#draw-button").count() == 0  # released: no redraw is offered
    refused = await console.post(f"/console/spotchecks/{campaign_id}/draw", {"reason": "重新抽取一次"})
    assert refused["status"] == 409 and "不能重新抽取" in refused["text"]
    await console.shot("console-office-campaign-published.png")
    assert console.external_requests() == []
