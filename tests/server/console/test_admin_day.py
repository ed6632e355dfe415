"""An administrator's day in Chromium: bring the registry in from a file, people, 回避, checklists.

Against the app served on a loopback port on PostgreSQL. Screenshots of every page go to
tests/output/console-admin-*.png; no request may leave the server's origin.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from schemas import registry as registry_wire
from schemas.vocab import District, Role, Sector
from server import database
from server.accounts.policy import Actor
from server.accounts.tables import User
from server.registry import imports
from server.registry import service as registry_service
from server.registry.tables import Enterprise, EnterpriseImport
from tests.conftest import make_user, username_of
from tests.server.console.browser import Console
from tests.server.registry.import_files import registry_file

pytestmark = pytest.mark.browser


async def _status(console: Console) -> str:
    return await console.page.get_attribute("#import-report", "data-status") or ""


async def _settled(console: Console, timeout: float = 60) -> str:
    """Wait while the page polls a running import; the page reloads itself when it settles."""
    await console.page.wait_for_function(
        "() => { const r = document.getElementById('import-report'); return r && !['checking', 'applying'].includes(r.dataset.status); }",
        timeout=timeout * 1000,
    )
    await console.page.wait_for_load_state("networkidle")
    return await _status(console)


async def _confirm(console: Console) -> str:
    await console.page.click("#confirm-import")
    # The answer reloads the page: wait until it is no longer the page that offered the button.
    await console.page.wait_for_function(
        "() => { const r = document.getElementById('import-report'); return r && r.dataset.status !== 'checked'; }"
    )
    return await _settled(console)


async def _upload(console: Console, path, name: str) -> None:
    await console.open("/console/registry/imports")
    await console.page.set_input_files("#import-file", str(path))
    await console.page.click("#import-submit")
    await console.page.wait_for_url("**/console/registry/imports/*")


async def test_an_administrators_day(console: Console, tmp_path) -> None:
    admin_id = await make_user(Role.ADMIN)
    console.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await console.login(await username_of(admin_id))
    await console.shot("console-admin-home.png")
    assert await console.page.locator("nav.side a").all_text_contents() == [
        "首页", "检查记录", "双随机抽查", "隐患看板", "执法措施", "三违人员",
        "企业名录", "企业名录导入", "人员与科室", "回避管理", "检查表模板",
    ]

    # --- the registry: 500 rows, 3 of them wrong
    sheet = registry_file(500, salt=21)
    workbook = tmp_path / "中卫市企业名录.xlsx"
    workbook.write_bytes(sheet.xlsx())
    await console.open("/console/registry/imports")
    await console.shot("console-admin-imports.png")
    await _upload(console, workbook, workbook.name)
    assert await _settled(console) == "checked"
    assert await console.page.text_content("#good-rows") == "497"
    assert await console.page.text_content("#bad-rows") == "3"
    cells = await console.page.locator("#import-errors tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    assert [int(c[0]) for c in cells] == sorted(sheet.bad)
    assert [c[3] for c in cells] == ["统一社会信用代码", "统一社会信用代码", "区县"]
    assert "GB 32100" in cells[0][4] and cells[1][4] == "与第 3 行的统一社会信用代码重复" and "银川市" in cells[2][4]
    await console.shot("console-admin-import-checked.png")
    assert await Enterprise.count() == 0  # nothing written before the person confirms

    # Someone registers one of the file's enterprises meanwhile: confirming now fails, and writes nothing.
    clash = sheet.rows[-1]
    async with database.transaction():
        await registry_service.create(Actor(user_id=admin_id, role=Role.ADMIN), registry_wire.EnterpriseCreate(
            credit_code=clash[0], name="抢先登记的企业", sector=Sector.INDUSTRY_TRADE, district=District.HAIYUAN,
        ))
    assert await _confirm(console) == "failed"
    assert "未写入任何企业" in await console.page.text_content("#import-failure")
    assert await Enterprise.count() == 1
    await console.shot("console-admin-import-failed.png")

    # The same file again: the clash is now a refused row; the person confirms the good ones.
    await _upload(console, workbook, workbook.name)
    assert await _settled(console) == "checked"
    assert await console.page.text_content("#bad-rows") == "4"
    assert await _confirm(console) == "applied"
    assert "496 家企业" in await console.page.text_content("#applied-rows")
    assert await Enterprise.count() == 497
    await console.shot("console-admin-import-applied.png")
    await console.open("/console/registry/imports")
    statuses = await console.page.locator("#table-area tbody tr td:nth-child(2)").all_text_contents()
    assert statuses == ["已导入", "失败"]
    await console.shot("console-admin-imports-report.png")
    await console.open("/console/enterprises?district=zhongning")
    listed = await console.page.locator("#enterprises-table tbody tr").count()
    assert listed == 50 and await console.page.locator("a[rel=next]").count() == 1
    await console.page.click("a[rel=next]")
    await console.page.wait_for_url("**cursor=**")
    await console.page.wait_for_load_state("networkidle")
    await console.shot("console-admin-enterprises.png")
    await console.page.locator("#enterprises-table tbody a").first.click()
    await console.page.wait_for_url("**/console/enterprises/*")
    assert await console.page.locator("#enterprise").count() == 1
    await console.shot("console-admin-enterprise.png")

    # --- people: a department, an inspector with a 执法证 number; a weak password is refused with its reason
    await console.open("/console/people")
    await console.page.fill("#department-form [name=code]", "hazchem")
    await console.page.fill("#department-form [name=name]", "危化品监管科")
    await console.page.click("#department-form button")
    await console.page.wait_for_load_state("networkidle")
    await console.page.wait_for_selector("#departments li:has-text('危化品监管科')")
    form = "#user-form"
    await console.page.fill(f"{form} [name=username]", "wang.wei")
    await console.page.fill(f"{form} [name=display_name]", "王伟")
    await console.page.fill(f"{form} [name=password]", "password123")
    await console.page.select_option(f"{form} [name=department_id]", label="危化品监管科")
    await console.page.fill(f"{form} [name=badge_number]", "64050100123")
    await console.page.check(f"{form} [name=districts][value=zhongning]")
    await console.page.click(f"{form} button[type=submit]")
    await console.page.wait_for_selector("#flash .error-flash")
    assert "密码过于常见" in await console.page.text_content("#flash")
    await console.shot("console-admin-user-refused.png")
    await console.page.fill(f"{form} [name=password]", "Ningxia-river-2026")
    await console.page.click(f"{form} button[type=submit]")
    await console.page.wait_for_url("**/console/people/users/*")
    assert await console.page.text_content("#user-badge") == "64050100123"
    await console.shot("console-admin-user-created.png")
    user_url = console.page.url
    created = await User.select().where(User.username == "wang.wei").first()
    assert created["role"] == "inspector" and created["districts"] == ["zhongning"]

    await console.page.fill("#password-form [name=password]", "Another-river-77")
    await console.page.click("#password-form button")
    await console.page.wait_for_url("**saved=password")
    assert "密码已重置" in await console.page.text_content("#saved")
    await console.page.click("#toggle-active")
    await console.page.wait_for_url("**saved=active")
    assert await console.page.text_content("#user-active") == "已停用"
    await console.shot("console-admin-user-deactivated.png")
    assert console.page.url.startswith(user_url.split("?")[0])
    await console.open("/console/people")
    await console.shot("console-admin-people.png")

    # --- 回避: the new inspector may not check one of the imported enterprises
    await console.open("/console/conflicts")
    await console.page.select_option("#conflict-form [name=user_id]", label="测试admin（" + await username_of(admin_id) + "）")
    await console.page.fill("#conflict-form [name=credit_code]", sheet.rows[10][0].lower())
    await console.page.fill("#conflict-form [name=reason]", "曾在该企业任职")
    await console.page.click("#conflict-form button")
    await console.page.wait_for_selector("#conflicts-table td:has-text('曾在该企业任职')")
    await console.shot("console-admin-conflicts.png")

    # --- checklists: a new template, then its second version
    await console.open("/console/checklists")
    await console.page.fill("#checklist-form [name=code]", "hazchem-storage")
    await console.page.fill("#checklist-form [name=title]", "危险化学品储存检查表")
    await console.page.fill("#checklist-form [name=items]",
                            "HC-01 | 储存 | 专用仓库是否符合要求 | 《危险化学品安全管理条例》第二十四条 | 是\n"
                            "HC-02 | 管理 | 出入库核查登记制度 | | 否")
    await console.page.click("#checklist-form button")
    await console.page.wait_for_url("**/console/checklists/*")
    assert await console.page.locator("#items tbody tr").count() == 2
    await console.page.fill("#revise-form [name=items]",
                            "HC-01 | 储存 | 专用仓库是否符合要求 | 《危险化学品安全管理条例》第二十四条 | 是\n"
                            "HC-02 | 管理 | 出入库核查登记制度 | | 否\nHC-03 | 应急 | 应急预案是否备案 | | 否")
    await console.page.click("#revise-form button")
    await console.page.wait_for_selector("h1:has-text('第 2 版')")
    assert await console.page.locator("#items tbody tr").count() == 3
    assert await console.page.locator("#versions li").count() == 2
    await console.shot("console-admin-checklist-v2.png")
    await console.open("/console/checklists?versions=all")
    await console.shot("console-admin-checklists.png")

    assert console.external_requests() == [], console.external_requests()
    assert await EnterpriseImport.count() == 2
    assert uuid.UUID(user_url.rsplit("/", 1)[-1].split("?")[0])


async def _supervisor_uploads(console: Console, path, body: bytes) -> None:
    """A new supervisor logs in (accepting the pages' confirmations) and uploads ``body`` as ``path``."""
    supervisor = await make_user(Role.SUPERVISOR)
    console.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await console.login(await username_of(supervisor))
    path.write_bytes(body)
    await _upload(console, path, path.name)


async def test_a_large_file_shows_its_progress_while_it_is_checked(console: Console, tmp_path, monkeypatch) -> None:
    # The check is quick now: it is held after its first chunk until the page has shown that chunk's progress.
    looked, real_stage, chunks = asyncio.Event(), imports._stage, []

    async def held_stage(*args: object) -> None:
        await real_stage(*args)
        chunks.append(1)
        if len(chunks) == 1:
            await asyncio.wait_for(looked.wait(), 90)

    monkeypatch.setattr(imports, "_stage", held_stage)
    await _supervisor_uploads(console, tmp_path / "全市企业名录.csv", registry_file(6000, salt=33).csv())
    # While the check runs the page polls its progress (htmx, every second) and draws a bar.
    await console.page.wait_for_function(
        "() => { const n = document.getElementById('checked-rows'); return n && +n.textContent > 0; }", timeout=60_000
    )
    await console.shot("console-admin-import-progress.png")
    assert await console.page.get_attribute("#import-bar", "max") == "6000"
    assert await console.page.text_content("#checked-rows") == "500"  # one chunk committed, read by the poll
    looked.set()
    assert await _settled(console, timeout=240) == "checked"
    assert any("/progress" in u for u in console.requests)
    assert await console.page.text_content("#bad-rows") == "3"
    await console.page.click("#discard-import")
    await console.page.wait_for_function("() => document.getElementById('import-report').dataset.status === 'discarded'")
    assert await Enterprise.count() == 0
    await console.shot("console-admin-import-discarded.png")
    # On a tablet held upright the pages still fit the screen (wide tables scroll inside their own box).
    await console.page.set_viewport_size({"width": 820, "height": 1180})
    for path, name in (("/console/registry/imports", "imports"), ("/console/people", "people")):
        await console.open(path)
        assert await console.page.evaluate("document.documentElement.scrollWidth") <= 820, path
        await console.shot(f"console-admin-{name}-tablet.png")
    assert console.external_requests() == []


async def test_the_apply_shows_its_progress_from_the_database_then_its_report(console: Console, tmp_path, monkeypatch) -> None:
    """The page polls what the apply committed so far; the enterprises appear only when the one transaction commits."""
    monkeypatch.setattr(imports, "APPLY_CHUNK", 300)
    looked, real = asyncio.Event(), registry_service.create_imported

    async def held(*args: object) -> None:
        await asyncio.wait_for(looked.wait(), 90)
        await real(*args)

    monkeypatch.setattr(registry_service, "create_imported", held)
    await _supervisor_uploads(console, tmp_path / "名录.csv", registry_file(1200, salt=34).csv())
    assert await _settled(console) == "checked"
    await console.page.click("#confirm-import")
    await console.page.wait_for_function(
        "() => (document.getElementById('import-progress')?.textContent || '').includes('已准备 1197 / 1197')", timeout=60_000
    )
    await console.shot("console-admin-import-applying.png")
    assert await Enterprise.count() == 0
    looked.set()
    assert await _settled(console) == "applied"
    assert "1197 家企业" in await console.page.text_content("#applied-rows")
    assert await Enterprise.count() == 1197
    await console.shot("console-admin-import-applied-report.png")
    assert console.external_requests() == []
