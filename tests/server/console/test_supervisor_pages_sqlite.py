"""A supervisor walks the console's main pages in Chromium on the embedded SQLite default (no PostgreSQL).

The app is served on a loopback port on a fresh SQLite database; the office, a phone's synced
check (photos, a hazard, a 三违) and a registry file all arrive through the served HTTP API and
pages. Screenshots: tests/output/console-sqlite-*.png; no request leaves the server's origin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser

from tests.browser import serve_app
from tests.server.console.browser import Console
from tests.server.console.office_world import make_office, phone_check
from tests.server.registry.import_files import registry_file
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
async def embedded(sqlite_app, chromium: Browser) -> AsyncIterator[Console]:  # noqa: F811
    async with serve_app(sqlite_app) as url:
        context = await chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        yield Console(await context.new_page(), url)
        await context.close()


async def _shown(console: Console, path: str, name: str, *texts: str) -> None:
    response = await console.open(path)
    assert response.status == 200, (path, response.status)
    body = await console.page.inner_text("main")
    for text in texts:
        assert text in body, (path, text)
    await console.shot(f"console-sqlite-{name}.png")


async def test_a_supervisor_walks_the_main_pages_on_sqlite(embedded: Console, tmp_path) -> None:
    console = embedded
    async with httpx.AsyncClient(base_url=console.url) as api:
        office = await make_office(api)
        check = await phone_check(office, console.url, tmp_path)
    await console.login(office.usernames[office.supervisor])
    await console.shot("console-sqlite-home.png")
    assert "检查记录" in await console.page.inner_text("nav")

    await _shown(console, "/console/inspections?status=submitted", "inspections", "已提交")
    await console.page.click(f"a[href='/console/inspections/{check.inspection_id}']")
    await console.page.wait_for_load_state("networkidle")
    assert "一名电工无证上岗" in await console.page.inner_text("main")
    thumbs = await console.page.eval_on_selector_all(
        "img[src*='/thumbnail']", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert thumbs and all(thumbs), thumbs  # the phone's photos load from this server
    await console.shot("console-sqlite-inspection.png")

    await _shown(console, "/console/hazards", "hazards", "罐区可燃气体报警器未定期标定")
    await _shown(console, f"/console/hazards/{check.hazard_id}", "hazard", "罐区可燃气体报警器未定期标定")
    await _shown(console, "/console/enforcement", "enforcement", "共 0 条")
    await _shown(console, "/console/violations", "violations", "马小军")
    masked = await console.page.inner_text("td.masked")
    assert "*" in masked and len(masked) == 18
    await _shown(console, "/console/spotchecks", "spotchecks", "双随机")
    await _shown(console, "/console/enterprises", "enterprises", "第 1 页")
    await _shown(console, f"/console/enterprises/{office.enterprises[0]}", "enterprise")
    await _shown(console, "/console/people", "people", "执法支队")
    await _shown(console, "/console/conflicts", "conflicts", "回避")
    await _shown(console, "/console/checklists", "checklists", "检查表")

    # A registry file through the page: checked, confirmed, applied on SQLite, with its report.
    path = tmp_path / "名录.csv"
    path.write_bytes(registry_file(300, salt=71).csv())
    await console.open("/console/registry/imports")
    await console.page.set_input_files("#import-file", str(path))
    await console.page.click("#import-submit")
    await console.page.wait_for_url("**/console/registry/imports/*")
    await console.page.wait_for_function("() => document.getElementById('import-report')?.dataset.status === 'checked'",
                                         timeout=60_000)
    await console.shot("console-sqlite-import-checked.png")
    console.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # the hx-confirm question
    await console.page.click("#confirm-import")
    await console.page.wait_for_function(
        "() => !['checked', 'applying'].includes(document.getElementById('import-report')?.dataset.status)", timeout=60_000
    )
    await console.page.wait_for_load_state("networkidle")
    await console.shot("console-sqlite-import-applied.png")
    assert await console.page.get_attribute("#import-report", "data-status") == "applied", await console.page.inner_text("main")
    assert "297 家企业" in await console.page.inner_text("#applied-rows")
    await _shown(console, "/console/registry/imports", "imports", "已导入", "共 1 条")

    assert console.external_requests() == []
