"""Real image files for evidence tests, built in memory (no fixtures on disk)."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

EXIF_TIME = "2024:05:01 10:00:00"  # local time, +08:00 → 02:00 UTC
LATITUDE = (38.0, 28.0, 12.0)  # 38.47 N
LONGITUDE = (106.0, 16.0, 48.0)  # 106.28 E


def exif_block(*, time: str = EXIF_TIME, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "FieldPhone"
    exif.get_ifd(0x8769)[0x9003] = time
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[1] = "N"
        ifd[2] = LATITUDE
        ifd[3] = "E"
        ifd[4] = LONGITUDE
    return exif


def photo(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), *, exif: bool = True, seed: int = 1) -> bytes:
    """A small noisy photo in ``fmt`` carrying EXIF time and GPS."""
    image = Image.effect_noise(size, 40 + seed % 30).convert("RGB")
    out = io.BytesIO()
    kwargs = {"exif": exif_block()} if exif else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def big_jpeg(target_bytes: int, *, seed: int = 0) -> bytes:
    """A real JPEG of about ``target_bytes`` (noise compresses badly, so size tracks pixels)."""
    side = int((target_bytes / 0.93) ** 0.5)
    image = Image.effect_noise((side, side), 60 + seed).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, exif=exif_block())
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side: int = 14000) -> bytes:
    """A valid RGB PNG of ``side``×``side`` black pixels: ~600 KB on disk, ~590 MB decoded."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * side)
    rows_per_block = 256
    block = row * rows_per_block
    parts = []
    for _ in range(side // rows_per_block):
        parts.append(packer.compress(block))
    parts.append(packer.compress(row * (side % rows_per_block)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
