"""What the phone app's service worker caches, and the vocabulary and rule messages it shows offline.

The shell list names every file the app needs to start with no network: its own
files in web/app/ and the vendor files of web/dist/vendor/manifest.json for the
packages it loads. Its version is a hash of all their hashes, so the service
worker takes a new cache exactly when a file changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from schemas.documents import DocumentStatus, sign_refusal
from schemas.hazards import FiveInPlace, deadline_refusal, five_in_place_refusal, level_refusal
from schemas.identifiers import id_number_refusal
from schemas.inspections import item_result_refusal, unanswered_refusal
from schemas.vocab import LABELS, HazardLevel

#: The app's own files (web/app/<name>) and how each is served.
APP_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "writes.js": "text/javascript; charset=utf-8",
    "store.js": "text/javascript; charset=utf-8",
    "sync.js": "text/javascript; charset=utf-8",
    "rules.js": "text/javascript; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
    "icons/icon.svg": "image/svg+xml",
    "icons/icon-192.png": "image/png",
    "icons/icon-512.png": "image/png",
}
#: A font source on another host inside an ``@font-face`` list (Vant names a CDN copy after its inline one).
_FOREIGN_FONT = re.compile(rb',\s*url\((?:https?:)?//[^)]*\)\s*format\("[^"]*"\)')
#: npm packages (web/vendor.json) the app loads.
VENDOR_PACKAGES = ("vue", "vant", "dexie", "signature_pad", "pdfjs-dist")


def vendor_files(vendor_dir: Path) -> list[tuple[str, str]]:
    """(URL, sha256) of every vendor file the app loads, from web/build.py's manifest (licences left out)."""
    manifest = json.loads((vendor_dir / "manifest.json").read_text())
    found = []
    for package in VENDOR_PACKAGES:
        for name, entry in sorted(manifest.get(package, {}).get("files", {}).items()):
            if name != "LICENSE" and f"{package}/{name}" != "vant/index.css":  # served as /app/vant.css
                found.append((f"/static/vendor/{package}/{name}", entry["sha256"]))
    return found


def vant_css(vendor_dir: Path) -> bytes:
    """Vant's stylesheet without its fallback font on a CDN: the intranet phone must never ask another host."""
    return _FOREIGN_FONT.sub(b"", (vendor_dir / "vant" / "index.css").read_bytes())


def shell(app_dir: Path, vendor_dir: Path, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """The service worker's precache list and its version."""
    urls: list[str] = ["/app/", "/app/vocab.json", "/app/vant.css"]
    digest = hashlib.sha256(json.dumps(vocabulary(timezone), ensure_ascii=False, sort_keys=True).encode())
    for name in sorted(APP_FILES):
        if name != "index.html":
            urls.append(f"/app/{name}")
        digest.update(name.encode() + hashlib.sha256((app_dir / name).read_bytes()).digest())
    for url, sha in vendor_files(vendor_dir):
        urls.append(url)
        digest.update(url.encode() + sha.encode())
    return {"version": digest.hexdigest()[:16], "urls": urls}


def vocabulary(timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """Chinese labels of every vocabulary value (by enum name), the messages of the rules the phone checks, and
    the bureau's time zone (``FIELDCHECK_TIMEZONE``), in which the phone shows every time whatever its own clock's.

    The messages are the shared rules' own (``schemas/``), taken by calling them, so the phone says word for
    word what the server would; web/app/rules.js holds only the arithmetic, and a test compares both.
    """
    labels: dict[str, dict[str, str]] = {}
    for value, text in LABELS.items():
        labels.setdefault(type(value).__name__, {})[str(value)] = text
    today = dt.date.today()

    def five(**changes: Any) -> FiveInPlace:
        fields = {"responsible_person": "x", "measures": "x", "funds_yuan": 0, "deadline_date": today,
                  "contingency_plan": "x", **changes}
        return FiveInPlace(**fields)

    refusals = {
        "invalid_id_number": id_number_refusal(""),
        "five_in_place": five_in_place_refusal(None, today),
        "five_in_place.responsible_person": five_in_place_refusal(five(responsible_person=" "), today),
        "five_in_place.measures": five_in_place_refusal(five(measures=" "), today),
        "five_in_place.contingency_plan": five_in_place_refusal(five(contingency_plan=" "), today),
        "five_in_place.deadline_date": five_in_place_refusal(five(deadline_date=today + dt.timedelta(days=1)), today),
        "deadline_date": deadline_refusal(today, today + dt.timedelta(days=1)),
        "level_needs_major_item": level_refusal(HazardLevel.MAJOR, False),
        "level_must_be_major": level_refusal(HazardLevel.GENERAL, True),
        "first_result_needs_outcome": item_result_refusal(["note"], first=True),
        "document_voided": sign_refusal(DocumentStatus.VOIDED, title="", on_site=True),
        "document_superseded": sign_refusal(DocumentStatus.SUPERSEDED, title="", on_site=True),
        "document_signed": sign_refusal(DocumentStatus.ISSUED, title="", on_site=True, signed_already=True),
    }
    messages = {key: refusal.message for key, refusal in refusals.items() if refusal is not None}
    assert len(messages) == len(refusals)
    unanswered = unanswered_refusal([{"id": "a", "code": "CODE", "text": "TEXT"}], [])
    assert unanswered is not None
    # "还有 1 个…：CODE TEXT" with the count and the list as placeholders.
    messages["items_unanswered"] = unanswered.message.replace("1", "{count}", 1).replace("CODE TEXT", "{items}")
    return {"labels": labels, "messages": messages, "timezone": timezone}
