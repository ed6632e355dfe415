"""Officers' own signature images: recorded once by the officer (drawn in the console or a PNG uploaded),
kept in the object store under their SHA-256 like evidence, and embedded in the documents that carry the
officers' signatures (``policy.Spec.officer_signatures``).

The upload is judged by its content, never its name or declared type: PNG magic bytes, a size bound
(``DOCUMENT_MAX_SIGNATURE_BYTES``), a pixel bound, and Pillow reading it whole. What is stored is the
picture re-encoded as a plain PNG (no metadata, transparency kept), so the hash names exactly what a
document embeds; reading it back checks that hash, and a changed object is an error, never printed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import uuid
import warnings
from typing import Any

from PIL import Image, UnidentifiedImageError

from schemas import documents as wire
from schemas.vocab import Role
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.documents.checked_read import read_checked
from server.documents.tables import OfficerSignature
from server.errors import InvalidInput, PayloadTooLarge, PermissionDenied, Unavailable, UnsupportedMedia
from storage import keys
from storage.base import ObjectExists, ObjectStore, StorageError

ENTITY = "officer_signature"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL = "data:image/png;base64,"
#: A signature is a line of handwriting: wide enough to read, never a photograph.
MIN_SIZE, MAX_SIZE = (60, 20), (2000, 1000)
SIGNERS = (Role.INSPECTOR, Role.SUPERVISOR)


def from_data_url(text: str, max_bytes: int) -> bytes:
    """The PNG bytes of a canvas's ``toDataURL()`` (what the console's signature pad sends)."""
    if not text.startswith(DATA_URL):
        raise UnsupportedMedia("签名须为 PNG 图片", "the drawn signature is not a PNG data URL", field="drawn")
    encoded = text[len(DATA_URL):]
    if len(encoded) > (max_bytes * 4) // 3 + 4:
        raise PayloadTooLarge(f"签名图片过大，上限 {max_bytes // 1024} KB", "signature too large", field="drawn")
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise InvalidInput("签名数据已损坏", "the drawn signature is not base64", field="drawn") from None


def normalized_png(data: bytes, max_bytes: int) -> tuple[bytes, int, int]:
    """(PNG bytes, width, height) of a signature judged by its content; refuses anything else."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"签名图片过大，上限 {max_bytes // 1024} KB", "signature too large", field="file")
    if not data.startswith(PNG_MAGIC):
        raise UnsupportedMedia("签名须为 PNG 图片（按文件内容判断）", "a signature is a PNG image", field="file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if width * height > MAX_SIZE[0] * MAX_SIZE[1] * 2:
                    raise PayloadTooLarge("签名图片尺寸过大", "signature has too many pixels", field="file")
                image.load()
                picture = image.convert("RGBA")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PayloadTooLarge("签名图片尺寸过大", "signature has too many pixels", field="file") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
            raise UnsupportedMedia("签名图片已损坏", f"unreadable signature: {error}", field="file") from None
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise InvalidInput(f"签名图片尺寸应在 {MIN_SIZE[0]}×{MIN_SIZE[1]} 至 {MAX_SIZE[0]}×{MAX_SIZE[1]} 像素之间",
                           "signature size out of range", field="file")
    if picture.getchannel("A").getextrema()[1] == 0 or _blank(picture):
        raise InvalidInput("签名图片是空白的，请重新签名", "the signature is blank", field="file")
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue(), width, height


def _blank(picture: Image.Image) -> bool:
    """No ink: every visible pixel is (near) white."""
    flat = Image.new("RGB", picture.size, "white")
    flat.paste(picture, mask=picture.getchannel("A"))
    return flat.convert("L").getextrema()[0] > 240


def _wire(row: dict[str, Any]) -> wire.OfficerSignature:
    return wire.OfficerSignature(officer_id=row["officer"], sha256=row["sha256"], size=row["size"], width=row["width"],
                                 height=row["height"], recorded_at=row["recorded_at"])


async def record(actor: Actor, store: ObjectStore, data: bytes, *, max_bytes: int,
                 now: dt.datetime | None = None) -> wire.OfficerSignature:
    """The actor's own signature, judged, stored write-once under its hash and recorded (replacing an earlier one)."""
    if actor.role not in SIGNERS:
        raise PermissionDenied("只有执法人员可以登记签名", "only officers record a signature", field="file")
    png, width, height = normalized_png(data, max_bytes)
    sha256 = hashlib.sha256(png).hexdigest()
    key = keys.signature_key(sha256)
    try:
        await store.put(key, png, content_type="image/png")
    except ObjectExists:
        pass  # the same picture again; content-addressed
    except StorageError as error:
        raise Unavailable("对象存储暂时不可用，请稍后重试", f"object store: {error}") from error
    now = now or dt.datetime.now(dt.UTC)
    values = {OfficerSignature.object_key: key, OfficerSignature.sha256: sha256, OfficerSignature.size: len(png),
              OfficerSignature.width: width, OfficerSignature.height: height, OfficerSignature.recorded_at: now}
    existing = await OfficerSignature.select(OfficerSignature.id).where(OfficerSignature.officer == actor.user_id).first()
    if existing is None:
        await OfficerSignature.insert(OfficerSignature(id=uuid.uuid4(), officer=actor.user_id, object_key=key, sha256=sha256,
                                                       size=len(png), width=width, height=height, recorded_at=now))
    else:
        await OfficerSignature.update(values).where(OfficerSignature.id == existing["id"])
    audit_service.record(actor, "officer_signature.record", ENTITY, actor.user_id,
                         {"sha256": sha256, "size": len(png), "replaced": existing is not None})
    return _wire(await OfficerSignature.select().where(OfficerSignature.officer == actor.user_id).first())


async def mine(actor: Actor) -> wire.OfficerSignature | None:
    row = await OfficerSignature.select().where(OfficerSignature.officer == actor.user_id).first()
    return _wire(row) if row else None


async def _checked(store: ObjectStore, row: dict[str, Any]) -> bytes:
    return await read_checked(store, row["object_key"], row["sha256"], what="签名图片", what_en=f"signature of {row['officer']}")


async def image_of(actor: Actor, store: ObjectStore) -> bytes | None:
    """The actor's own signature image (their console page shows it back)."""
    row = await OfficerSignature.select().where(OfficerSignature.officer == actor.user_id).first()
    return await _checked(store, row) if row else None


async def images(store: ObjectStore, officer_ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """The recorded signatures of these officers, hash-checked; an officer with none is simply absent."""
    if not officer_ids:
        return {}
    rows = await OfficerSignature.select().where(OfficerSignature.officer.is_in(officer_ids))
    return {row["officer"]: await _checked(store, row) for row in rows}
