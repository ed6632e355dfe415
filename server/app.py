"""``create_app(settings)``: the whole API, built from settings and nothing else."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from schemas import bounds
from schemas.problems import ErrorCode, FieldError, Problem
from server import database, dispatch, gc_tuning, metrics
from server.api_docs import Bodies, DescribedJson, DescribedSwagger
from server.accounts.auth import auth_middleware, provide_actor
from server.accounts.controllers import AuthController, DepartmentController, UserController
from server.checklists.controllers import ChecklistController
from server.console import web as console_web
from server.console.router import console_routers
from server.registry.controllers import ConflictOfInterestController, EnterpriseController, EnterpriseImportController
from server.inspections.controllers import ConflictController, InspectionController
from server.sync.controllers import SyncController
from server.audit import service as audit_service
from server.evidence import service as evidence_service
from server.evidence.controllers import EvidenceController
from server.enforcement.controllers import EnforcementController
from server.documents import service as documents_service
from server.documents.controllers import (
    DocumentController,
    OfficerSignatureController,
    PublicVerificationController,
    VerifyPageController,
)
from server.spotchecks.controllers import SpotCheckController
from server.jobs import scheduler as jobs_scheduler
from server.jobs.controllers import JobController
from server.stats import refresher as stats_refresher
from server.notifications.controllers import NotificationController
from server.errors import FieldcheckError, to_problem
from server.hazards.controllers import HazardController, LookbackController, RecheckController
from server.violations.controllers import ViolationController
from server.stats.controllers import DashboardController, StatsController
from server.phone_app.controllers import PhoneAppController
from server.context import Context
from server.settings import Settings

log = logging.getLogger("fieldcheck")

#: Every controller of the API. A new domain appends its controllers here.
CONTROLLERS: list[Any] = [
    AuthController,
    DepartmentController,
    UserController,
    EnterpriseController,
    EnterpriseImportController,
    ConflictOfInterestController,
    ChecklistController,
    InspectionController,
    ConflictController,
    SyncController,
    EvidenceController,
    HazardController,
    RecheckController,
    LookbackController,
    ViolationController,
    EnforcementController,
    SpotCheckController,
    StatsController,
    DashboardController,
    PhoneAppController,
    JobController,
    NotificationController,
    DocumentController,
    OfficerSignatureController,
    PublicVerificationController,
    VerifyPageController,
]

_STATUS_CODES = {
    400: ErrorCode.INVALID_INPUT,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.INVALID_INPUT,
    409: ErrorCode.STATE_CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.UNAVAILABLE,
}
_STATUS_MESSAGES = {
    400: "请求格式有误",
    401: "请先登录",
    403: "无权执行此操作",
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    409: "当前状态不允许此操作",
    413: "提交内容过大",
    415: "不支持的内容类型",
    429: "操作过于频繁，请稍后再试",
    503: "服务暂时不可用，请稍后重试",
}


def _problem_response(problem: Problem) -> Response[Problem]:
    headers = {"x-content-type-options": "nosniff"}
    if problem.retry_after_s:
        headers["retry-after"] = str(problem.retry_after_s)
    return Response(content=problem, status_code=problem.status, headers=headers, media_type="application/problem+json")


def _domain_error(_: Request, exc: FieldcheckError) -> Response[Problem]:
    return _problem_response(to_problem(exc))


_FIELD_PATTERNS = (
    re.compile(r"at `\$\.([^`]+)`"),
    re.compile(r"(?:unknown|missing required) field `([^`]+)`"),
)


def _field_of(message: str, fallback: str) -> str:
    """msgspec names the failing path in its message (``… - at `$.items[2].text```)."""
    if message.startswith("`"):  # a rule of schemas.bounds, which names the field itself
        return bounds.field_of(message) or fallback
    for pattern in _FIELD_PATTERNS:
        if match := pattern.search(message):
            name = match.group(1)
            # An unknown/missing field inside a nested object: Litestar gives the object's path as the key.
            nested = pattern is _FIELD_PATTERNS[1] and fallback not in ("", "data", "body", name)
            return f"{fallback}.{name}" if nested else name
    return fallback


def _validation_error(_: Request, exc: ValidationException) -> Response[Problem]:
    # Litestar reports msgspec's first decode error as extra=[{"message", "key", "source"}].
    errors = [
        FieldError(
            field=_field_of(str(item.get("message", "")), str(item.get("key") or item.get("source") or "")),
            message=str(item.get("message", "")),
        )
        for item in (exc.extra or [])
        if isinstance(item, dict)
    ]
    first = errors[0] if errors else None
    detail = first.message if first else exc.detail
    # A well-formed date outside the plausible range is a value the person must change (422), like a bad check digit.
    code = bounds.code_of(detail)
    return _problem_response(
        Problem(
            status=400 if code == ErrorCode.INVALID_INPUT else 422,
            code=code,
            message=f"请求数据有误：{detail}" + (f"（字段 {first.field}）" if first and first.field else ""),
            message_en=f"validation failed: {detail}",
            field=first.field if first else None,
            errors=errors,
        )
    )


def _http_error(_: Request, exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    return _problem_response(
        Problem(
            status=status,
            code=_STATUS_CODES.get(status, ErrorCode.INTERNAL),
            message=_STATUS_MESSAGES.get(status, "请求失败"),
            message_en=str(exc.detail),
        )
    )


def _internal_error(request: Request, exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    metrics.ERRORS.inc()
    return _problem_response(to_problem(FieldcheckError()))


class _Request(Request):
    """A request whose body decoding fails as the client's fault, whatever the bytes.

    msgspec raises RecursionError on deeply nested JSON (~1000 levels fit in 2 KB) and
    UnicodeDecodeError on invalid UTF-8: both are a malformed body (400), not a server error.
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except (RecursionError, UnicodeDecodeError) as exc:
            raise SerializationException(f"malformed JSON body: {type(exc).__name__}") from None

    async def msgpack(self) -> Any:
        try:
            return await super().msgpack()
        except (RecursionError, UnicodeDecodeError) as exc:
            raise SerializationException(f"malformed MessagePack body: {type(exc).__name__}") from None


async def _refuse_nul(request: Request) -> None:
    """No NUL in the path or query (PostgreSQL cannot compare text with one); bodies: ``schemas.bounds``."""
    query: bytes = request.scope.get("query_string", b"")
    if "\x00" in request.scope["path"] or b"%00" in query.lower() or b"\x00" in query:
        raise ValidationException(f"{bounds.NUL_CHARACTER}（地址或查询参数）", extra=[{"message": f"{bounds.NUL_CHARACTER}", "key": "query"}])


_HEALTH = {"application/json": dict}


@get(
    "/health",
    tags=["运维 ops"],
    security=[],
    opt={"doc": Bodies(responses={200: _HEALTH, 503: _HEALTH}, descriptions={503: "数据库或对象存储不可用 / degraded"})},
)
async def health(request: Request) -> Response[dict]:
    """健康检查：数据库与对象存储都可用时返回 200。"""
    checks: dict[str, str] = {}
    for name, check in request.app.state.health_checks.items():
        try:
            await check()
            checks[name] = "ok"
        except Exception as exc:  # a failing dependency is reported, not raised
            checks[name] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503)


async def _check_database() -> None:
    await database.get_engine().run_ddl("SELECT 1")


def _openapi_config() -> OpenAPIConfig:
    local = "/static/vendor/swagger-ui-dist"
    return OpenAPIConfig(
        title="fieldcheck 安全生产检查执法系统 API",
        version="1",
        path="/schema",
        use_handler_docstrings=True,
        render_plugins=[
            DescribedSwagger(
                path="/",
                js_url=f"{local}/swagger-ui-bundle.js",
                css_url=f"{local}/swagger-ui.css",
                standalone_preset_js_url=f"{local}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{local}/favicon-32x32.png'>",
            ),
            DescribedJson(),
        ],
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        security=[{"BearerToken": []}],
    )


def create_app(settings: Settings, *, extra_route_handlers: list[Any] | None = None) -> Litestar:
    """Build the API for ``settings``; the lifespan connects, migrates and disconnects."""
    settings = settings.check_limits().with_secrets()
    context = Context(settings)
    sync_registry = dispatch.build_registry()  # refuses to start while a mutation kind has no handler
    health_checks: dict[str, Callable[[], Any]] = {"database": _check_database}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await database.start(settings)
        tuned = gc_tuning.tune(settings)  # what is alive now (imports, routes, tables, the pool) is frozen
        # Numbers what a commit's own settle could not (its connection lost just after COMMIT): seconds, not never.
        settler = asyncio.get_running_loop().create_task(database.settle_forever(database.SETTLE_INTERVAL_S))
        try:
            yield
        finally:
            settler.cancel()
            await asyncio.gather(settler, return_exceptions=True)
            gc_tuning.restore(tuned)
            await database.stop()

    # The pages' npm libraries (web/vendor.json; Swagger UI 5, as 4 cannot render OpenAPI 3.1), served from
    # this server: the intranet has no CDN.
    static = create_static_files_router(
        path="/static/vendor", directories=[settings.web.vendor_dir], include_in_schema=False
    )
    app = Litestar(
        route_handlers=[
            health, metrics.metrics, static, *CONTROLLERS, *console_routers(settings), *(extra_route_handlers or [])
        ],
        lifespan=[lifespan],
        middleware=[auth_middleware(settings.auth.secret_key)],
        dependencies={
            "actor": Provide(provide_actor),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "context": Provide(lambda: context, use_cache=True, sync_to_thread=False),
            "sync_registry": Provide(lambda: sync_registry, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={
            FieldcheckError: _domain_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        openapi_config=_openapi_config(),
        template_config=console_web.template_config(settings),
        request_class=_Request,
        before_request=_refuse_nul,
        request_max_body_size=settings.server.max_body_bytes,
        # No browser may guess a type other than the one declared (downloads, exports, JSON alike).
        response_headers=[ResponseHeader(name="X-Content-Type-Options", value="nosniff")],
        debug=settings.server.debug,
    )
    app.state.settings = settings
    app.state.context = context
    app.state.sync_registry = sync_registry
    app.state.health_checks = health_checks
    store = evidence_service.install(app, settings)
    audit_service.install(app, settings, store)
    jobs_scheduler.install(app, settings)
    stats_refresher.install(app, settings)
    documents_service.install(app, settings)
    return app
