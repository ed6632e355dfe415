"""Pure decisions about evidence bytes: what they are, whether to accept them, what they say.

No I/O here: functions take bytes or a binary file and return facts or raise a
domain error. The order of checks is the security argument:

1. the type is judged by magic bytes, never by a declared content type
   (HTML, SVG or anything else wearing a ``.jpg`` name is refused);
2. Pillow opens the file with ``formats=[that one type]``, so no other decoder
   (FITS, PSD, …) ever sees the bytes, and only the header is read;
3. the pixel count from the header is checked before any decoding, with
   Pillow's own ``DecompressionBombWarning`` turned into an error as a second
   fence — a 600 KB PNG of 14000×14000 is refused without being decoded;
4. only then are EXIF capture time and GPS read, and a thumbnail decoded
   (JPEG in draft mode, so a 12 MP photo decodes at 1/8 scale).

Thumbnails are re-encoded from pixels only; they carry no EXIF, GPS or XMP.
Originals are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from schemas.problems import ErrorCode
from server.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia

try:  # pillow-heif registers the HEIF decoder with Pillow
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - a dependency in pyproject.toml
    HEIF_AVAILABLE = False

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
ALLOWED_MEDIA_TYPES = (JPEG, PNG, WEBP, HEIC, HEIF)

#: The one Pillow decoder each media type may reach.
_PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIC: "HEIF", HEIF: "HEIF"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif", b"mif2"}
#: Markup that makes a file a polyglot a browser might render (checked in the first bytes).
_MARKUP = (b"<html", b"<!doctype", b"<script", b"<svg", b"<body", b"<iframe", b"<?php")
HEAD_BYTES = 4096

#: Capture time and place from EXIF "disagree" with the app's beyond these.
TIME_TOLERANCE = dt.timedelta(minutes=10)
DISTANCE_TOLERANCE_M = 500.0
#: EXIF DateTimeOriginal has no zone unless OffsetTimeOriginal is set; phones write local time.
DEFAULT_EXIF_ZONE = dt.timezone(dt.timedelta(hours=8))

THUMBNAIL_SIDE = 480

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_DATETIME = 0x0132


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the server itself read from an image's header and EXIF."""

    media_type: str
    width: int
    height: int
    exif_captured_at: dt.datetime | None = None
    exif_latitude: float | None = None
    exif_longitude: float | None = None


def sniff_media_type(head: bytes) -> str | None:
    """The allowed media type the leading bytes prove, or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if len(head) >= 12 and head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]}
        end = min(box_size, len(head))
        brands.update(head[i : i + 4] for i in range(16, end - 3, 4))
        if brands & _HEIC_BRANDS:
            return HEIC
        if brands & _HEIF_BRANDS:
            return HEIF
    return None


def check_size(size: int, max_bytes: int) -> None:
    """Refuse an empty file or one over the limit."""
    if size <= 0:
        raise InvalidInput("文件为空", "empty file", field="size")
    if size > max_bytes:
        raise PayloadTooLarge(
            f"文件过大（{size} 字节），上限为 {max_bytes} 字节",
            f"file of {size} bytes is over the limit of {max_bytes}",
            field="size",
        )


def check_head(head: bytes) -> str:
    """The media type of a file from its first bytes; refuse anything else and markup polyglots."""
    media_type = sniff_media_type(head)
    if media_type is None:
        raise UnsupportedMedia(
            "文件内容不是允许的图片格式（JPEG、PNG、HEIC/HEIF、WebP）",
            "content is not an allowed image type (JPEG, PNG, HEIC/HEIF, WebP)",
        )
    if media_type in (HEIC, HEIF) and not HEIF_AVAILABLE:  # pragma: no cover
        raise UnsupportedMedia("服务器无法解析 HEIC/HEIF 图片", "HEIC/HEIF support is not installed")
    lowered = head[:HEAD_BYTES].lower()
    if any(marker in lowered for marker in _MARKUP):
        raise UnsupportedMedia("图片文件中夹带网页或脚本内容", "image contains markup (polyglot file)")
    return media_type


def inspect_image(source: bytes | IO[bytes], *, max_pixels: int) -> ImageFacts:
    """Check an image without decoding its pixels and read its EXIF capture time and place."""
    file = io.BytesIO(source) if isinstance(source, bytes) else source
    file.seek(0)
    media_type = check_head(file.read(HEAD_BYTES))
    file.seek(0)
    with _open(file, media_type, max_pixels) as image:
        width, height = image.size
        time, latitude, longitude = _read_exif(image)
    return ImageFacts(
        media_type=media_type,
        width=width,
        height=height,
        exif_captured_at=time,
        exif_latitude=latitude,
        exif_longitude=longitude,
    )


def make_thumbnail(source: bytes | IO[bytes], *, max_pixels: int, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG at most ``side`` pixels wide or high, upright, with no metadata at all."""
    file = io.BytesIO(source) if isinstance(source, bytes) else source
    file.seek(0)
    media_type = check_head(file.read(HEAD_BYTES))
    file.seek(0)
    with _open(file, media_type, max_pixels) as image:
        if media_type == JPEG:
            image.draft("RGB", (side, side))  # decode at 1/2, 1/4 or 1/8 scale
        try:
            # A PNG has no draft mode: decoded whole, 40 Mpx cost 350 MB. It is reduced strip by strip instead.
            small = _reduced_png(file, image, side) if media_type == PNG else None
            upright = small if small is not None else ImageOps.exif_transpose(image)
            upright.thumbnail((side, side))
            pixels = upright.convert("RGB")
        except (OSError, ValueError, SyntaxError, zlib.error, struct.error) as error:
            raise UnsupportedMedia("图片已损坏，无法生成缩略图", f"damaged image: {error}") from error
    # A fresh image holds pixels only: no EXIF, GPS, XMP or ICC block is copied over.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def disagrees(
    *,
    captured_at: dt.datetime,
    latitude: float | None,
    longitude: float | None,
    facts: ImageFacts,
    time_tolerance: dt.timedelta = TIME_TOLERANCE,
    distance_tolerance_m: float = DISTANCE_TOLERANCE_M,
) -> bool:
    """True when the photo's own EXIF time or place is far from what the app recorded."""
    if facts.exif_captured_at is not None and abs(facts.exif_captured_at - captured_at) > time_tolerance:
        return True
    if None not in (latitude, longitude, facts.exif_latitude, facts.exif_longitude):
        distance = distance_m(latitude, longitude, facts.exif_latitude, facts.exif_longitude)  # type: ignore[arg-type]
        if distance > distance_tolerance_m:
            return True
    return False


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def part_count(size: int, chunk_bytes: int) -> int:
    """How many chunks a file of ``size`` bytes is sent in."""
    return max(1, -(-size // chunk_bytes))


def expected_part_size(size: int, chunk_bytes: int, number: int) -> int:
    """The exact length chunk ``number`` (from 1) must have; every chunk but the last is full."""
    count = part_count(size, chunk_bytes)
    if not 1 <= number <= count:
        raise InvalidInput(f"分片序号应在 1 到 {count} 之间", f"chunk number must be 1..{count}", field="number")
    return chunk_bytes if number < count else size - chunk_bytes * (count - 1)


# -- internals ---------------------------------------------------------------

#: PNG colour type → (mode, bytes per pixel) of the 8-bit, non-interlaced PNGs reduced while decoding.
_PNG_MODES = {0: ("L", 1), 2: ("RGB", 3), 3: ("P", 1), 4: ("LA", 2), 6: ("RGBA", 4)}
#: Rows of the reduced image made from one strip (the strip holds this many times the reduction factor).
_STRIP_ROWS = 8
_INFLATE_STEP = 1 << 20
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _png_chunks(file: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of each chunk; IDAT data comes in pieces of at most a megabyte."""
    file.seek(8)
    while len(header := file.read(8)) == 8:
        length, kind = struct.unpack(">I4s", header)
        while length > 0:
            piece = file.read(min(length, _INFLATE_STEP) if kind == b"IDAT" else length)
            if not piece:
                raise ValueError("truncated PNG")
            length -= len(piece)
            yield kind, piece
        file.read(4)  # CRC: the rows are checked by the decoder, the stream by zlib's own checksum
        if kind == b"IEND":
            return


def _reduced_png(file: IO[bytes], image: Image.Image, side: int) -> Image.Image | None:
    """The PNG shrunk by a whole factor while it is inflated, a strip of rows at a time (memory: a few MB).

    Each strip is decoded by Pillow's own PNG row decoder from the strip's filtered rows, preceded by
    the previous strip's last row sent unfiltered (filters read the row above). None for a PNG this
    does not cover (16-bit, palette of fewer bits, interlaced): it is decoded whole.
    """
    width, height = image.size
    bits, colour, interlace = _png_header(file)
    if bits != 8 or interlace or colour not in _PNG_MODES:
        return None
    mode, bpp = _PNG_MODES[colour]
    factor = max(1, max(width, height) // (2 * side))
    if factor == 1:
        return None  # small already: decoding it whole costs little
    palette = None
    stride = 1 + width * bpp
    strip_rows = factor * _STRIP_ROWS
    canvas_mode = "RGBA" if mode in ("P", "LA", "RGBA") else mode
    canvas = Image.new(canvas_mode, (-(-width // factor), -(-height // factor)))
    inflater = zlib.decompressobj()
    pending = bytearray()
    above = b""
    top = 0

    def strip(rows: bytes) -> None:
        nonlocal above, top
        count, lead = len(rows) // stride, 1 if above else 0
        stream = (b"\x00" + above if lead else b"") + rows
        decoded = Image.frombytes(mode, (width, lead + count), zlib.compress(stream, 0), "zip", mode)
        if palette is not None:
            decoded.putpalette(palette)
        above = decoded.crop((0, lead + count - 1, width, lead + count)).tobytes("raw", mode)
        part = decoded.crop((0, lead, width, lead + count)) if lead else decoded
        canvas.paste(part.convert(canvas_mode).reduce(factor), (0, top // factor))
        top += count

    orientation = 1
    for kind, data in _png_chunks(file):
        if kind == b"PLTE":
            palette = data
        elif kind == b"eXIf":  # read here: Pillow's PNG getexif() decodes the whole image to look for it
            exif = Image.Exif()
            exif.load(data)
            orientation = exif.get(0x0112, 1)
        elif kind == b"IDAT":
            while data and top < height:  # inflating stops with the last row: data after it is never expanded
                pending += inflater.decompress(data, _INFLATE_STEP)
                data = inflater.unconsumed_tail
                while len(pending) >= strip_rows * stride and top < height:
                    rows = min(strip_rows, height - top)
                    strip(bytes(pending[: rows * stride]))
                    del pending[: rows * stride]
    if top < height:
        pending += inflater.flush()
        if top + len(pending) // stride < height:
            raise ValueError("truncated PNG data")
        strip(bytes(pending[: (height - top) * stride]))
    method = _ORIENTATION.get(orientation)
    return canvas.transpose(method) if method is not None else canvas


def _png_header(file: IO[bytes]) -> tuple[int, int, int]:
    file.seek(16)
    _, _, bits, colour, _, _, interlace = struct.unpack(">IIBBBBB", file.read(13))
    return bits, colour, interlace


class _Opened:
    """Context manager around ``Image.open`` with the checks of steps 2 and 3."""

    def __init__(self, file: IO[bytes], media_type: str, max_pixels: int) -> None:
        self.file, self.media_type, self.max_pixels = file, media_type, max_pixels
        self.image: Image.Image | None = None

    def __enter__(self) -> Image.Image:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(self.file, formats=[_PILLOW_FORMAT[self.media_type]])
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(None, self.max_pixels) from None
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
                raise UnsupportedMedia("图片文件已损坏或格式不符", f"unreadable image: {error}") from None
        self.image = image
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > self.max_pixels:
            image.close()
            raise _too_many_pixels(width * height, self.max_pixels)
        return image

    def __exit__(self, *exc: object) -> None:
        if self.image is not None:
            self.image.close()


def _open(file: IO[bytes], media_type: str, max_pixels: int) -> _Opened:
    return _Opened(file, media_type, max_pixels)


def _too_many_pixels(pixels: int | None, max_pixels: int) -> PayloadTooLarge:
    shown = f"{pixels} 像素" if pixels else "像素数"
    return PayloadTooLarge(
        f"图片尺寸过大（{shown}），上限为 {max_pixels} 像素",
        f"image has too many pixels (limit {max_pixels})",
        code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
    )


def _png_exif(file: IO[bytes]) -> bytes | None:
    """The eXIf chunk of a PNG, found by skipping over the others (image data is not read)."""
    file.seek(8)
    while len(header := file.read(8)) == 8:
        length, kind = struct.unpack(">I4s", header)
        if kind == b"eXIf":
            return file.read(length)
        if kind == b"IEND":
            return None
        file.seek(length + 4, io.SEEK_CUR)
    return None


def _exif_of(image: Image.Image) -> Image.Exif:
    if image.format != "PNG":
        return image.getexif()
    # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after the image data.
    exif = Image.Exif()
    if data := image.info.get("exif") or _png_exif(image.fp):  # type: ignore[arg-type]
        exif.load(data)
    return exif


def _read_exif(image: Image.Image) -> tuple[dt.datetime | None, float | None, float | None]:
    try:
        exif = _exif_of(image)
    except Exception:  # noqa: BLE001 - broken EXIF is not a reason to refuse the photo
        return None, None, None
    if not exif:
        return None, None, None
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001
        sub, gps = {}, {}
    time = _exif_time(sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME), sub.get(_OFFSET_TIME_ORIGINAL))
    latitude = _gps_degrees(gps.get(2), gps.get(1), "S")
    longitude = _gps_degrees(gps.get(4), gps.get(3), "W")
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        latitude = longitude = None
    return time, latitude, longitude


def _exif_time(value: object, offset: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        naive = dt.datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = DEFAULT_EXIF_ZONE
    if isinstance(offset, str):
        try:
            zone = dt.datetime.strptime(offset.strip("\x00 "), "%z").tzinfo or zone  # type: ignore[assignment]
        except ValueError:
            pass
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def _gps_degrees(value: object, ref: object, negative: str) -> float | None:
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if any(math.isnan(p) or math.isinf(p) for p in (degrees, minutes, seconds)):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode(errors="replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative:
        result = -result
    return round(result, 7)
