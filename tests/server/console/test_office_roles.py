"""Each role against the office pages: what a page does not offer it, the server refuses when posted anyway.

One bureau per test (see ``office_world``): a phone's signed check with a hazard and a 三违, a planned check, a
suspension proposed by the department's supervisor, and a drawn campaign. For each role the test opens the
pages (a screenshot of each), checks which actions they offer, then POSTs every office action from inside the
page with its own CSRF token and checks the answer and that nothing changed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest

from server.audit.tables import AuditEntry
from tests.server.console.browser import Console
from tests.server.console.office_world import Office, PhoneCheck, make_office, phone_check
from tests.dates import bureau_today

pytestmark = pytest.mark.browser

#: Every action button of the office pages, by the page it is on.
BUTTONS = (".verify", "#approve", "#return", "#assign-team", "#order-recheck", "#close-hazard", "#decide-submit",
           "#review-submit", "#draw-button", "#create-campaign", ".reveal", "#propose-submit")


@dataclass
class Scene:
    office: Office
    check: PhoneCheck
    planned: uuid.UUID
    action: uuid.UUID
    campaign: uuid.UUID
    draw: uuid.UUID

    @property
    def verify(self) -> str:
        return f"/console/spotchecks/draws/{self.draw}/verify"

    def pages(self) -> dict[str, str]:
        return {
            "check": f"/console/inspections/{self.check.inspection_id}",
            "checks": "/console/inspections",
            "hazard": f"/console/hazards/{self.check.hazard_id}",
            "board": "/console/hazards",
            "action": f"/console/enforcement/{self.action}",
            "actions": "/console/enforcement",
            "campaign": f"/console/spotchecks/{self.campaign}",
            "campaigns": "/console/spotchecks",
            "register": "/console/violations",
            "enterprise": f"/console/enterprises/{self.office.enterprises[0]}",
            "photo": f"/console/evidence/{self.check.photo_ids[0]}/thumbnail",
        }

    def posts(self) -> dict[str, tuple[str, dict[str, str]]]:
        o = self.office
        return {
            "review": (f"/console/inspections/{self.check.inspection_id}/review", {"decision": "approve"}),
            "team": (f"/console/inspections/{self.planned}/team", {"lead": str(o.inspectors[3])}),
            "recheck": (f"/console/hazards/{self.check.hazard_id}/recheck", {}),
            "close": (f"/console/hazards/{self.check.hazard_id}/close", {}),
            "propose": ("/console/enforcement/propose", {"inspection_id": str(self.check.inspection_id),
                                                         "kind": "rectify_order", "reason": "责令限期整改",
                                                         "deadline_date": (bureau_today() + dt.timedelta(days=7)).isoformat()}),
            "decide": (f"/console/enforcement/{self.action}/decide", {"approve": "yes", "note": "同意"}),
            "legal": (f"/console/enforcement/{self.action}/legal-review", {"approve": "yes", "opinion": "同意"}),
            "campaign": ("/console/spotchecks", {"name": "越权计划", "period_start": bureau_today().isoformat(),
                                                 "period_end": (bureau_today() + dt.timedelta(days=7)).isoformat(),
                                                 "sample_value": "1"}),  # a week holds working days, whatever today is
            "draw": (f"/console/spotchecks/{self.campaign}/draw", {"reason": "再抽一次看看"}),
            "reveal": (f"/console/violations/{self.check.violation_id}/id-number", {}),
        }


@pytest.fixture
async def scene(client, console: Console, console_url, tmp_path) -> Scene:
    office = await make_office(client)
    check = await phone_check(office, console_url, tmp_path)
    planned = await office.assign(office.inspectors[2:4], enterprise=office.enterprises[1])
    supervisor = await office.headers(office.supervisor)
    action = await client.post("/api/v1/enforcement-actions/", headers=supervisor, json={
        "id": str(uuid.uuid4()), "kind": "suspension", "inspection_id": str(check.inspection_id),
        "reason": "报警系统失效仍组织生产"})
    assert action.status_code == 201, action.text
    today = bureau_today()
    campaign = await client.post("/api/v1/spot-checks/campaigns", headers=supervisor, json={
        "name": "暗访抽查", "period_start": (today + dt.timedelta(days=1)).isoformat(),
        "period_end": (today + dt.timedelta(days=15)).isoformat(), "covert": True,
        "rules": {"sample_size": 2, "weekdays": [1, 2, 3, 4, 5, 6, 7], "filters": {"sectors": ["hazardous_chemicals"]}}})
    assert campaign.status_code == 201, campaign.text
    drawn = await client.post(f"/api/v1/spot-checks/campaigns/{campaign.json()['id']}/draws", json={}, headers=supervisor)
    assert drawn.status_code == 201, drawn.text
    return Scene(office, check, planned, uuid.UUID(action.json()["id"]), uuid.UUID(campaign.json()["id"]),
                 uuid.UUID(drawn.json()["id"]))


async def visit(console: Console, scene: Scene, role: str) -> dict[str, int]:
    """Open every page as the logged-in role: its status, a screenshot, and the action buttons it shows."""
    statuses = {}
    for name, path in scene.pages().items():
        if name == "photo":
            statuses[name] = (await console.get(path))["status"]
            continue
        response = await console.open(path)
        statuses[name] = response.status
        await console.shot(f"console-office-role-{role}-{name}.png")
        if response.status == 200:
            shown = [b for b in BUTTONS if await console.page.locator(b).count()]
            statuses[name + ".buttons"] = shown  # type: ignore[assignment]
    return statuses


async def post_all(console: Console, scene: Scene, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """POST every office action but ``skip`` from a page of the session (its CSRF token); nothing may be written."""
    await console.open("/console")
    before = await AuditEntry.count()
    answers = {}
    for name, (path, form) in scene.posts().items():
        if name in skip:
            continue
        answer = await console.post(path, form)
        answers[name] = (answer["status"], answer["text"])
    if "campaign" not in answers or answers["campaign"][0] != 200:
        assert await AuditEntry.count() == before, "a refused POST wrote to the audit log"
    return answers


async def test_an_inspector_has_no_office_page_and_no_office_post(scene: Scene, console: Console) -> None:
    await console.login(scene.office.usernames[scene.office.inspectors[0]])
    statuses = await visit(console, scene, "inspector")
    assert {k: v for k, v in statuses.items() if not k.endswith(".buttons")} == dict.fromkeys(scene.pages(), 403)
    answers = await post_all(console, scene)
    assert {k: s for k, (s, _) in answers.items()} == dict.fromkeys(scene.posts(), 403)
    assert all("当前角色无权访问此页面" in t for _, t in answers.values())
    assert (await console.get(scene.verify))["status"] == 403
    assert console.external_requests() == []


async def test_a_supervisor_of_another_department_sees_none_of_it_and_changes_none_of_it(scene: Scene, console: Console) -> None:
    await console.login(scene.office.usernames[scene.office.other_supervisor])
    statuses = await visit(console, scene, "other-supervisor")
    for name in ("check", "hazard", "action", "campaign", "photo"):
        assert statuses[name] == 404, (name, statuses[name])
    assert (await console.get(scene.verify))["status"] == 404
    assert statuses["enterprise"] == 200  # the registry is bureau-wide; its records of department A are not
    await console.open("/console/inspections")
    assert await console.page.locator("#table-area td.empty").count() == 1
    await console.open("/console/hazards")
    assert await console.page.locator("#table-area td.empty").count() == 1
    await console.open("/console/enforcement")
    assert await console.page.locator("#table-area td.empty").count() == 1
    await console.open(f"/console/enterprises/{scene.office.enterprises[0]}")
    assert "报警系统失效" not in await console.page.content() and "罐区可燃气体" not in await console.page.content()
    answers = await post_all(console, scene)
    expected = {"review": 404, "team": 404, "recheck": 404, "close": 404, "propose": 404, "decide": 403,
                "legal": 403, "draw": 404, "reveal": 403}
    assert {k: answers[k][0] for k in expected} == expected, answers
    assert answers["campaign"][0] == 200, answers["campaign"]  # planning a campaign of their own is theirs to do
    assert console.external_requests() == []


async def test_a_leader_reads_every_page_and_no_post_is_accepted(scene: Scene, console: Console) -> None:
    await console.login(scene.office.usernames[scene.office.leader])
    statuses = await visit(console, scene, "leader")
    for name in scene.pages():
        assert statuses[name] == 200, (name, statuses[name])
        assert statuses.get(name + ".buttons", []) == [], (name, statuses.get(name + ".buttons"))
    await console.open(f"/console/spotchecks/{scene.campaign}")
    assert await console.page.locator("#tasks-hidden").count() == 1  # covert targets: the owner's alone
    assert (await console.get(scene.verify))["status"] == 403  # the draw's inputs name them too
    answers = await post_all(console, scene)
    assert {k: s for k, (s, _) in answers.items()} == dict.fromkeys(scene.posts(), 403)
    assert all("只读" in t for _, t in answers.values())
    assert console.external_requests() == []


async def test_a_legal_reviewer_reviews_only_and_sees_only_enforcement(scene: Scene, console: Console) -> None:
    await console.login(scene.office.usernames[scene.office.legal])
    statuses = await visit(console, scene, "legal-reviewer")
    assert statuses["action"] == 200 and statuses["actions"] == 200
    assert statuses["action.buttons"] == []  # nothing awaits 法制审核 yet; deciding is not the reviewer's
    for name in ("check", "checks", "hazard", "board", "campaign", "campaigns", "register", "enterprise", "photo"):
        assert statuses[name] == 403, (name, statuses[name])
    answers = await post_all(console, scene)
    assert answers["decide"][0] == 403 and "只读" in answers["decide"][1]  # its one write is 法制审核
    assert answers["legal"][0] == 409 and "不在待法制审核状态" in answers["legal"][1]
    assert answers["propose"][0] == 403
    others = {k: answers[k][0] for k in ("review", "team", "recheck", "close", "campaign", "draw", "reveal")}
    assert others == dict.fromkeys(others, 403), answers
    assert console.external_requests() == []


async def test_an_admin_reads_but_neither_reviews_decides_nor_draws(scene: Scene, console: Console) -> None:
    await console.login(scene.office.usernames[scene.office.admin])
    statuses = await visit(console, scene, "admin")
    for name in scene.pages():
        assert statuses[name] == 200, (name, statuses[name])
    assert statuses["check.buttons"] == [] and statuses["action.buttons"] == []
    assert statuses["hazard.buttons"] == [] and statuses["campaign.buttons"] == []
    await console.open(f"/console/spotchecks/{scene.campaign}")
    assert await console.page.locator("#tasks-hidden").count() == 1
    assert (await console.get(scene.verify))["status"] == 403
    answers = await post_all(console, scene, skip=("team",))  # admins do assign teams
    expected = dict.fromkeys(("review", "recheck", "close", "propose", "decide", "legal", "campaign", "draw", "reveal"), 403)
    assert {k: s for k, (s, _) in answers.items()} == expected, answers
    assert console.external_requests() == []

