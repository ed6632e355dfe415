"""Logging in and out of the console, and its home page."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter, URLEncodedBody

from server.console import navigation, session
from server.console.web import LOGIN_PATH, console_of, redirect, render
from server.deps import AppSettings
from server.errors import FieldcheckError, NotFound


class LoginForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    next: Annotated[str, msgspec.Meta(max_length=512)] = ""


_Text = Annotated[str, QueryParameter(max_length=512)]


def _safe_next(target: str) -> str:
    """Only a console page of this server (never ``//host`` or another scheme) may follow a login."""
    ok = target.startswith("/console") and not target.startswith("//") and "\\" not in target and LOGIN_PATH not in target
    return target if ok else "/console"


@get(LOGIN_PATH, opt={"public": True}, include_in_schema=False)
async def login_page(request: Request, next: _Text = "", reason: _Text = "") -> Response:
    return render(request, "login.html", next=_safe_next(next), reason=reason[:200], username="", refused="")


@post(LOGIN_PATH, opt={"public": True}, include_in_schema=False)
async def login(
    request: Request,
    data: URLEncodedBody[LoginForm],
    settings: AppSettings,
) -> Response:
    try:
        opened = await session.login(request, data.username, data.password, settings)
    except FieldcheckError as exc:
        return render(
            request, "login.html", status_code=exc.status, next=_safe_next(data.next), reason="", username=data.username,
            refused=exc.message,
        )
    response = redirect(request, _safe_next(data.next))
    session.set_cookie(response, request, opened, settings)
    return response


@post("/console/logout", opt={"roles": navigation.CONSOLE, "own_session": True}, include_in_schema=False)
async def logout(request: Request, settings: AppSettings) -> Response:
    resolved = console_of(request)
    if resolved is not None:
        await session.logout(resolved)
    request.state.console = None  # nothing to send back but the emptied cookie
    response = redirect(request, LOGIN_PATH)
    session.clear_cookie(response, request, settings)
    return response


@get("/console", opt={"roles": navigation.CONSOLE}, include_in_schema=False)
async def home(request: Request) -> Response:
    return render(request, "home.html")


@get("/console/{rest:path}", opt={"public": True}, include_in_schema=False)
async def not_found(rest: FromPath[str]) -> Response:
    raise NotFound("页面不存在", "no such console page")


ROUTES = [login_page, login, logout, home, not_found]
