"""Returning a phone's check for correction from its console page: the reason is required, the team is told."""

from __future__ import annotations

import httpx

from server.notifications.tables import Notification
from tests.conftest import PASSWORD
from tests.server.console.office_world import make_office, phone_check
from tests.server.console.test_office_enforcement import console_session


async def test_a_check_is_returned_with_its_reason_and_the_team_is_told(client: httpx.AsyncClient, app, tmp_path) -> None:
    office = await make_office(client)
    check = await phone_check(office, "http://fieldcheck.test", tmp_path, httpx.ASGITransport(app=app))
    post = await console_session(client, office, office.supervisor)
    url = f"/console/inspections/{check.inspection_id}/review"
    empty = await client.post(url, data={"decision": "return", "reason": "  "}, headers=post)
    assert empty.status_code == 422 and "须写明理由" in empty.text
    returned = await client.post(url, data={"decision": "return", "reason": "三违人员身份证照片缺失，请补拍"}, headers=post)
    assert returned.status_code == 200, returned.text
    page = await client.get(f"/console/inspections/{check.inspection_id}")
    assert "检查中" in page.text and "退回修改" in page.text and "三违人员身份证照片缺失" in page.text
    assert 'id="approve"' not in page.text  # nothing to review until it is signed again
    told = await Notification.select(Notification.user).where(Notification.kind == "check_returned")
    assert {t["user"] for t in told} == set(office.inspectors[:2])
    bogus = await client.post(url, data={"decision": "maybe"}, headers=post)
    assert bogus.status_code == 400  # the form's shape, refused before any service runs
    client.cookies.clear()
