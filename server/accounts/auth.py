"""Tokens and the HTTP edge of authentication: middleware, guards, the ``actor`` dependency.

Access tokens are short-lived JWTs (HS256) that carry the actor and the
account's ``token_version``. Every authenticated request reads that version
(one primary-key read) and refuses a token issued under an older one, so
logout, deactivation, a role or scope change and a new password end access
tokens at once. Refresh tokens are random strings stored hashed; refreshing
rotates them and re-reads the user, so the new access token carries the new role.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from schemas.problems import ErrorCode
from schemas.vocab import Role
from server.accounts.policy import Actor
from server.accounts.tables import User
from server.errors import NotAuthenticated, PermissionDenied

ALGORITHM = "HS256"

#: Paths that need no token (login, refresh, health, docs, the dashboard's static shell).
PUBLIC_PATHS = (
    "/health",
    "/schema",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/static",
    "/dashboard",
    "/app",  # the phone app's shell (its data comes through sync, with a token)
    "/metrics",  # its own bearer token (FIELDCHECK_METRICS_TOKEN), for the scraper
    "/verify",  # the public verify page of enforcement documents
    "/api/v1/public/",
    "/console",  # the office console: its session cookie, resolved by server.console.session with actor_of_token
)


def issue_access_token(actor: Actor, *, secret: str, ttl_s: int, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(actor.user_id),
        "typ": "access",
        "role": str(actor.role),
        "dep": str(actor.department_id) if actor.department_id else None,
        "dis": sorted(actor.districts),
        "dev": str(actor.device_id) if actor.device_id else None,
        "usr": actor.username,
        "ver": actor.token_version,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> Actor:
    """The actor a token speaks for; raises ``NotAuthenticated`` (``token_expired`` when merely old)."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub", "typ"]}
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("登录已过期，请刷新或重新登录", "token expired", code=ErrorCode.TOKEN_EXPIRED) from None
    except jwt.PyJWTError:
        raise NotAuthenticated("登录凭证无效，请重新登录", "invalid token") from None
    if claims.get("typ") != "access":
        raise NotAuthenticated("登录凭证无效，请重新登录", "not an access token")
    try:
        return Actor(
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            department_id=uuid.UUID(claims["dep"]) if claims.get("dep") else None,
            districts=frozenset(claims.get("dis") or ()),
            device_id=uuid.UUID(claims["dev"]) if claims.get("dev") else None,
            username=claims.get("usr", ""),
            # Tokens issued before m0005 have no version: they count as version 0.
            token_version=int(claims.get("ver") or 0),
        )
    except (KeyError, ValueError, TypeError):
        raise NotAuthenticated("登录凭证无效，请重新登录", "malformed token claims") from None


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Reads ``Authorization: Bearer <token>`` and sets ``request.user`` to the :class:`Actor`."""

    def __init__(self, app: Any, secret: str, **kwargs: Any) -> None:
        super().__init__(app, exclude=[f"^{p}" for p in PUBLIC_PATHS], **kwargs)
        self.secret = secret

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("请先登录", "missing bearer token")
        return AuthenticationResult(user=await actor_of_token(token.strip(), secret=self.secret), auth=token)


async def actor_of_token(token: str, *, secret: str) -> Actor:
    """The actor an access token speaks for, its account still active and the token not revoked since issue."""
    actor = decode_access_token(token, secret=secret)
    await check_token_version(actor)
    return actor


async def check_token_version(actor: Actor) -> None:
    """Refuse a token of a deactivated account or one issued before the account's last ``token_version`` bump."""
    row = await User.select(User.token_version, User.active).where(User.id == actor.user_id).first()
    if row is None or not row["active"]:
        raise NotAuthenticated("账号已停用", "account disabled or removed")
    if row["token_version"] != actor.token_version:
        # token_expired: the phone refreshes, and the new token carries the new role (or is refused).
        raise NotAuthenticated(
            "登录状态已变更，请刷新或重新登录", "token revoked", code=ErrorCode.TOKEN_EXPIRED
        )


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def source_address(connection: ASGIConnection, trusted_proxies: Networks) -> str:
    """The caller's address: the peer's, or the right-most X-Forwarded-For hop not a trusted proxy when the peer is one."""
    peer = connection.client.host if connection.client else ""
    source = _address(peer)
    if source is None or not _trusted(source, trusted_proxies):
        return str(source) if source is not None else peer[:64] or "unknown"
    hops = [h.strip() for line in connection.headers.getall("x-forwarded-for", []) for h in line.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Anything left of an unreadable hop was written by the caller: stay with the last proxy seen.
            break
        source = address
        if not _trusted(address, trusted_proxies):
            break
    return str(source)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Networks) -> bool:
    return any(address in network for network in networks)


def auth_middleware(secret: str) -> DefineMiddleware:
    return DefineMiddleware(TokenAuthMiddleware, secret=secret)


def requires_role(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: only these roles may call the handler (403 otherwise)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope["method"] == "OPTIONS":
            return  # Litestar's own answer (the Allow header): the middleware lets it pass unauthenticated
        actor = connection.scope.get("user")  # absent when the middleware skipped the request (HEAD)
        if not isinstance(actor, Actor) or actor.role not in allowed:
            names = "、".join(sorted(str(r) for r in allowed))
            raise PermissionDenied("当前角色无权执行此操作", f"requires role: {names}")

    return guard


async def provide_actor(request: Request) -> Actor:
    """The ``actor`` dependency every handler takes instead of reading the request."""
    return request.user
