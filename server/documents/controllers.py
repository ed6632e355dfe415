"""HTTP for enforcement documents: issue, list, read, download, void; and the public verify page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import documents as wire
from schemas.vocab import Role
from server import database
from server.accounts.auth import requires_role, source_address
from server.api_docs import Bodies
from server.bodies import read_bounded
from server.deps import AppSettings, CurrentActor
from server.documents import casefile, gather, signatures, signing, verify_page
from server.documents import service as documents_service
from server.errors import NotFound, PayloadTooLarge, RateLimited
from server.settings import Settings
from storage.base import attachment_disposition

EVERYONE = requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER)
OFFICERS = requires_role(Role.INSPECTOR, Role.SUPERVISOR)
CodeText = Annotated[str, QueryParameter(max_length=16)]
CodePath = Annotated[str, PathParameter(max_length=16)]
#: Hard cap of the verify form's body before the setting's own bound on the file is applied.
MAX_FORM_BYTES = 64 * 1024 * 1024
_SAFE = {"cache-control": "private, no-store"}
_PDF_DOC = {"doc": Bodies(responses={HTTP_200_OK: {"application/pdf": None}}), "errors": (503,)}


def limit(request: Request[Any, Any, Any], settings: Settings) -> None:
    """The public verify endpoints' per-address limit (429 with Retry-After past it)."""
    request.app.state.verify_limiter.check(source_address(request, settings.auth.trusted_proxy_networks))


def access(request: Request[Any, Any, Any]) -> gather.EvidenceAccess:
    return gather.EvidenceAccess(store=request.app.state.evidence_store, slots=request.app.state.thumbnail_slots)


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["执法文书 documents"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR)])
    async def issue(
        self, request: Request, data: JSONBody[wire.DocumentIssue], actor: CurrentActor, settings: AppSettings
    ) -> wire.Document:
        """签发文书：由记录生成 PDF，按机关、种类、年度编号，存入对象存储（不可更改），哈希写入审计链。"""
        async with documents_service.issuing_turn(), database.transaction():
            return await documents_service.issue(actor, data, settings, access(request))

    @get("/", guards=[EVERYONE])
    async def list_documents(self, actor: CurrentActor, inspection_id: FromQuery[uuid.UUID]) -> list[wire.Document]:
        """一次检查（案件）的全部文书，按签发顺序。"""
        return await documents_service.list_for_inspection(actor, inspection_id)

    @get("/casefile", guards=[EVERYONE], opt={"doc": Bodies(responses={HTTP_200_OK: {"application/zip": None}}), "errors": (503,)})
    async def casefile(
        self, request: Request, actor: CurrentActor, settings: AppSettings, inspection_id: FromQuery[uuid.UUID]
    ) -> Response[bytes]:
        """电子卷宗（ZIP）：卷宗首页、卷内目录、全部文书、证据文件、审计摘录与离线校验程序。"""
        async with database.transaction():
            name, data = await casefile.build(actor, inspection_id, request.app.state.evidence_store, settings)
        return Response(data, media_type="application/zip",
                        headers={**_SAFE, "content-disposition": attachment_disposition(name)})

    @get("/{document_id:uuid}", guards=[EVERYONE])
    async def get_document(self, actor: CurrentActor, document_id: FromPath[uuid.UUID]) -> wire.Document:
        """一份文书（含状态：有效、已作废、已被更正）。"""
        return await documents_service.get(actor, document_id)

    @get("/{document_id:uuid}/pdf", guards=[EVERYONE], opt=_PDF_DOC)
    async def pdf(self, request: Request, actor: CurrentActor, document_id: FromPath[uuid.UUID]) -> Response[bytes]:
        """下载签发的 PDF 原件（与签发时逐字节相同）。"""
        async with database.transaction():
            name, data = await documents_service.download(actor, request.app.state.evidence_store, document_id)
        return Response(data, media_type="application/pdf",
                        headers={**_SAFE, "content-disposition": attachment_disposition(name)})

    @get("/{document_id:uuid}/signed-copy", guards=[EVERYONE], opt=_PDF_DOC)
    async def signed_copy(
        self, request: Request, actor: CurrentActor, settings: AppSettings, document_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        """当事人签收页（PDF）：原件文号与 SHA-256 及当事人签名；首次读取时生成并存入对象存储（不可更改），原件不变。"""
        async with database.transaction():
            name, data = await signing.signed_copy(actor, document_id, settings, access(request))
        return Response(data, media_type="application/pdf",
                        headers={**_SAFE, "content-disposition": attachment_disposition(name)})

    @post("/{document_id:uuid}/void", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def void(
        self, actor: CurrentActor, document_id: FromPath[uuid.UUID], data: JSONBody[wire.DocumentVoid]
    ) -> wire.Document:
        """作废文书（保留文号，核验页显示已作废）；更正请签发新文书并注明 supersedes_id。"""
        async with database.transaction():
            return await documents_service.void(actor, document_id, data)


    @post("/{document_id:uuid}/statement", status_code=HTTP_201_CREATED, guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR)])
    async def record_statement(
        self, actor: CurrentActor, document_id: FromPath[uuid.UUID], data: JSONBody[wire.StatementRecord]
    ) -> wire.Statement:
        """在行政处罚告知书上登记当事人明确放弃陈述申辩（及听证）或已听取陈述申辩：此后不必等待期限届满即可签发决定书。"""
        async with database.transaction():
            return await documents_service.record_statement(actor, document_id, data)

    @get("/statements", guards=[EVERYONE])
    async def statements(self, actor: CurrentActor, inspection_id: FromQuery[uuid.UUID]) -> list[wire.Statement]:
        """一次检查（案件）中各告知书登记的陈述申辩情况。"""
        return list((await documents_service.statements_for_inspection(actor, inspection_id)).values())


class OfficerSignatureController(Controller):
    """The calling officer's own signature image, embedded in the documents that carry officers' signatures."""

    path = "/api/v1/officers/me/signature"
    tags = ["执法文书 documents"]

    @put("/", guards=[OFFICERS], request_max_body_size=None,  # bounded by read_bounded at DOCUMENT_MAX_SIGNATURE_BYTES
         opt={"doc": Bodies(request={"image/png": None}), "errors": (413, 415)})
    async def record(self, request: Request, actor: CurrentActor, settings: AppSettings) -> wire.OfficerSignature:
        """登记本人签名图片（PNG，按内容判断）；此后签发的须执法人员签名的文书嵌入该签名。"""
        limit_bytes = settings.documents.max_signature_bytes
        data = await read_bounded(request, limit_bytes, what=("签名图片", "signature"))
        async with database.transaction():
            return await signatures.record(actor, request.app.state.evidence_store, data, max_bytes=limit_bytes)

    @get("/", guards=[OFFICERS])
    async def current(self, actor: CurrentActor) -> wire.OfficerSignature:
        """本人已登记的签名（未登记为 404）。"""
        found = await signatures.mine(actor)
        if found is None:
            raise NotFound("尚未登记签名", "no signature recorded")
        return found

    @get("/image", guards=[OFFICERS], opt={"doc": Bodies(responses={HTTP_200_OK: {"image/png": None}}), "errors": (503,)})
    async def image(self, request: Request, actor: CurrentActor) -> Response[bytes]:
        """本人签名图片（与登记时逐字节相同，校验哈希）。"""
        data = await signatures.image_of(actor, request.app.state.evidence_store)
        if data is None:
            raise NotFound("尚未登记签名", "no signature recorded")
        return Response(data, media_type="image/png", headers=_SAFE)


class PublicVerificationController(Controller):
    """No login: anyone holding the paper checks it."""

    path = "/api/v1/public/documents"
    tags = ["文书核验 verification"]

    @staticmethod
    async def before_request(request: Request) -> None:
        """The per-address limit, before any body is read."""
        limit(request, request.app.state.settings)

    @get("/{code:str}", security=[], opt={"errors": (429,)})
    async def by_code(self, code: FromPath[CodePath]) -> wire.Verification:
        """按核验码查询：是否签发、何时由谁签发、是否已作废（不显示文书以外的任何信息）。"""
        return await documents_service.verify_code(code[:16])

    @post(
        "/verify",
        status_code=HTTP_200_OK,
        security=[],
        request_max_body_size=None,  # bounded by read_bounded at DOCUMENT_MAX_VERIFY_BYTES
        opt={"doc": Bodies(request={"application/pdf": None}, responses={HTTP_200_OK: {"application/json": wire.Verification}}),
             "errors": (413, 429)},
    )
    async def by_file(self, request: Request, settings: AppSettings, code: FromQuery[CodeText | None] = None) -> wire.Verification:
        """上传 PDF 核验：按 SHA-256 判断是否为签发原件（改动一个字节即不符）；可同时给出核验码。"""
        data = await read_bounded(request, settings.documents.max_verify_bytes, what=("文件", "file"))
        return await documents_service.verify_file(data, code)


@dataclass
class VerifyForm:
    code: str = ""
    file: UploadFile | None = None


def _throttled(request: Request[Any, Any, Any], settings: Settings) -> Response[str] | None:
    """The verify page's own answer past the limit: the page with the Chinese message, 429 and Retry-After."""
    try:
        limit(request, settings)
    except RateLimited as refused:
        return Response(verify_page.throttled(refused.message), media_type="text/html", status_code=429,
                        headers={"retry-after": str(refused.retry_after_s)})
    return None


class VerifyPageController(Controller):
    path = "/verify"
    include_in_schema = False

    @staticmethod
    async def before_request(request: Request) -> Response[str] | None:
        """The per-address limit, before any uploaded file is read."""
        return _throttled(request, request.app.state.settings)

    @get("/")
    async def form(self, settings: AppSettings) -> Response[str]:
        return Response(verify_page.page(None, timezone=settings.hazards.timezone), media_type="text/html")

    @get("/{code:str}")
    async def by_code(self, code: FromPath[CodePath], settings: AppSettings) -> Response[str]:
        code = code[:16]
        result = await documents_service.verify_code(code)
        return Response(verify_page.page(result, code=code, timezone=settings.hazards.timezone), media_type="text/html")

    @post("/", status_code=HTTP_200_OK, request_max_body_size=MAX_FORM_BYTES)
    async def submit(
        self, settings: AppSettings, data: Annotated[VerifyForm, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> Response[str]:
        code = (data.code or "").strip()[:16]
        if data.file is not None and data.file.filename:
            content = await data.file.read()
            if len(content) > settings.documents.max_verify_bytes:
                raise PayloadTooLarge("文件过大", "file too large", field="file")
            result = await documents_service.verify_file(content, code or None)
        elif code:
            result = await documents_service.verify_code(code)
        else:
            result = None
        return Response(verify_page.page(result, code=code, timezone=settings.hazards.timezone), media_type="text/html")
