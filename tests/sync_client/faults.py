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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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
        self._inner = httpx.ASGITransport(app=make_app())
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
            self._inner = httpx.ASGITransport(app=self._make_app())
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
