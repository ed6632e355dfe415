"""The fonts a document embeds, prepared once per process so rendering stays fast.

Parsing a whole CJK font (tens of thousands of glyphs) costs more than drawing the document. Nearly every
document only uses characters of GB 2312 and ASCII, so each font is cut once, per process, to that
repertoire (about 7,500 glyphs) and kept in a temporary file; a document with any character outside it (a
rare character in a person's name) is drawn with the full font instead, so nothing ever shows as a blank box.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Fonts:
    body: str
    heading: str


def _gb2312() -> frozenset[str]:
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


#: What the prepared fonts hold: printable ASCII, GB 2312, the full-width space and the em dash (GB 2312 maps its
#: dash to U+2015); a line break draws nothing.
COMMON: frozenset[str] = frozenset(chr(c) for c in range(0x20, 0x7F)) | _gb2312() | {"\u3000", "\u2014", "\n"}
_lock = threading.Lock()


@lru_cache(maxsize=8)
def _prepared(path: str) -> str:
    """A copy of the font at ``path`` cut to :data:`COMMON`, in this process's temporary folder."""
    from fontTools import subset, ttLib

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # bitmap tables it drops are not used
    stat = os.stat(path)
    digest = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"fieldcheck-fonts-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / f"{digest}.ttf"
    with _lock:
        if not target.exists():
            font = ttLib.TTFont(path, fontNumber=0, lazy=True, recalcTimestamp=False)
            options = subset.Options()
            options.notdef_outline = True
            options.name_IDs = ["*"]
            options.glyph_names = False
            subsetter = subset.Subsetter(options)
            subsetter.populate(text="".join(sorted(COMMON)))
            subsetter.subset(font)
            partial = target.with_suffix(f".{os.getpid()}.part")
            font.save(str(partial))
            partial.replace(target)
    return str(target)


def for_text(full: Fonts, text: str) -> Fonts:
    """The prepared fonts when they hold every character of ``text``; the full ones otherwise."""
    if set(text) <= COMMON:
        return Fonts(body=_prepared(full.body), heading=_prepared(full.heading))
    return full


def warm(full: Fonts) -> None:
    """Prepare both fonts now (a few seconds once per machine and font version), so the first document is not slow."""
    for path in (full.body, full.heading):
        if Path(path).is_file():
            _prepared(path)
