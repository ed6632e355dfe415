"""Thumbnails in bounded memory: a 40-Mpx PNG is reduced while it is decoded, and few are made at once."""

from __future__ import annotations

import asyncio
import io
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from storage import keys

from . import images
from .conftest import Field

#: Just under the default pixel cap (EVIDENCE_MAX_PIXELS = 40 000 000).
WIDTH, HEIGHT = 7744, 5160


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def big_png(path: Path) -> None:
    """An RGB PNG of WIDTH×HEIGHT with every row filter in turn (decoded whole: 120 MB of pixels)."""
    packer = zlib.compressobj(1)
    pattern = bytes(range(256)) * (3 * WIDTH // 256 + 2)
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)))
        for start in range(0, HEIGHT, 256):
            block = b"".join(bytes([y % 5]) + pattern[y % 256 : y % 256 + 3 * WIDTH]
                             for y in range(start, min(HEIGHT, start + 256)))
            if data := packer.compress(block):
                out.write(_chunk(b"IDAT", data))
        out.write(_chunk(b"IDAT", packer.flush()) + _chunk(b"IEND", b""))


def test_a_40_megapixel_png_thumbnail_costs_a_few_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    big_png(path)
    # A fresh interpreter, so its peak resident size (ru_maxrss, which sees Pillow's C buffers) is this thumbnail's.
    script = textwrap.dedent(f"""
        import io, resource
        from PIL import Image
        from server.evidence import policy
        file = open({str(path)!r}, "rb")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        facts = policy.inspect_image(file, max_pixels=40_000_000)  # at upload: its EXIF, not its pixels
        checked = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        thumb = policy.make_thumbnail(open({str(path)!r}, "rb"), max_pixels=40_000_000)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(checked // 1024, grown // 1024, *Image.open(io.BytesIO(thumb)).size)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    checked_mb, grown_mb, width, height = map(int, done.stdout.split())
    assert (width, height) == (480, round(480 * HEIGHT / WIDTH)), done.stdout
    assert checked_mb < 10, f"checking the upload grew the process by {checked_mb} MB"  # getexif() decoded it: 42 MB
    assert grown_mb < 30, f"the thumbnail grew the process by {grown_mb} MB"  # decoded whole: 175 MB


def test_a_reduced_png_is_the_image_decoded_whole() -> None:
    """Strip by strip gives the same pixels as Pillow decoding the whole file, for every 8-bit colour type."""
    from server.evidence import policy

    base = Image.effect_noise((2100, 1250), 60).convert("RGB")
    for mode in ("RGB", "RGBA", "L", "LA", "P"):
        picture = base.quantize(64) if mode == "P" else base.convert(mode)
        out = io.BytesIO()
        picture.save(out, format="PNG")
        out.seek(0)
        with Image.open(out) as opened:
            reduced = policy._reduced_png(out, opened, 480)
        assert reduced is not None
        whole = Image.open(io.BytesIO(out.getvalue())).convert(reduced.mode).reduce(2100 // 960)
        assert reduced.size == whole.size and reduced.tobytes() == whole.tobytes(), mode


class _CountingStore:
    """The app's store, counting thumbnails being made (original read → thumbnail written) at the same time."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.making, self.most = inner, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def stream(self, key: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        if key.startswith(keys.BLOB_PREFIX):
            self.making += 1
            self.most = max(self.most, self.making)
        async for block in self.inner.stream(key, **kwargs):
            yield block

    async def put(self, key: str, data: bytes, **kwargs: Any) -> Any:
        if key.startswith(keys.THUMBNAIL_PREFIX):
            self.making -= 1
        return await self.inner.put(key, data, **kwargs)


async def test_three_thumbnails_at_once_are_made_in_turn(field: Field) -> None:
    ids = []
    for seed in range(3):
        data = images.photo("PNG", size=(2400, 1800), exif=False, seed=seed)
        outcome = await field.attach(data)
        ids.append(outcome.entity_id)  # type: ignore[union-attr]
        assert (await field.upload(data)).json()["status"] == "complete"
    app = field.env.app
    counting = _CountingStore(app.state.evidence_store)
    app.state.evidence_store = counting
    try:
        responses = await asyncio.gather(*(
            field.env.client.get(f"/api/v1/evidence/{i}/thumbnail", headers=field.phone.headers) for i in ids
        ))
    finally:
        app.state.evidence_store = counting.inner
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert counting.most == app.state.settings.evidence.thumbnails_at_once == 2, counting.most


def test_a_reduced_png_is_turned_as_its_exif_says() -> None:
    from server.evidence import policy

    picture = Image.new("RGB", (2400, 1200), "red")
    picture.paste("blue", (0, 0, 1200, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    out = io.BytesIO()
    picture.save(out, format="PNG", exif=exif)
    thumb = Image.open(io.BytesIO(policy.make_thumbnail(out.getvalue(), max_pixels=40_000_000)))
    assert thumb.size == (240, 480)
    assert thumb.getpixel((120, 10))[2] > 200 and thumb.getpixel((120, 470))[0] > 200  # blue on top, red below


def test_data_after_the_last_row_is_never_inflated_and_missing_rows_are_refused() -> None:
    from server.errors import UnsupportedMedia
    from server.evidence import policy

    def png(rows: int, extra: int) -> bytes:
        packer = zlib.compressobj(9)
        body = packer.compress(b"\x00" * (1 + 3 * 2000) * rows) + packer.compress(b"\x00" * extra) + packer.flush()
        header = struct.pack(">IIBBBBB", 2000, 1000, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")

    bomb = png(1000, 1024**3)  # a GiB more than the rows, in 1 MB
    started = time.monotonic()
    thumb = policy.make_thumbnail(bomb, max_pixels=40_000_000)
    assert time.monotonic() - started < 10  # inflating the extra GiB took 45 s
    assert Image.open(io.BytesIO(thumb)).size == (480, 240)
    try:
        policy.make_thumbnail(png(500, 0), max_pixels=40_000_000)
    except UnsupportedMedia as refused:
        assert "truncated" in refused.message_en
    else:
        raise AssertionError("half a PNG made a thumbnail")
