"""An officer's own signature: the page to draw it (signature_pad) or upload a PNG, and the picture back.

The judging, storing and hash check are :mod:`server.documents.signatures`'; documents embed it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server import database
from server.console import navigation
from server.console.web import actor_of, redirect, render
from server.deps import AppSettings
from server.documents import signatures
from server.errors import InvalidInput, NotFound, PayloadTooLarge

OFFICERS = {"roles": navigation.OFFICERS}
#: The multipart body's hard cap before the setting's own bound on the picture (a data URL is a third larger).
MAX_FORM_BYTES = 2 * 1024 * 1024


@dataclass
class SignatureForm:
    drawn: str = ""
    file: UploadFile | None = None


@get("/console/signature", opt=OFFICERS, include_in_schema=False)
async def signature_page(request: Request, settings: AppSettings) -> Response:
    return render(request, "office/signature.html", signature=await signatures.mine(actor_of(request)),
                  max_kb=settings.documents.max_signature_bytes // 1024)


@get("/console/signature/image", opt=OFFICERS, include_in_schema=False)
async def signature_image(request: Request) -> Response:
    data = await signatures.image_of(actor_of(request), request.app.state.evidence_store)
    if data is None:
        raise NotFound("尚未登记签名", "no signature recorded")
    return Response(data, media_type="image/png", headers={"cache-control": "private, no-store"})


@post("/console/signature", opt=OFFICERS, include_in_schema=False, request_max_body_size=MAX_FORM_BYTES)
async def record_signature(
    request: Request, settings: AppSettings, data: Annotated[SignatureForm, Body(media_type=RequestEncodingType.MULTI_PART)]
) -> Response:
    limit = settings.documents.max_signature_bytes
    if data.file is not None and data.file.filename:
        content = await data.file.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"签名图片过大，上限 {limit // 1024} KB", "signature too large", field="file")
    elif data.drawn:
        content = signatures.from_data_url(data.drawn, limit)
    else:
        raise InvalidInput("请先手写签名或选择签名图片", "no signature given", field="drawn")
    async with database.transaction():
        await signatures.record(actor_of(request), request.app.state.evidence_store, content, max_bytes=limit)
    return redirect(request, "/console/signature")


ROUTES = [signature_page, signature_image, record_signature]
