"""Content checks on evidence bytes: pure, no I/O."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from schemas.problems import ErrorCode
from server.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from server.evidence import policy

from . import images

MAX_PIXELS = 40_000_000


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("JPEG", policy.JPEG), ("PNG", policy.PNG), ("WEBP", policy.WEBP), ("HEIF", policy.HEIC)],
)
def test_allowed_formats_are_recognised_and_exif_read(fmt: str, media_type: str) -> None:
    facts = policy.inspect_image(images.photo(fmt), max_pixels=MAX_PIXELS)
    assert facts.media_type == media_type
    assert (facts.width, facts.height) == (640, 480)
    assert facts.exif_captured_at == dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)
    assert facts.exif_latitude == pytest.approx(38.47)
    assert facts.exif_longitude == pytest.approx(106.28)


def test_photo_without_exif_has_no_exif_facts() -> None:
    facts = policy.inspect_image(images.photo(exif=False), max_pixels=MAX_PIXELS)
    assert facts.exif_captured_at is None and facts.exif_latitude is None


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<svg><script>alert(1)</script></svg>",
        b"GIF89a\x01\x00\x01\x00",
        b"%PDF-1.7\n",
        b"SIMPLE  =                    T / FITS",
    ],
)
def test_fake_images_are_refused_by_content(content: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        policy.inspect_image(content, max_pixels=MAX_PIXELS)
    assert caught.value.code == ErrorCode.UNSUPPORTED_MEDIA


def test_jpeg_magic_with_html_inside_is_refused_as_polyglot() -> None:
    polyglot = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html><script>alert(document.cookie)</script></html>"
    with pytest.raises(UnsupportedMedia):
        policy.inspect_image(polyglot, max_pixels=MAX_PIXELS)


def test_truncated_jpeg_header_is_refused() -> None:
    with pytest.raises(UnsupportedMedia):
        policy.inspect_image(images.photo()[:40], max_pixels=MAX_PIXELS)


def test_pixel_bomb_is_refused_without_decoding(tmp_path: Path) -> None:
    bomb = images.png_bomb(14000)
    assert 400_000 < len(bomb) < 800_000
    with pytest.raises(PayloadTooLarge) as caught:
        policy.inspect_image(bomb, max_pixels=MAX_PIXELS)
    assert caught.value.code == ErrorCode.IMAGE_TOO_MANY_PIXELS
    # In a fresh process, so its peak memory is the check's alone: decoding needs ~590 MB.
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    script = (
        "import sys\n"
        "from server.evidence import policy\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n"
        "    policy.inspect_image(data, max_pixels=40_000_000)\n"
        "except Exception as error:\n"
        "    code = str(error.code)\n"
        # VmHWM is this process image's own peak (ru_maxrss would carry the parent's over exec).
        "peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
        "print(code, int(peak) // 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60, check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    code, peak_mb = result.stdout.split()
    assert code == "image_too_many_pixels"
    assert int(peak_mb) < 150, f"peak RSS {peak_mb} MB suggests the bomb was decoded"


def test_pixel_limit_below_pillows_own_is_enforced() -> None:
    wide = images.photo(size=(800, 600))
    with pytest.raises(PayloadTooLarge) as caught:
        policy.inspect_image(wide, max_pixels=800 * 600 - 1)
    assert caught.value.code == ErrorCode.IMAGE_TOO_MANY_PIXELS


def test_size_limits() -> None:
    policy.check_size(1, 10)
    with pytest.raises(PayloadTooLarge) as caught:
        policy.check_size(11, 10)
    assert caught.value.code == ErrorCode.PAYLOAD_TOO_LARGE
    with pytest.raises(InvalidInput):
        policy.check_size(0, 10)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_thumbnail_has_no_exif_or_gps_and_original_is_unchanged(fmt: str) -> None:
    original = images.photo(fmt, size=(1200, 900))
    before = bytes(original)
    thumb = policy.make_thumbnail(original, max_pixels=MAX_PIXELS)
    assert original == before
    image = Image.open(io.BytesIO(thumb))
    assert image.format == "JPEG"
    assert max(image.size) <= policy.THUMBNAIL_SIDE
    exif = image.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(0x8825)
    assert "exif" not in image.info and "xmp" not in image.info
    # No EXIF segment at all (its APP1 header), whatever three bytes of compressed noise happen to spell.
    assert b"Exif\x00\x00" not in thumb and b"http://ns.adobe.com/xap/" not in thumb


def test_thumbnail_of_a_bomb_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        policy.make_thumbnail(images.png_bomb(9000), max_pixels=MAX_PIXELS)


def test_disagreement_flag() -> None:
    facts = policy.inspect_image(images.photo(), max_pixels=MAX_PIXELS)
    app_time = dt.datetime(2024, 5, 1, 2, 3, tzinfo=dt.UTC)
    assert not policy.disagrees(captured_at=app_time, latitude=38.47, longitude=106.28, facts=facts)
    later = app_time + dt.timedelta(hours=2)
    assert policy.disagrees(captured_at=later, latitude=38.47, longitude=106.28, facts=facts)
    far = 38.47 + 0.01  # about 1.1 km north
    assert policy.disagrees(captured_at=app_time, latitude=far, longitude=106.28, facts=facts)
    assert not policy.disagrees(captured_at=app_time, latitude=None, longitude=None, facts=facts)


@given(st.binary(max_size=64))
def test_sniff_never_accepts_markup_or_random_text(head: bytes) -> None:
    kind = policy.sniff_media_type(b"<" + head)
    assert kind is None


@given(st.binary(min_size=0, max_size=200))
def test_inspect_only_raises_domain_errors(blob: bytes) -> None:
    for prefix in (b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"\x00\x00\x00\x18ftypheic"):
        with pytest.raises((UnsupportedMedia, PayloadTooLarge)):
            policy.inspect_image(prefix + blob, max_pixels=MAX_PIXELS)


@given(st.integers(1, 10**9), st.integers(1, 10**7))
def test_chunk_plan_covers_the_file_exactly(size: int, chunk: int) -> None:
    count = policy.part_count(size, chunk)
    if count > 5000:
        return
    sizes = [policy.expected_part_size(size, chunk, n) for n in range(1, count + 1)]
    assert sum(sizes) == size
    assert all(s == chunk for s in sizes[:-1]) and 0 < sizes[-1] <= chunk


@given(
    st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179),
)
def test_distance_is_symmetric_and_zero_on_itself(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    assert policy.distance_m(lat1, lon1, lat1, lon1) == pytest.approx(0, abs=1e-6)
    assert policy.distance_m(lat1, lon1, lat2, lon2) == pytest.approx(policy.distance_m(lat2, lon2, lat1, lon1))
    assert 0 <= policy.distance_m(lat1, lon1, lat2, lon2) <= 20_016_000
