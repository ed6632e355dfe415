"""Tokens and the HTTP edge of authentication: middleware, guards, the ``actor`` dependency.

Access tokens are short-lived JWTs (HS256) that carry the actor, so a request
needs no database read to know who is calling. Refresh tokens are random
strings stored hashed; refreshing rotates them and re-reads the user, so a
deactivated account or a changed role takes effect at the next refresh.
"""

from __future__ import annotations

import datetime as dt
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
        )
    except (KeyError, ValueError):
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
        return AuthenticationResult(user=decode_access_token(token.strip(), secret=self.secret), auth=token)


def auth_middleware(secret: str) -> DefineMiddleware:
    return DefineMiddleware(TokenAuthMiddleware, secret=secret)


def requires_role(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: only these roles may call the handler (403 otherwise)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        actor = connection.user
        if not isinstance(actor, Actor) or actor.role not in allowed:
            names = "、".join(sorted(str(r) for r in allowed))
            raise PermissionDenied("当前角色无权执行此操作", f"requires role: {names}")

    return guard


async def provide_actor(request: Request) -> Actor:
    """The ``actor`` dependency every handler takes instead of reading the request."""
    return request.user
