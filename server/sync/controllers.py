"""HTTP for push and pull: content negotiation (JSON / MessagePack) and gzip both ways."""

from __future__ import annotations

import gzip
import zlib
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK

from schemas import bounds
from schemas import sync as wire
from schemas.vocab import Role
from server import database, metrics
from server.accounts.auth import requires_role
from server.api_docs import Bodies
from server.deps import AppContext, CurrentActor
from server.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from server.sync import pull as pull_service
from server.sync import push as push_service
from server.sync.registry import Registry

MSGPACK = "application/msgpack"
JSON = "application/json"
#: Responses above this many bytes are gzip-compressed when the client accepts it.
GZIP_MIN_BYTES = 1024
#: The app's dispatch table (``app.state.sync_registry``), asked for by name.
SyncRegistry = NamedDependency[Registry]
#: gzip level of responses: 1 compresses a pull page of 5,000 records about 2.5× faster than 5 for a body
#: about a tenth larger (the server's CPU is what an initial sync waits for; nginx uses 1 by default too).
GZIP_LEVEL = 1


def _encoding_of(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in (MSGPACK, "application/x-msgpack", "application/vnd.msgpack"):
        return "msgpack"
    if media in (JSON, ""):
        return "json"
    raise UnsupportedMedia("仅支持 JSON 或 MessagePack", f"unsupported content type {media}")


def _inflate(body: bytes, limit: int) -> bytes:
    """Inflate at most ``limit`` bytes: a bomb stops at the bound, before any of it is decoded."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidInput("压缩数据损坏", "corrupt gzip body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(
            f"解压后的请求体超过 {limit} 字节，请分批上传", f"inflated body over {limit} bytes; send fewer mutations"
        )
    return data


async def _decode(request: Request, type_: Any, limit: int) -> tuple[Any, str]:
    encoding = _encoding_of(request.headers.get("content-type", JSON))
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = _inflate(body, limit)
    try:
        if encoding == "msgpack":
            return msgspec.msgpack.decode(body, type=type_), encoding
        return msgspec.json.decode(body, type=type_), encoding
    except (RecursionError, UnicodeDecodeError) as exc:  # nesting msgspec cannot follow, bytes that are not UTF-8
        raise InvalidInput("请求数据格式有误", f"malformed body: {type(exc).__name__}") from None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        text = str(exc)
        raise InvalidInput(f"请求数据有误：{text}", f"invalid body: {text}", code=bounds.code_of(text),
                           field=bounds.field_of(text)) from None


def _respond(request: Request, value: Any) -> Response[bytes]:
    if _response_encoding(request) == "msgpack":
        body, media = msgspec.msgpack.encode(value), MSGPACK
    else:
        body, media = msgspec.json.encode(value), JSON
    headers = {"vary": "accept, accept-encoding"}
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers["content-encoding"] = "gzip"
    return Response(content=body, media_type=media, status_code=HTTP_200_OK, headers=headers)


def _response_encoding(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if MSGPACK in accept:
        return "msgpack"
    if "json" in accept:
        return "json"
    return _encoding_of(request.headers.get("content-type", JSON))


class _PushRequestShape(wire.PushRequest, kw_only=True):
    # The document names the mutation kinds; the server reads each mutation raw (an unknown one is rejected alone).
    mutations: Annotated[list[wire.AnyMutation], msgspec.Meta(max_length=wire.MAX_PUSH_MUTATIONS)]


_PushRequestShape.__name__ = "PushRequest"
_PushRequestShape.__doc__ = wire.PushRequest.__doc__


def _negotiated(request: type, response: type) -> Bodies:
    """JSON or MessagePack both ways (``Content-Type`` / ``Accept``), either may be gzip-compressed."""
    return Bodies(
        request={JSON: request, MSGPACK: request},
        responses={HTTP_200_OK: {JSON: response, MSGPACK: response}},
        headers={HTTP_200_OK: {"vary": "accept, accept-encoding", "content-encoding": "gzip when accepted"}},
    )


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["离线同步 sync"]

    @post(
        "/push",
        guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)],
        summary="上传离线记录",
        status_code=HTTP_200_OK,
        opt={"doc": _negotiated(_PushRequestShape, wire.PushResponse), "errors": (415,)},
    )
    async def push(
        self, request: Request, actor: CurrentActor, context: AppContext, sync_registry: SyncRegistry
    ) -> Response[bytes]:
        """上传离线记录（JSON 或 MessagePack，可 gzip）：一次事务内逐条处理，每条返回 applied / rejected / conflict。"""
        settings = context.settings
        data, encoding = await _decode(request, wire.PushRequest, settings.sync.max_push_bytes)
        if len(data.mutations) > settings.sync.max_push_mutations:
            raise PayloadTooLarge(
                f"单次最多上传 {settings.sync.max_push_mutations} 条记录，请分批", "too many mutations in one push",
                field="mutations",
            )
        async with database.transaction():
            result = await push_service.push(context, sync_registry, actor, data, encoding=encoding)
        metrics.count_push(result.outcomes)
        return _respond(request, result)

    @post(
        "/pull",
        summary="拉取变更",
        status_code=HTTP_200_OK,
        opt={"doc": _negotiated(wire.PullRequest, wire.PullResponse), "errors": (415,)},
    )
    async def pull(
        self, request: Request, actor: CurrentActor, context: AppContext, sync_registry: SyncRegistry
    ) -> Response[bytes]:
        """按游标分页拉取本人可见范围内的变更；离开范围的记录以 remove 下发。"""
        settings = context.settings
        data, _ = await _decode(request, wire.PullRequest, settings.sync.max_push_bytes)
        if data.limit > settings.sync.pull_page_size:
            data = msgspec.structs.replace(data, limit=settings.sync.pull_page_size)
        async with database.transaction():
            result = await pull_service.pull(
                context, sync_registry, actor, data, encoding=_response_encoding(request)
            )
        metrics.count_pull(len(result.changes))
        return _respond(request, result)
