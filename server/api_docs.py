"""What the OpenAPI document says beyond what Litestar reads from the handlers' signatures.

Litestar documents a handler's success body and its own 400. Everything else a
client meets is added here, in one pass over the generated document, so that
the document describes the answers the server really gives:

- error answers: every operation lists the statuses it can return, each with
  the :class:`~schemas.problems.Problem` body (``application/problem+json``).
  The statuses follow from what the operation is (see :func:`error_statuses`);
  a handler adds the ones only it can give with ``opt={"errors": (429,)}``
  (on the handler or its controller);
- public operations (``auth.PUBLIC_PATHS``) say ``security: []``;
- bodies the handler reads or writes itself (negotiated JSON / MessagePack,
  raw uploads, downloads) are declared with ``opt={"doc": Bodies(...)}``.

:func:`document` builds the described document once per app; the ``/schema``
pages serve it (:class:`DescribedJson`, :class:`DescribedSwagger`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.routes import HTTPRoute

from schemas.problems import Problem
from server.accounts.auth import PUBLIC_PATHS

PROBLEM_MEDIA = "application/problem+json"
_REF = "#/components/schemas/{name}"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_DESCRIPTIONS = {
    400: "请求格式有误 / malformed request (bad JSON, wrong parameter type)",
    401: "未登录、令牌无效或已过期 / not authenticated",
    403: "无权执行此操作 / the caller may not do this",
    404: "记录不存在或无权知晓 / not found",
    409: "当前状态不允许此操作 / state conflict",
    413: "提交内容过大 / payload too large",
    415: "不支持的内容类型 / unsupported media type",
    422: "输入有误 / invalid input",
    429: "操作过于频繁 / rate limited (see retry-after)",
    503: "服务暂时不可用，可稍后重试 / temporarily unavailable, retry later",
}
#: A body the handler writes as raw bytes (``None`` instead of a type in :class:`Bodies`).
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


@dataclass(frozen=True)
class Bodies:
    """Bodies Litestar cannot see: media type → msgspec type, or ``None`` for raw bytes.

    ``responses`` maps a status to its bodies (an empty mapping: no body) and
    replaces what Litestar inferred for that status; ``headers`` names the
    response headers of a status (name → description).
    """

    request: Mapping[str, Any] = field(default_factory=dict)
    responses: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    descriptions: Mapping[int, str] = field(default_factory=dict)


def error_statuses(*, method: str, public: bool, has_input: bool, has_body: bool, has_path: bool) -> set[int]:
    """The error statuses any operation of this shape can answer.

    - 400: Litestar refuses a parameter or body that does not decode;
    - 401 / 403: a token is required and every authenticated operation checks the caller's role or reach;
    - 404: a path, query or body names a record (by id, code or hash);
    - 409: a change may meet a state that forbids it;
    - 413: a body is bounded (``FIELDCHECK_MAX_BODY_BYTES``);
    - 422: a decoded value may still be unacceptable (check digits, references, ranges).
    """
    statuses: set[int] = set()
    if has_input:
        statuses |= {400, 422}
    if not public:
        statuses |= {401, 403}
        if method in _UNSAFE:
            statuses.add(409)
    if has_path or (has_input and not public):
        statuses.add(404)
    if has_body:
        statuses.add(413)
    return statuses


def document(app: Litestar) -> dict[str, Any]:
    """The app's OpenAPI document with every answer described (built once, then cached on the app)."""
    described = getattr(app.state, "openapi_document", None)
    if described is None:
        described = describe(copy.deepcopy(app.openapi_schema.to_schema()), app)
        app.state.openapi_document = described
    return described


def describe(doc: dict[str, Any], app: Litestar) -> dict[str, Any]:
    types: list[Any] = [Problem]
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = doc.get("paths", {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in handler.http_methods:
                operation = path_item.get(method.lower())
                if operation is not None:
                    types += _describe_operation(operation, handler, path_item, route.path_format or "/", method)
    (_, *_), components = msgspec.json.schema_components(types, ref_template=_REF)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in components.items():
        schemas.setdefault(name, schema)
    return doc


def _describe_operation(operation: dict[str, Any], handler: Any, path_item: dict[str, Any], path: str, method: str) -> list[Any]:
    opts = handler.opt  # merged with the controller's by Litestar
    bodies: Bodies = opts.get("doc") or Bodies()
    public = path.startswith(PUBLIC_PATHS)
    parameters = [*operation.get("parameters", []), *path_item.get("parameters", [])]
    has_body = "requestBody" in operation or bool(bodies.request)
    statuses = error_statuses(
        method=method,
        public=public,
        has_input=bool(parameters) or has_body,
        has_body=has_body,
        has_path=any(p.get("in") == "path" for p in parameters),
    )
    statuses |= set(opts.get("errors", ()))
    if public:
        operation["security"] = []

    types: list[Any] = []
    if bodies.request:
        operation["requestBody"] = {"required": True, "content": _content(bodies.request, types)}
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _DESCRIPTIONS.get(status, "error"),
            "content": {PROBLEM_MEDIA: {"schema": {"$ref": _REF.format(name="Problem")}}},
        }
        if status in (429, 503):
            responses[str(status)]["headers"] = {
                "retry-after": {"description": "秒 / seconds to wait", "schema": {"type": "string"}}
            }
    for status, media in bodies.responses.items():
        answer: dict[str, Any] = {"description": bodies.descriptions.get(status) or _success_description(responses, status)}
        if media:
            answer["content"] = _content(media, types)
        if status in bodies.headers:
            answer["headers"] = {
                name: {"description": text, "schema": {"type": "string"}} for name, text in bodies.headers[status].items()
            }
        responses[str(status)] = answer
    operation["responses"] = dict(sorted(responses.items()))
    return types


def _success_description(responses: dict[str, Any], status: int) -> str:
    existing = responses.get(str(status), {})
    return existing.get("description") or "OK"


def _content(media: Mapping[str, Any], types: list[Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for media_type, type_ in media.items():
        if type_ is None:
            content[media_type] = {"schema": dict(BINARY)}
        else:
            types.append(type_)
            content[media_type] = {"schema": msgspec.json.schema_components([type_], ref_template=_REF)[0][0]}
    return content


class DescribedJson(JsonRenderPlugin):
    """``/schema/openapi.json``: the described document."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


class DescribedSwagger(SwaggerRenderPlugin):
    """``/schema``: Swagger UI on the described document."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))
