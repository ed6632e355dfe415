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
``restart``        the server restarts (fresh app, every database connection dropped) first
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

FAULTS = ("ok", "drop_request", "drop_response", "duplicate", "late_copy", "delay", "garble", "restart")


class FaultyTransport(httpx.AsyncBaseTransport):
    def __init__(self, make_app: Callable[[], Any], restart: Callable[[], Awaitable[None]], plan: list[str]) -> None:
        self._make_app = make_app
        self._restart = restart
        self._inner = httpx.ASGITransport(app=make_app())
        self.plan = list(plan)
        self.log: list[str] = []
        self.background: list[asyncio.Task] = []

    async def _deliver(self, request: httpx.Request, body: bytes) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self._inner.handle_async_request(copy)
        await response.aread()
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.plan.pop(0) if self.plan else "ok"
        self.log.append(f"{fault} {request.url.path}")
        body = await request.aread()
        if fault == "restart":
            await self._restart()
            self._inner = httpx.ASGITransport(app=self._make_app())
        if fault == "drop_request":
            raise httpx.ConnectError("injected: request dropped", request=request)
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
        # ``content`` is already inflated: pass it on without the encoding headers that described the wire form.
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)

    async def settle(self) -> None:
        """Wait for late copies still in flight."""
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
            self.background.clear()
