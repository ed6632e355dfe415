"""HTTP for evidence: records, resumable chunk uploads, downloads and thumbnails."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, PathParameter
from litestar.response import Redirect, Stream
from litestar.status_codes import HTTP_200_OK, HTTP_307_TEMPORARY_REDIRECT

from schemas import evidence as wire
from schemas.problems import ErrorCode
from schemas.vocab import Role
from server import database, metrics
from server.accounts.auth import requires_role
from server.api_docs import Bodies
from server.bodies import read_bounded
from server.deps import AppSettings, CurrentActor
from server.errors import InvalidInput
from server.evidence import policy as evidence_policy
from server.evidence import service as evidence_service
from storage.base import ObjectStore, attachment_disposition

_WRITERS = requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)


_JSON = "application/json"
#: Raw bytes in, the session out; the object store may be down (503), the bytes may be no allowed image (415).
_UPLOAD_DOC = {
    "doc": Bodies(request={"application/octet-stream": None}, responses={HTTP_200_OK: {_JSON: wire.UploadSession}}),
    "errors": (413, 415, 503),
}
#: What every byte download carries besides the app-wide ``X-Content-Type-Options: nosniff`` (``server.app``).
_SAFE = {"cache-control": "private, no-store"}
#: The headers the document names for downloads (nosniff included, as the client receives it).
_SAFE_DOC = {"x-content-type-options": "nosniff", **_SAFE}
_DOWNLOAD_DOC = {
    "doc": Bodies(
        responses={
            HTTP_200_OK: dict.fromkeys(evidence_policy.ALLOWED_MEDIA_TYPES),
            HTTP_307_TEMPORARY_REDIRECT: {},
        },
        headers={
            HTTP_200_OK: {**_SAFE_DOC, "content-disposition": "attachment; filename=…", "content-length": "bytes"},
            HTTP_307_TEMPORARY_REDIRECT: {**_SAFE_DOC, "location": "对象存储 5 分钟有效的链接 / presigned URL"},
        },
        descriptions={HTTP_200_OK: "原始文件 / the original bytes", HTTP_307_TEMPORARY_REDIRECT: "对象存储链接 / presigned URL"},
    ),
    "errors": (503,),
}
_THUMBNAIL_DOC = {
    "doc": Bodies(responses={HTTP_200_OK: {"image/jpeg": None}}, headers={HTTP_200_OK: _SAFE_DOC}),
    "errors": (413, 415, 503),
}


def _store(request: Request[Any, Any, Any]) -> ObjectStore:
    return request.app.state.evidence_store


async def _read_chunk(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The raw body, refused as soon as it grows past one chunk (memory stays bounded by the chunk size)."""
    return await read_bounded(request, limit, what=("分片", "chunk"))


def _answer(outcome: evidence_service.UploadOutcome) -> wire.UploadSession:
    """The session, or, once the transaction has committed what the refusal changed, the refusal."""
    if outcome.refusal is not None:
        raise outcome.refusal
    return outcome.session


class EvidenceController(Controller):
    path = "/api/v1/evidence"
    tags = ["证据 evidence"]

    @get("/")
    async def list_evidence(self, actor: CurrentActor, inspection_id: FromQuery[uuid.UUID]) -> list[wire.Evidence]:
        """某次检查的全部证据（照片、签名）。"""
        return await evidence_service.list_for_inspection(actor, inspection_id)

    @get("/{evidence_id:uuid}")
    async def get_evidence(self, actor: CurrentActor, evidence_id: FromPath[uuid.UUID]) -> wire.Evidence:
        """一条证据记录（含服务器读取的 EXIF 时间、位置及与 App 记录是否不符）。"""
        return await evidence_service.get(actor, evidence_id)

    @get("/{evidence_id:uuid}/content", status_code=HTTP_200_OK, opt=_DOWNLOAD_DOC)
    async def download(
        self, request: Request, actor: CurrentActor, settings: AppSettings, evidence_id: FromPath[uuid.UUID]
    ) -> Response:
        """下载原始文件（未经改动，作为附件）：由服务器传输；配置允许时改为对象存储 5 分钟有效的链接。"""
        async with database.transaction():
            found = await evidence_service.download(actor, _store(request), evidence_id, limits=settings.evidence)
        if found.url is not None:
            return Redirect(found.url, status_code=HTTP_307_TEMPORARY_REDIRECT, headers=_SAFE)
        return Stream(
            found.chunks,
            media_type=found.media_type,
            headers={
                **_SAFE,
                "content-length": str(found.size),
                "content-disposition": attachment_disposition(found.filename),
            },
        )

    @get("/{evidence_id:uuid}/thumbnail", status_code=HTTP_200_OK, opt=_THUMBNAIL_DOC)
    async def thumbnail(
        self, request: Request, actor: CurrentActor, settings: AppSettings, evidence_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        """网页缩略图（JPEG，已去除 EXIF/GPS 等全部元数据）。"""
        data = await evidence_service.thumbnail(
            actor, _store(request), evidence_id, limits=settings.evidence, slots=request.app.state.thumbnail_slots
        )
        return Response(data, media_type="image/jpeg", headers=_SAFE)

    @post("/uploads", guards=[_WRITERS], status_code=HTTP_200_OK)
    async def open_upload(
        self, actor: CurrentActor, settings: AppSettings, data: JSONBody[wire.UploadCreate]
    ) -> wire.UploadSession:
        """开始（或继续）上传某个文件：返回已收到的分片，已存储过的文件直接返回 complete。"""
        async with database.transaction():
            return await evidence_service.open_upload(actor, data, limits=settings.evidence)

    @get("/uploads/{session_id:uuid}", guards=[_WRITERS])
    async def get_upload(
        self, actor: CurrentActor, settings: AppSettings, session_id: FromPath[uuid.UUID]
    ) -> wire.UploadSession:
        """上传进度：已存储的分片序号，断点续传从缺的分片开始。"""
        return await evidence_service.get_upload(actor, session_id, limits=settings.evidence)

    @put(
        "/uploads/{session_id:uuid}/parts/{number:int}",
        guards=[_WRITERS],
        status_code=HTTP_200_OK,
        request_max_body_size=None,  # bounded by _read_chunk at the configured chunk size
        opt=_UPLOAD_DOC,
    )
    async def put_part(
        self,
        request: Request,
        actor: CurrentActor,
        settings: AppSettings,
        session_id: FromPath[uuid.UUID],
        number: FromPath[int],
        chunk_sha256: Annotated[
            str, HeaderParameter(name=wire.CHUNK_HASH_HEADER, min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")
        ],
    ) -> wire.UploadSession:
        """上传第 number 个分片（原始字节，X-Chunk-SHA256 为该分片的哈希）；最后一个分片到达即校验并完成。"""
        if not 1 <= number <= 10_000:
            raise InvalidInput("分片序号无效", "invalid chunk number", code=ErrorCode.EVIDENCE_CHUNK_MISMATCH, field="number")
        body = await _read_chunk(request, settings.evidence.chunk_bytes)
        async with database.transaction():
            outcome = await evidence_service.put_part(
                actor, _store(request), session_id, number, body, chunk_sha256, limits=settings.evidence
            )
        metrics.UPLOAD_BYTES.inc(len(body))
        return _answer(outcome)

    @put(
        "/blobs/{sha256:str}",
        guards=[_WRITERS],
        status_code=HTTP_200_OK,
        request_max_body_size=None,  # bounded by _read_chunk at the configured chunk size
        opt=_UPLOAD_DOC,
    )
    async def upload_whole(
        self,
        request: Request,
        actor: CurrentActor,
        settings: AppSettings,
        sha256: Annotated[str, PathParameter(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")],
    ) -> wire.UploadSession:
        """一次请求上传不超过一个分片的整个文件（路径为其 SHA-256）；更大的文件请用上传会话分片上传。"""
        body = await _read_chunk(request, settings.evidence.chunk_bytes)
        async with database.transaction():
            outcome = await evidence_service.upload_whole(actor, _store(request), sha256, body, limits=settings.evidence)
        metrics.UPLOAD_BYTES.inc(len(body))
        return _answer(outcome)

    @post("/uploads/{session_id:uuid}/complete", guards=[_WRITERS], status_code=HTTP_200_OK, opt={"errors": (415, 503)})
    async def complete_upload(
        self, request: Request, actor: CurrentActor, settings: AppSettings, session_id: FromPath[uuid.UUID]
    ) -> wire.UploadSession:
        """所有分片到齐后完成上传（可重复调用）：服务器读回文件，哈希与大小一致才保存。"""
        async with database.transaction():
            outcome = await evidence_service.complete_upload(actor, _store(request), session_id, limits=settings.evidence)
        return _answer(outcome)

    @post("/gc", guards=[requires_role(Role.ADMIN)], status_code=HTTP_200_OK, opt={"errors": (503,)})
    async def collect_garbage(self, request: Request, settings: AppSettings) -> wire.GarbageReport:
        """清理过期未完成的上传与无记录引用的文件（已完成的证据永不清理）。"""
        async with database.transaction():
            return await evidence_service.collect_garbage(
                _store(request), older_than=dt.timedelta(seconds=settings.evidence.gc_after_s)
            )
