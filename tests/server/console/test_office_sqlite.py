"""The office pages on the embedded SQLite default: a phone's check read, approved, its hazard's recheck ordered."""

from __future__ import annotations

import re

import httpx

from tests.conftest import PASSWORD
from tests.server.console.office_world import make_office, phone_check
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)

BASE = "http://embedded.test"


async def test_the_office_pages_work_embedded(sqlite_app, tmp_path):  # noqa: F811
    transport = httpx.ASGITransport(app=sqlite_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as api, \
            httpx.AsyncClient(transport=transport, base_url=BASE) as web:
        office = await make_office(api)
        check = await phone_check(office, BASE, tmp_path, transport)
        answer = await web.post("/console/login", data={"username": office.usernames[office.supervisor], "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        home = await web.get("/console")
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)
        post = {"x-csrf-token": csrf, "hx-request": "true"}

        listed = await web.get("/console/inspections", params={"status": "submitted", "district": "shapotou"})
        assert listed.status_code == 200 and f"/console/inspections/{check.inspection_id}" in listed.text
        far = await web.get("/console/inspections", params={"date_to": "9999-12-31"})
        assert far.status_code == 422 and "日期" in far.text  # bounded like the API's, never a 500
        page = await web.get(f"/console/inspections/{check.inspection_id}")
        assert page.status_code == 200 and "一名电工无证上岗" in page.text and "签字提交" in page.text
        thumb = await web.get(f"/console/evidence/{check.photo_ids[0]}/thumbnail")
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
        approved = await web.post(f"/console/inspections/{check.inspection_id}/review", data={"decision": "approve"}, headers=post)
        assert approved.status_code == 200 and approved.headers["hx-redirect"].endswith(str(check.inspection_id)), approved.text
        assert "已审核" in (await web.get(f"/console/inspections/{check.inspection_id}")).text

        board = await web.get("/console/hazards")
        assert board.status_code == 200 and "罐区可燃气体报警器未定期标定" in board.text
        ordered = await web.post(f"/console/hazards/{check.hazard_id}/recheck", headers=post)
        assert ordered.status_code == 200, ordered.text
        assert "负责人安排复查" in (await web.get(f"/console/hazards/{check.hazard_id}")).text
        for path in ("/console/enforcement", "/console/spotchecks", "/console/violations",
                     f"/console/enterprises/{office.enterprises[0]}"):
            shown = await web.get(path)
            assert shown.status_code == 200, (path, shown.text[:500])
