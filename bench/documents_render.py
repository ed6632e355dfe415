"""Enforcement document benchmark: the 现场检查记录 of a 50-item checklist with 10 photos, rendered to PDF.

    .venv/bin/python bench/documents_render.py [--rounds 10] [--items 50] [--photos 10]

Measures, in one run and one process, after preparing the fonts once (that one-off cost is printed too):

- documents/s (untraced rounds) and the peak memory (one more round under tracemalloc: Python allocations) of rendering the record with its 10-photo annex
  and the signature image (photos as the evidence domain's thumbnails: 1024-px JPEGs);
- baseline: the same document's text without any image (same items, same fonts);
- context: the record rendered with the full fonts instead of the prepared GB 2312 cut (what a document with a
  rare character costs).
Prints medians and the ratio photos / baseline. Rendering is what issuing adds to a request: numbering, the
store write and the audit entry are small beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from PIL import Image as PILImage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.documents import DocumentType  # noqa: E402
from server.documents import fonts as prepared  # noqa: E402
from server.documents.model import Content, Image, Item, Officer, Party  # noqa: E402
from server.documents.render import render  # noqa: E402
from server.settings import DocumentSettings  # noqa: E402


def thumbnail(seed: int) -> bytes:
    picture = PILImage.effect_noise((1024, 768), 30 + seed).convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82)
    return out.getvalue()


def content(items: int, photos: int, *, images: bool) -> Content:
    pictures = [thumbnail(n) if images else None for n in range(photos)]
    return Content(
        type=DocumentType.INSPECTION_RECORD, title="现场检查记录", number="（中卫）应急检记〔2026〕128号",
        issuing_body="中卫市应急管理局", issued_at="2026年12月4日",
        officers=(Officer("张明远", "64050215155"), Officer("李卫东", "64050756497")),
        party=Party("中卫市金沙岸化工有限公司", "91640500MA76XXXX1X", "中卫市沙坡头区工业园区纬三路8号", contact="王建国 13895500000"),
        facts=("检查时间：2026年12月4日09时14分至2026年12月4日11时02分。", "检查地点：中卫市沙坡头区工业园区纬三路8号。"),
        items=tuple(Item(text=f"YB-{n} 第{n}项：安全警示标志、防护设施设置齐全有效", basis=f"《中华人民共和国安全生产法》第{35 + n % 10}条",
                         result="不符合" if n % 7 == 0 else "符合", note="现场未设置" if n % 7 == 0 else "")
                    for n in range(1, items + 1)),
        decision=("隐患1（一般隐患）：二号车间配电箱未设防护门；整改期限 2026年12月24日。",),
        signatures=(Image(thumbnail(99) if images else None, "被检查单位负责人：王建国", captured_at="2026年12月4日11时00分"),),
        photos=tuple(Image(p, f"现场照片{n + 1}", captured_at="2026年12月4日10时00分", place="北纬 37.51472°，东经 105.18967°",
                           sha256=f"{n:064x}") for n, p in enumerate(pictures)),
        verify_url="http://127.0.0.1:8000/verify/7M1664GZ47", short_code="7M166-4GZ47",
    )


def measure(doc: Content, fonts: prepared.Fonts, rounds: int) -> tuple[float, int, int]:
    """(median seconds, peak traced bytes, PDF size); timed rounds run untraced, one more round traces memory."""
    moment = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    times, size = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        size = len(render(doc, fonts, created_at=moment))
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    render(doc, fonts, created_at=moment)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--photos", type=int, default=10)
    args = parser.parse_args()
    settings = DocumentSettings()
    full = prepared.Fonts(body=settings.body_font, heading=settings.heading_font)
    start = time.perf_counter()
    prepared.warm(full)
    print(f"fonts prepared once in {time.perf_counter() - start:.1f} s (kept in the temp folder; 0 s when already there)")

    with_photos = content(args.items, args.photos, images=True)
    text_only = content(args.items, args.photos, images=False)
    results = {}
    # alternate the modes so machine load falls on both alike
    for _ in range(2):
        results["photos"] = measure(with_photos, full, args.rounds // 2 or 1)
        results["baseline"] = measure(text_only, full, args.rounds // 2 or 1)
    full_only = prepared.Fonts(body=full.body, heading=full.heading)
    rare = Content(**{**with_photos.__dict__, "officers": (Officer("王䶮", "64050215155"), with_photos.officers[1])})
    results["full fonts"] = measure(rare, full_only, max(2, args.rounds // 4))

    print(f"{'mode':<12}{'docs/s':>9}{'median s':>10}{'peak MiB':>10}{'PDF KiB':>9}")
    for name, (seconds, peak, size) in results.items():
        print(f"{name:<12}{1 / seconds:>9.2f}{seconds:>10.3f}{peak / 2**20:>10.1f}{size / 1024:>9.0f}")
    ratio = results["photos"][0] / results["baseline"][0]
    print(f"ratio photos / baseline (time per document): {ratio:.2f}")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
