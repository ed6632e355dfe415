"""The console's edge: who is asking (the guard), how a page is answered (``render``, ``redirect``), error pages.

Every console route declares ``opt={"roles": ...}``: the roles that may open it.
The guard resolves the session's actor, refuses a role not listed (fail closed:
a route without ``roles`` is refused to all), and on every POST also refuses a
missing or wrong CSRF token, a cross-site request and a leader (leaders read,
never write) unless the route only ends the caller's own session
(``opt={"own_session": True}``) or names the caller's role in ``opt["writers"]``. Services then check the object itself as they
do for the API.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from schemas import bounds
from schemas.problems import FieldError
from schemas.vocab import District, label
from server import localtime, metrics
from server.accounts.policy import Actor, may_write
from server.console import navigation, session
from server.errors import FieldcheckError, InvalidInput, NotAuthenticated, PermissionDenied
from server.settings import Settings

log = logging.getLogger("fieldcheck.console")
T = TypeVar("T", bound=msgspec.Struct)

LOGIN_PATH = "/console/login"
#: Console pages run only this server's scripts and styles, and are framed by no one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class LoginRequired(Exception):
    """No usable session: the person is sent to the login page (``message`` says why, when there is a reason)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def templates_dir(settings: Settings) -> Path:
    return settings.web.web_dir / "console" / "templates"


def static_dir(settings: Settings) -> Path:
    return settings.web.web_dir / "console" / "static"


def template_config(settings: Settings) -> TemplateConfig:
    """Jinja over ``web/console/templates``: autoescaped, strict about missing names, bureau-time filters."""
    env = Environment(
        loader=FileSystemLoader(templates_dir(settings)), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )

    def local(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return local_time(moment, settings, fmt)

    def vocab(value: enum.StrEnum | str | None) -> str:
        if value is None or value == "":
            return ""
        try:
            return label(value) if isinstance(value, enum.StrEnum) else str(value)
        except KeyError:
            return str(value)

    env.filters["local"] = local
    env.filters["label"] = vocab
    # Rows read back from a table hold districts as plain strings: say which vocabulary they are.
    env.filters["district"] = lambda value: vocab(District(value)) if value in District._value2member_map_ else str(value)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def local_time(moment: dt.datetime | None, settings: Settings, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as people in the bureau read it (FIELDCHECK_TIMEZONE)."""
    return moment.astimezone(localtime.zone(settings.hazards.timezone)).strftime(fmt) if moment else ""


def is_htmx(request: ASGIConnection) -> bool:
    return request.headers.get("hx-request") == "true"


def console_of(request: ASGIConnection) -> session.Resolved | None:
    return getattr(request.state, "console", None)


def actor_of(request: ASGIConnection) -> Actor:
    """The actor the guard resolved (every non-public console route has one)."""
    resolved = console_of(request)
    if resolved is None:
        raise LoginRequired()
    return resolved.actor


def _settings(connection: ASGIConnection) -> Settings:
    return connection.app.state.settings


async def console_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    opt = handler.opt
    post = connection.scope["method"] == "POST"
    if post and connection.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PermissionDenied("拒绝来自其他网站的提交", "cross-site console request")
    settings = _settings(connection)
    cookie = session.decode(connection.cookies.get(session.COOKIE), settings)
    if opt.get("public"):
        # The login and not-found pages show the menu to whoever is still logged in, and ask nothing.
        if cookie is not None and connection.scope["method"] == "GET":
            try:
                connection.state.console = await session.resolve(cookie, settings)
            except NotAuthenticated:
                pass
        return
    if cookie is None:
        raise LoginRequired()
    try:
        resolved = await session.resolve(cookie, settings)
    except NotAuthenticated as exc:
        raise LoginRequired(exc.message) from None
    connection.state.console = resolved
    roles = opt.get("roles")
    if not roles or resolved.actor.role not in roles:
        raise PermissionDenied("当前角色无权访问此页面", "role may not open this console page")
    if post:
        if not session.csrf_ok(connection, resolved.session):
            raise PermissionDenied("页面已过期或来源不明，请刷新页面后重试", "missing or wrong CSRF token")
        # ``writers`` names a read-only role a route lets write its one thing (法制审核 for legal reviewers).
        if not opt.get("own_session") and not may_write(resolved.actor) and resolved.actor.role not in opt.get("writers", ()):
            raise PermissionDenied("当前账号只读，不能修改数据", "read-only role may not write")


# ------------------------------------------------------------------ answers


def _finish(request: Request, response: Response) -> Response:
    """Every console answer: not cached, and carrying the session again when its tokens were refreshed."""
    response.headers["cache-control"] = "no-store"
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    resolved = console_of(request)
    if resolved is not None and resolved.renewed:
        session.set_cookie(response, request, resolved.session, _settings(request))
    return response


def base_context(request: Request) -> dict[str, Any]:
    resolved = console_of(request)
    actor = resolved.actor if resolved else None
    return {
        "actor": actor,
        "role_label": label(actor.role) if actor else "",
        "menu": navigation.menu_for(actor.role) if actor else [],
        "may_write": bool(actor and may_write(actor)),
        "csrf": resolved.session.csrf if resolved else "",
        "path": request.url.path,
        "htmx": is_htmx(request),
    }


def render(request: Request, template: str, /, *, status_code: int = 200, **context: Any) -> Response:
    return _finish(request, Template(template_name=template, context=base_context(request) | context, status_code=status_code))


def redirect(request: Request, to: str) -> Response:
    """Go to ``to``: an htmx request gets HX-Redirect (a whole-page load), a plain one a 303."""
    if is_htmx(request):
        return _finish(request, Response(content=b"", status_code=200, headers={"hx-redirect": to}))
    return _finish(request, Redirect(path=to, status_code=303))


def error_page(
    request: Request, status: int, message: str, errors: Iterable[FieldError] = (), *, message_en: str = ""
) -> Response:
    """The error page (or, for htmx, a notice swapped into the page's #flash) with the service's Chinese message."""
    context = {"status": status, "message": message, "errors": list(errors), "message_en": message_en}
    if is_htmx(request):
        response = render(request, "_error.html", status_code=status, **context)
        response.headers["hx-retarget"] = "#flash"
        response.headers["hx-reswap"] = "innerHTML"
        return response
    return render(request, "error.html", status_code=status, **context)


_HTTP_MESSAGES = {
    400: "请求格式有误",
    403: "无权执行此操作",
    404: "页面或记录不存在",
    405: "不支持该请求方法",
    413: "提交内容过大",
    429: "操作过于频繁，请稍后再试",
}


def _login_required(request: Request, exc: LoginRequired) -> Response:
    query = f"?next={quote(request.url.path)}" if request.method == "GET" and request.url.path != "/console" else ""
    if exc.message:
        query += ("&" if query else "?") + f"reason={quote(exc.message)}"
    response = redirect(request, LOGIN_PATH + query)
    session.clear_cookie(response, request, _settings(request))
    return response


def _domain_error(request: Request, exc: FieldcheckError) -> Response:
    return error_page(request, exc.status, exc.message, exc.errors, message_en=exc.message_en)


def _validation_error(request: Request, exc: ValidationException) -> Response:
    errors = [
        FieldError(field=str(item.get("key") or ""), message=str(item.get("message", "")))
        for item in (exc.extra or [])
        if isinstance(item, dict)
    ]
    return error_page(request, 400, "提交的内容格式有误，请检查后重试", errors, message_en=str(exc.detail))


def _http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    return error_page(request, status, _HTTP_MESSAGES.get(status, "请求失败"), message_en=str(exc.detail))


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on console %s %s", request.method, request.url.path, exc_info=exc)
    metrics.ERRORS.inc()
    return error_page(request, 500, "系统内部错误，请稍后重试；如反复出现请联系管理员")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: _login_required,
    FieldcheckError: _domain_error,
    ValidationException: _validation_error,
    NotFoundException: _http_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}


async def form_of(request: Request) -> Any:
    """The posted form, refused whole (422) when a field's name or text holds a NUL (PostgreSQL cannot store
    or compare one; the API's bodies are held to the same rule by ``schemas.bounds``)."""
    form = await request.form()
    for key, value in form.multi_items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise InvalidInput(f"{bounds.NUL_CHARACTER}（{key.replace(chr(0), '')[:32]}）", "a form field holds a NUL character",
                               field=key.replace("\x00", "")[:64] or None)
    return form


async def read_form(request: Request, kind: type[T], **values: Any) -> T:
    """The posted form as the wire type ``kind`` (the API's own input type, so the same bounds hold).

    Empty fields are left out (the type's default applies); ``values`` add or replace fields the
    page computed (lists, parsed numbers). A value the type refuses is a 422 naming the field.
    """
    form = await form_of(request)
    data: dict[str, Any] = {k: v for k, v in form.items() if k in kind.__struct_fields__ and v != ""}
    data.update(values)
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.split("at `$.", 1)[1].split("`", 1)[0] if "at `$." in message else ""
        raise InvalidInput(f"填写的内容有误：{message}", "form validation failed", field=field or None) from None
