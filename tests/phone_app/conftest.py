"""The phone app in Debian's chromium (Playwright, ``executable_path``) against the app served on a loopback port.

``world`` builds a team through the API (a supervisor assigns a check with a 20-item checklist, two of them
重大事故隐患 criteria); ``phone`` is one phone-sized browser context (390×844, touch) with its own IndexedDB and
service worker; ``Phone`` drives the app the way a person does: taps, typing, the camera's file input.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from playwright.async_api import BrowserContext, Page, async_playwright

from schemas.vocab import Role
from tests.browser import OUTPUT, serve_app
from tests.conftest import PASSWORD, login, make_department, make_user, random_credit_code, username_of
from tests.dates import bureau_today

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 390, "height": 844}


@dataclass
class World:
    """One department's day: who, which enterprise, which checklist, which check."""

    url: str
    supervisor: dict[str, str]
    supervisor_id: uuid.UUID
    department_id: uuid.UUID
    inspector_id: uuid.UUID
    inspector: str
    enterprise_id: uuid.UUID
    template_id: str
    items: list[dict[str, Any]]
    inspection_id: uuid.UUID
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def major_items(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["is_major_criterion"]]


def checklist_body(n: int = 20) -> dict[str, Any]:
    items = []
    for k in range(1, n + 1):
        major = k in (3, 11)
        items.append({
            "code": f"{'ZD' if major else 'YB'}-{k:02d}",
            "category": "重大事故隐患" if major else ("安全管理" if k < 10 else "现场管理"),
            "text": ("有限空间作业未执行“先通风、再检测、后作业”" if k == 3 else
                     "粉尘爆炸危险场所未按规定设置泄爆装置" if k == 11 else f"现场检查项目第{k}项：安全设施完好有效"),
            "legal_basis": "《工贸企业重大事故隐患判定标准》第四条" if major else "《中华人民共和国安全生产法》第四十一条",
            "is_major_criterion": major,
        })
    return {"code": f"gm-{uuid.uuid4().hex[:6]}", "sector": "industry_trade", "title": "工贸企业安全生产检查表",
            "basis": "《安全生产法》《工贸企业重大事故隐患判定标准》", "items": items}


async def build_world(client: httpx.AsyncClient, url: str) -> World:
    department = await make_department()
    supervisor_id = await make_user(Role.SUPERVISOR, department_id=department)
    inspector_id = await make_user(Role.INSPECTOR, department_id=department)
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    supervisor = await login(client, await username_of(supervisor_id))
    created = await client.post("/api/v1/checklists/", json=checklist_body(), headers=admin)
    assert created.status_code == 201, created.text
    registered = await client.post("/api/v1/enterprises/", headers=admin, json={
        "credit_code": random_credit_code(), "name": "中卫市宏达金属制品有限公司", "sector": "industry_trade",
        "district": "shapotou", "address": "中卫市沙坡头区工业园区纬三路 18 号", "contact_name": "王建国",
        "contact_phone": "0955-7012345"})
    assert registered.status_code == 201, registered.text
    enterprise = uuid.UUID(registered.json()["id"])
    answer = await client.post("/api/v1/inspections/", headers=supervisor, json={
        "enterprise_id": str(enterprise), "template_id": created.json()["id"], "inspector_ids": [str(inspector_id)],
        "planned_date": bureau_today().isoformat()})
    assert answer.status_code == 201, answer.text
    return World(url=url, supervisor=supervisor, supervisor_id=supervisor_id, department_id=department,
                 inspector_id=inspector_id, inspector=await username_of(inspector_id), enterprise_id=enterprise,
                 template_id=created.json()["id"], items=created.json()["items"],
                 inspection_id=uuid.UUID(answer.json()["id"]))


@pytest.fixture
async def served(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[str]:
    async with serve_app(app) as url:
        yield url


@pytest.fixture
async def world(client: httpx.AsyncClient, served: str) -> World:
    return await build_world(client, served)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        await chromium.close()


async def new_phone(browser: Any) -> BrowserContext:
    return await browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True,
                                     locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="allow")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture
async def phone(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    context = await new_phone(browser)
    yield context
    if getattr(request.node, "failed_call", False):  # what the screen showed when it failed
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(context.pages):
            await page.screenshot(path=str(OUTPUT / f"phone-failed-{request.node.name}-{n}.png"))
    await context.close()


class Phone:
    """A person's hands on one page of the app."""

    def __init__(self, page: Page, url: str, name: str) -> None:
        self.page, self.url, self.name = page, url, name
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def open(self, hash_: str = "/tasks") -> None:
        await self.page.goto(f"{self.url}/app/#{hash_}")
        await self.page.wait_for_function("window.FC && window.FC.app && window.FC.app.ready")

    async def shot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"phone-{self.name}-{name}.png"
        await self.page.wait_for_timeout(400)  # toasts and transitions settle
        await self.page.screenshot(path=str(path), full_page=False)
        return path

    async def login(self, username: str) -> None:
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", PASSWORD)
        await self.page.click("[data-testid=login]")
        await self.page.wait_for_selector(".task, .van-empty")

    async def sync(self) -> dict[str, Any]:
        return await self.page.evaluate("FC.sync.sync().then(async (r) => { await FC.app.reload(); return r; })")

    async def eval(self, js: str) -> Any:
        return await self.page.evaluate(js)

    async def counts(self) -> dict[str, int]:
        return await self.page.evaluate("FC.store.counts()")

    async def toast_done(self) -> None:
        await self.page.wait_for_selector(".van-toast", state="visible")


def photo_files(tmp_path: Path, count: int) -> list[Path]:
    from tests.server.evidence.images import photo

    paths = []
    for n in range(count):
        path = tmp_path / f"photo-{n}.jpg"
        path.write_bytes(photo(seed=n + 7))
        paths.append(path)
    return paths


async def wait_until(check: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


__all__ = ["World", "Phone", "new_phone", "photo_files", "wait_until", "json"]
