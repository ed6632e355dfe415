"""Debian's headless Chromium over the DevTools protocol (a websocket, no extra deps), and the app on a port.

Browser tests import ``tab`` (a fixture: one fresh browser page) and ``serve_app``
(the test session's app served by uvicorn on a free loopback port, on the
session's database and event loop). Screenshots go to tests/output/.
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
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from litestar import Litestar

OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve_app(app: Litestar) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    port = _free_port()
    # lifespan off: the session fixture has already connected this loop's database pool.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def external_requests(tab: "Tab", origin: str) -> list[str]:
    """Requests the page made anywhere but ``origin`` (data:, blob: and about: are local)."""
    return [u for u in tab.requests if not (u.startswith(origin) or u.startswith(("data:", "blob:", "about:")))]


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
