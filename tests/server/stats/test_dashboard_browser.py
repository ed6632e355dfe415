"""The dashboard in Debian's headless Chromium, driven over the DevTools protocol (a websocket, no extra deps).

The app is served by uvicorn on a free loopback port, on the test session's
database and event loop. The browser must: load the page with no request
leaving 127.0.0.1, log in, draw the charts (a screenshot goes to
tests/output/), change its figures when a filter changes, and open the
records behind a figure.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from litestar import Litestar

from tests.conftest import PASSWORD, username_of
from tests.server.stats.conftest import City

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def served(app: Litestar, city: City) -> AsyncIterator[str]:
    port = _free_port()
    # lifespan off: the session fixture has already connected this loop's database pool.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


class Tab:
    """One page of the browser over CDP: commands, events, and JavaScript evaluation."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.pending:
                self.pending.pop(message["id"]).set_result(message)
            elif message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            elif message.get("method") == "Network.loadingFailed":
                self.failed.append(message["params"].get("errorText", ""))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, 30)
        assert "error" not in reply, reply
        return reply["result"]

    async def js(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 20) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                status = await self.js("document.getElementById('status') && document.getElementById('status').textContent")
                raise AssertionError(f"timed out waiting for {expression!r}; page status: {status!r}")
            await asyncio.sleep(0.1)

    async def screenshot(self, name: str) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture
async def tab() -> AsyncIterator[Tab]:
    profile = tempfile.mkdtemp(prefix="fieldcheck-chromium-")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
        f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1400,1800", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        endpoint = None
        while endpoint is None:
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert line, "chromium exited before opening DevTools"
            if match := re.search(r"DevTools listening on ws://([^/]+)/", line):
                endpoint = match.group(1)
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://{endpoint}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024) as ws:
            tab = Tab(ws)
            await tab.send("Network.enable")
            await tab.send("Page.enable")
            await tab.send("Runtime.enable")
            await tab.send("Emulation.setDeviceMetricsOverride", width=1400, height=1800, deviceScaleFactor=1, mobile=False)
            yield tab
            tab.reader.cancel()
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _kpi(name: str) -> str:
    return f"document.querySelector('[data-kpi=\"{name}\"]').dataset.value"


async def test_dashboard_in_headless_chromium(served: str, tab: Tab, city: City) -> None:
    await tab.send("Page.navigate", url=f"{served}/dashboard")
    await tab.until("document.readyState === 'complete' && typeof echarts === 'object'")

    username = await username_of(city.users["L"])
    await tab.js(
        f"document.getElementById('username').value = {json.dumps(username)};"
        f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
        "document.getElementById('login-form').requestSubmit(); true"
    )
    await tab.until("window.fieldcheckDashboard.loads >= 1")
    # The period list starts at last year; the fixture city lives in 2025.
    await tab.js("const p = document.getElementById('period'); p.value = '2025'; p.dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 2")

    assert await tab.js(_kpi("checks")) == "5"
    assert await tab.js(_kpi("coverage_rate")) == "50"
    assert await tab.js("document.querySelector('[data-kpi=\"checks\"] .name').textContent") == "检查次数"
    # Charts drew on their canvases, with the API's figures.
    assert await tab.js("[...document.querySelectorAll('.chart')].every(c => c.querySelector('canvas'))")
    trend = await tab.js("echarts.getInstanceByDom(document.getElementById('chart-trend')).getOption().series[0].data")
    assert sum(trend) == 5 and trend[2] == 1 and trend[3] == 1  # March and April 2025
    painted = await tab.js(
        "(() => { const c = document.querySelector('#chart-sector canvas'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;"
        " return n; })()"
    )
    assert painted > 1000
    shot = await tab.screenshot("dashboard.png")
    assert shot.stat().st_size > 20_000

    # A filter changes the figures.
    await tab.js("const d = document.getElementById('district'); d.value = 'zhongning'; d.dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 3")
    assert await tab.js(_kpi("checks")) == "2"
    assert await tab.js(_kpi("hazards_found")) == "2"

    # A drill-down opens the records behind a figure.
    await tab.js("document.querySelector('[data-kpi=\"hazards_found\"]').click(); true")
    await tab.until("!!document.querySelector('#drill-table table')")
    assert await tab.js("document.querySelector('#drill-table table').dataset.total") == "2"
    assert await tab.js("document.querySelectorAll('#drill-table tr').length") == 3
    assert "发现隐患数" in await tab.js("document.getElementById('drill-title').textContent")
    cells = await tab.js("[...document.querySelectorAll('#drill-table td')].map(td => td.textContent)")
    assert "中宁县宁钢冶金有限公司" in cells and "重大隐患" in cells
    # …and from a table cell: the district table's 检查次数 for 中宁县.
    await tab.js("document.getElementById('district').value = ''; document.getElementById('district').dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 4")
    await tab.js("document.querySelector('#table-district td[data-indicator=\"checks\"][data-group=\"zhongning\"]').click(); true")
    await tab.until("window.fieldcheckDashboard.drillResult && window.fieldcheckDashboard.drillResult.indicator === 'checks'")
    assert await tab.js("window.fieldcheckDashboard.drillResult.total") == 2
    await tab.screenshot("dashboard-drilldown.png")

    # Nothing left the machine: every request went to the app itself.
    external = [u for u in tab.requests if not (u.startswith(served) or u.startswith(("data:", "blob:", "about:")))]
    assert external == [], external
    assert any(u.endswith("/static/vendor/echarts.min.js") for u in tab.requests)
