"""Playwright (Python) on Debian's chromium against the app served on a loopback port, for console tests.

    from tests.server.console.browser import Console, console, console_url, chromium  # noqa: F401 (fixtures)

    async def test_x(console: Console) -> None:
        await console.login(username)
        await console.open("/console/...")
        await console.shot("console-x.png")          # tests/output/console-x.png
        assert console.external_requests() == []

``console_url`` serves the session's app (on its PostgreSQL database, tables emptied first by
``client``); ``console`` is a fresh browser context (its own cookies) on it, recording every
request. ``Console.post`` sends a POST from inside the page (same origin, with or without the
page's CSRF token) to show what the server refuses whatever the buttons show.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from playwright.async_api import Browser, Page, async_playwright

from tests.browser import OUTPUT, serve_app
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        await browser.close()


@pytest.fixture
async def console_url(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[str]:
    async with serve_app(app) as url:
        yield url


class Console:
    """One browser context on the console, with the requests it made."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))

    async def open(self, path: str) -> Any:
        response = await self.page.goto(self.url + path)
        await self.page.wait_for_load_state("networkidle")
        return response

    async def login(self, username: str, password: str = PASSWORD) -> None:
        await self.open("/console/login")
        await self.page.fill("#username", username)
        await self.page.fill("#password", password)
        await self.page.click("#login-form button[type=submit]")
        await self.page.wait_for_load_state("networkidle")

    async def logout(self) -> None:
        await self.page.click("#logout")
        await self.page.wait_for_url("**/console/login")

    async def shot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / name
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def csrf(self) -> str:
        headers = await self.page.get_attribute("body", "hx-headers")
        return json.loads(headers)["X-CSRF-Token"] if headers else ""

    async def post(self, path: str, form: dict[str, str] | None = None, *, csrf: bool = True, htmx: bool = True) -> dict:
        """POST from the page's own origin; returns {status, text, headers}."""
        token = await self.csrf() if csrf else ""
        return await self.page.evaluate(
            """async ([path, form, token, htmx]) => {
                const headers = {"content-type": "application/x-www-form-urlencoded"};
                if (token) headers["X-CSRF-Token"] = token;
                if (htmx) headers["HX-Request"] = "true";
                const r = await fetch(path, {method: "POST", headers, body: new URLSearchParams(form).toString(), redirect: "manual"});
                return {status: r.status, text: await r.text(), headers: Object.fromEntries(r.headers.entries())};
            }""",
            [path, form or {}, token, htmx],
        )

    async def get(self, path: str) -> dict:
        """GET from the page (cookies included); returns {status, text}."""
        return await self.page.evaluate(
            "async (path) => { const r = await fetch(path, {redirect: 'manual'}); return {status: r.status, text: await r.text()}; }",
            path,
        )

    def external_requests(self) -> list[str]:
        """Requests that left the server's origin (data:, blob: and about: stay in the page)."""
        return [u for u in self.requests if not (u.startswith(self.url) or u.startswith(("data:", "blob:", "about:")))]


@pytest.fixture
async def console(chromium: Browser, console_url: str) -> AsyncIterator[Console]:
    context = await chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    yield Console(page, console_url)
    await context.close()
