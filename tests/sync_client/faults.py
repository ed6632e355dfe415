"""A fault-injecting httpx transport: the network and server misbehaviour a phone must survive.

Wraps the app's ASGI transport. Each request consumes the next fault from a
plan (then ``ok`` once the plan is used up):

``ok``             deliver normally
``drop_request``   the request never arrives (connection error before sending)
``drop_response``  the server handles it, the answer is lost (read error)
``duplicate``      the request arrives twice; the phone sees the second answer
``late_copy``      a copy of the request arrives again later, after other traffic
``delay``          the request is held back a little, then delivered
``garble``         the answer arrives cut short (server effect done, body unreadable)
``garble_gzip``    the answer says gzip but is not (server effect done, the decoder fails)
``portal``         a captive portal answers 200 with an HTML page (the request never arrives)
``restart``        the server restarts first (fresh app, every database connection dropped, and the
                   object store loses its unfinished multipart uploads, as one that keeps them in memory)

``statuses`` logs every status the server itself answered, to check that none is a 5xx. Phones that
share one server share one :class:`Server`: a restart waits for the requests in flight to be answered
and holds new ones until the server is back (a restart between requests; a kill -9 during a push is
tested in ``tests/server/sync``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

FAULTS = ("ok", "drop_request", "drop_response", "duplicate", "late_copy", "delay", "garble", "garble_gzip", "portal",
          "restart")

_PORTAL = "<html><head><title>Wi-Fi login</title></head><body>请先登录酒店无线网络</body></html>".encode()


class Server:
    """The one server several phones talk to: requests in flight, and restarts between them."""

    def __init__(self, restart: Callable[[], Awaitable[None]]) -> None:
        self._restart = restart
        self._changed = asyncio.Condition()
        self._active = 0
        self._restarting = False

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._restarting)
            self._active += 1
        try:
            yield
        finally:
            async with self._changed:
                self._active -= 1
                self._changed.notify_all()

    async def restart(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._restarting)
            self._restarting = True
            await self._changed.wait_for(lambda: self._active == 0)
        try:
            await self._restart()
        finally:
            async with self._changed:
                self._restarting = False
                self._changed.notify_all()


class FaultyTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, make_app: Callable[[], Any], restart: Callable[[], Awaitable[None]] | Server, plan: list[str]
    ) -> None:
        self._make_app = make_app
        self._server = restart if isinstance(restart, Server) else Server(restart)
        self._inner = _transport(make_app())
        self.plan = list(plan)
        self.log: list[str] = []
        self.statuses: list[tuple[int, str]] = []
        self.background: list[asyncio.Task] = []

    async def _deliver(self, request: httpx.Request, body: bytes) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        async with self._server.request():
            response = await self._inner.handle_async_request(copy)
            await response.aread()
        self.statuses.append((response.status_code, f"{request.method} {request.url.path}"))
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.plan.pop(0) if self.plan else "ok"
        self.log.append(f"{fault} {request.url.path}")
        body = await request.aread()
        if fault == "restart":
            await self._server.restart()
            self._inner = _transport(self._make_app())
        if fault == "drop_request":
            raise httpx.ConnectError("injected: request dropped", request=request)
        if fault == "portal":
            return httpx.Response(200, headers={"content-type": "text/html; charset=utf-8"}, content=_PORTAL,
                                  request=request)
        if fault == "delay":
            await asyncio.sleep(0.02)
        if fault == "duplicate":
            await self._deliver(request, body)
        if fault == "late_copy":
            async def later() -> None:
                await asyncio.sleep(0.05)
                try:
                    await self._deliver(request, body)
                except Exception:  # a late copy's fate is irrelevant to the phone
                    pass
            self.background.append(asyncio.create_task(later()))
        response = await self._deliver(request, body)
        if fault == "drop_response":
            raise httpx.ReadError("injected: response lost", request=request)
        if fault == "garble":
            return httpx.Response(response.status_code, headers={"content-type": response.headers.get("content-type", "")},
                                  content=response.content[: len(response.content) // 2], request=request)
        if fault == "garble_gzip":
            return httpx.Response(response.status_code, headers={"content-type": response.headers.get("content-type", ""),
                                                                 "content-encoding": "gzip"},
                                  content=b"\x1f\x8b\x08\x00" + response.content[:64], request=request)
        # ``content`` is already inflated: pass it on without the encoding headers that described the wire form.
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)

    async def settle(self) -> None:
        """Wait for late copies still in flight."""
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
            self.background.clear()


def _transport(app: Any) -> httpx.AsyncBaseTransport:
    return app if isinstance(app, httpx.AsyncBaseTransport) else httpx.ASGITransport(app=app)


class Processes(httpx.AsyncBaseTransport):
    """Server processes on one database (``fieldcheck serve``), taking requests in turn; ``kill()`` kills one
    with SIGKILL and starts it again. Use as ``make_app`` returning this object: the phones reach every process."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self._env = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        self._ports = [_free_port() for _ in range(count)]
        self._procs: list[asyncio.subprocess.Process | None] = [None] * count
        self._http = httpx.AsyncHTTPTransport()
        self._turn = 0
        self._victim = 0

    async def start(self) -> None:
        await asyncio.gather(*(self._spawn(n) for n in range(len(self._ports))))

    async def _spawn(self, n: int) -> None:
        self._procs[n] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(self._ports[n]),
            env=self._env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as probe:
            for _ in range(600):
                try:
                    if (await probe.get(f"http://127.0.0.1:{self._ports[n]}/health")).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"server process {n} did not start")

    async def kill(self) -> None:
        """kill -9 of one process (each in turn), then it starts again."""
        n, self._victim = self._victim, (self._victim + 1) % len(self._ports)
        proc = self._procs[n]
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        await self._spawn(n)

    async def stop(self) -> None:
        for proc in self._procs:
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
        await self._http.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port, self._turn = self._ports[self._turn], (self._turn + 1) % len(self._ports)
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
        response = await self._http.handle_async_request(request)
        await response.aread()
        return response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
