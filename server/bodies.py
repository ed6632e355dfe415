"""Reading a raw request body with a bound: refused (413) as soon as it grows past the limit, so memory stays
bounded by the limit whatever the client declares or sends."""

from __future__ import annotations

from typing import Any

from litestar import Request

from server.errors import PayloadTooLarge


async def read_bounded(request: Request[Any, Any, Any], limit: int, *, what: tuple[str, str] = ("内容", "body")) -> bytes:
    """The whole raw body, at most ``limit`` bytes; ``what`` names it in the refusal (Chinese, English)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what[0]}超过 {limit} 字节", f"{what[1]} over {limit} bytes", field="body")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise PayloadTooLarge(f"{what[0]}超过 {limit} 字节", f"{what[1]} over {limit} bytes", field="body")
    return bytes(body)
