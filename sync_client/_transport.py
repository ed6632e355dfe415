"""The only module that talks to the network: one request, its retries, its failures sorted.

Every call goes through :meth:`Transport.call`, which retries what may pass
(lost connection, timeout, 5xx, 429) with exponential backoff and full jitter,
refreshes an expired access token once, and raises one of the
:mod:`sync_client._errors` classes for everything else.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from sync_client import _protocol as protocol
from sync_client._errors import AuthenticationRequired, NetworkError, RequestRefused


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up for this sync (the outbox stays either way)."""

    attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 30.0


class Transport:
    """HTTP to the fieldcheck API: MessagePack bodies, gzip both ways, bearer token."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        tokens: Callable[[], tuple[str | None, str | None]],
        refreshed: Callable[[dict[str, Any]], None],
        device_id: uuid.UUID | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=retry.timeout_s)
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._tokens = tokens
        self._refreshed = refreshed
        self._device_id = device_id

    async def close(self) -> None:
        await self._http.aclose()

    async def login(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the login form; the token pair (raises on refusal)."""
        return await self._send(lambda: self._http.post("/api/v1/auth/login", json=body), authenticated=False,
                                read=json_body)

    async def call(self, path: str, request: msgspec.Struct, response_type: Any) -> Any:
        """POST a sync message and decode the answer."""
        body, headers = protocol.compress(protocol.encode(request))
        headers = {**headers, "content-type": protocol.MSGPACK, "accept": protocol.MSGPACK, "accept-encoding": "gzip"}

        def send() -> Awaitable[httpx.Response]:
            access, _ = self._tokens()
            return self._http.post(path, content=body, headers={**headers, "authorization": f"Bearer {access}"})

        def read(response: httpx.Response) -> Any:
            content_type = response.headers.get("content-type", protocol.MSGPACK)
            try:
                return protocol.decode(response.content, response_type, content_type)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                # A garbled answer is like a lost one: the server-side effect (if any) is deduplicated on retry.
                raise NetworkError(f"unreadable response: {exc}") from exc

        return await self._send(send, authenticated=True, read=read)

    async def _send(self, send: Callable[[], Awaitable[httpx.Response]], *, authenticated: bool,
                    read: Callable[[httpx.Response], Any]) -> Any:
        """Send until an answer is accepted and ``read``; a 2xx that ``read`` cannot understand is retried like a lost one."""
        refreshed = False
        last_error = "no attempt made"
        attempt = 0
        while attempt < self._retry.attempts:
            if authenticated and self._tokens()[0] is None:
                raise AuthenticationRequired("请先登录 / login required")
            try:
                response = await send()
            except httpx.RequestError as exc:  # connect, read, write, protocol, garbled encoding, redirect loops
                status, code, last_error = None, None, f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    try:
                        return read(response)
                    except NetworkError as exc:  # a captive portal's page, a body cut or garbled on the way
                        status, code, last_error = None, None, str(exc)
                else:
                    status, code, message = response.status_code, *self._problem(response)
                    last_error = f"{status} {code}: {message}"
            action = protocol.classify(status, code)
            if action is protocol.Action.REAUTHENTICATE:
                if authenticated and not refreshed and await self._refresh():
                    refreshed = True
                    continue
                raise AuthenticationRequired(last_error)
            if action is protocol.Action.STOP:
                raise RequestRefused(status or 0, code or "", last_error)
            attempt += 1
            if attempt < self._retry.attempts:
                await self._sleep(
                    protocol.backoff_delay(attempt - 1, base=self._retry.base_delay_s, cap=self._retry.max_delay_s,
                                           rng=self._rng)
                )
        raise NetworkError(last_error)

    async def _refresh(self) -> bool:
        _, refresh_token = self._tokens()
        if not refresh_token:
            return False
        try:
            # The device id lets the server accept this token again if the answer to its rotation is lost.
            body = {"refresh_token": refresh_token} | ({"device_id": str(self._device_id)} if self._device_id else {})
            response = await self._http.post("/api/v1/auth/refresh", json=body)
        except httpx.RequestError as exc:
            # Not a verdict on the login: the network failed. Sync stops for now; nothing is paused.
            raise NetworkError(f"token refresh failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise NetworkError(f"token refresh failed: {response.status_code}")
        if response.status_code != 200:
            return False
        self._refreshed(json_body(response))
        return True

    @staticmethod
    def _problem(response: httpx.Response) -> tuple[str, str]:
        content = response.content
        if response.headers.get("content-encoding") == "gzip" and content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        try:
            body = msgspec.json.decode(content)
        except msgspec.DecodeError:
            return "", content[:200].decode("utf-8", "replace")
        if isinstance(body, dict):
            return str(body.get("code", "")), str(body.get("message") or body.get("detail") or "")
        return "", str(body)[:200]


def json_body(response: httpx.Response) -> dict[str, Any]:
    """A successful answer's JSON object; anything else (a captive portal's page, a cut body) is a network failure.

    A 2xx that is not the API's JSON did not come from the server the phone meant to reach, or was damaged on
    the way, so it is retried like a lost answer rather than raised as a foreign exception.
    """
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        kind = response.headers.get("content-type", "?")
        raise NetworkError(f"unreadable response ({response.status_code}, {kind}): {exc}") from exc
    if not isinstance(body, dict):
        raise NetworkError(f"unexpected answer ({response.status_code}): not a JSON object")
    return body
