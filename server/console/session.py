"""The console's session: a cookie holding the account's own token pair, and the actor it speaks for.

Why tokens in a cookie rather than a server-side session table: the console then
logs in, refreshes and logs out through exactly the accounts service the API
uses (same throttling, same rotation, same revocation), and each request's actor
comes from ``auth.actor_of_token`` like an API call, ``token_version`` check
included; a deactivated account or a changed role ends the console at its next
request. The cookie is HttpOnly (no script reads the tokens), SameSite=Strict,
scoped to ``/console``, Secure when the request came over TLS, and signed with
a key derived from the token-signing key so nothing in it can be swapped.

It also carries a random CSRF token, minted at login: every POST must echo it
(htmx sends it as ``X-CSRF-Token`` on every request; a plain form cannot).

The browser logs in as one device per account (``console_device_id``), so two
requests refreshing an expired access token at once fall within the refresh
grace the accounts service gives a device whose answer was lost, instead of
being taken for a stolen token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass

from litestar import Request, Response
from litestar.connection import ASGIConnection

from schemas import accounts as wire
from schemas.problems import ErrorCode
from server import database
from server.accounts import service as accounts_service
from server.accounts.auth import actor_of_token, source_address
from server.accounts.login import log_in
from server.accounts.policy import Actor
from server.accounts.service import LoginRefused
from server.errors import NotAuthenticated
from server.settings import Settings

COOKIE = "fieldcheck_console"
COOKIE_PATH = "/console"
CSRF_HEADER = "x-csrf-token"
DEVICE_NAME = "办公控制台"
_DEVICES = uuid.UUID("6f0c2d7e-3b1a-4e59-9a86-5d2f1c0b7e41")


def console_device_id(username: str) -> uuid.UUID:
    """The device an account's console logins register as (one per account, stable across logins)."""
    return uuid.uuid5(_DEVICES, f"console:{username}")


@dataclass(frozen=True)
class Session:
    """What the cookie holds."""

    access_token: str
    refresh_token: str
    csrf: str
    username: str


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(b"fieldcheck console cookie\0" + settings.auth.secret_key.encode()).digest()


def encode(session: Session, settings: Settings) -> str:
    payload = base64.urlsafe_b64encode(
        json.dumps({"a": session.access_token, "r": session.refresh_token, "c": session.csrf, "u": session.username}).encode()
    ).decode().rstrip("=")
    mac = hmac.new(_key(settings), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


def decode(value: str | None, settings: Settings) -> Session | None:
    """The session in a cookie value, or None when it is absent, malformed or not signed by this server."""
    if not value or len(value) > 4000:
        return None
    payload, _, mac = value.rpartition(".")
    expected = hmac.new(_key(settings), payload.encode(), hashlib.sha256).hexdigest()
    if not payload or not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return Session(access_token=data["a"], refresh_token=data["r"], csrf=data["c"], username=data.get("u", ""))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None


def _over_tls(request: Request, settings: Settings) -> bool:
    if request.url.scheme == "https":
        return True
    # Behind a TLS-terminating proxy: its X-Forwarded-Proto is believed only when the peer is a trusted proxy.
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded != "https" or request.client is None:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in network for network in settings.auth.trusted_proxy_networks)


def set_cookie(response: Response, request: Request, session: Session, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        encode(session, settings),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_over_tls(request, settings),
    )


def clear_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.set_cookie(
        COOKIE, "", path=COOKIE_PATH, max_age=0, httponly=True, samesite="strict", secure=_over_tls(request, settings)
    )


async def login(request: Request, username: str, password: str, settings: Settings) -> Session:
    """Log in through the accounts service (its throttling and audit); raises the refusal it gives."""
    data = wire.LoginRequest(
        username=username, password=password, device_id=console_device_id(username), device_name=DEVICE_NAME
    )
    pair = await log_in(data, settings.auth, source=source_address(request, settings.auth.trusted_proxy_networks))
    return Session(pair.access_token, pair.refresh_token, secrets.token_urlsafe(24), username)


@dataclass(frozen=True)
class Resolved:
    """The request's actor, and the session to send back when its tokens were refreshed."""

    actor: Actor
    session: Session
    renewed: bool


async def resolve(session: Session, settings: Settings) -> Resolved:
    """The actor of a session, refreshing its access token once when it expired or was revoked."""
    try:
        return Resolved(await actor_of_token(session.access_token, secret=settings.auth.secret_key), session, False)
    except NotAuthenticated as exc:
        if exc.code != ErrorCode.TOKEN_EXPIRED:
            raise
    async with database.transaction():
        outcome = await accounts_service.refresh(
            wire.RefreshRequest(refresh_token=session.refresh_token, device_id=console_device_id(session.username)),
            settings.auth,
        )
    if isinstance(outcome, LoginRefused):
        raise outcome.error
    renewed = Session(outcome.access_token, outcome.refresh_token, session.csrf, session.username)
    # The fresh token is checked like any other (the account may have been deactivated meanwhile).
    return Resolved(await actor_of_token(renewed.access_token, secret=settings.auth.secret_key), renewed, True)


async def logout(resolved: Resolved) -> None:
    """End the session as the API's logout does (revoke the refresh token, end the account's access tokens)."""
    async with database.transaction():
        await accounts_service.logout(resolved.actor, wire.RefreshRequest(refresh_token=resolved.session.refresh_token))


def csrf_ok(request: ASGIConnection, session: Session) -> bool:
    """Whether a POST echoes the session's CSRF token (htmx sends it as a header on every request)."""
    sent = request.headers.get(CSRF_HEADER) or ""
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())
