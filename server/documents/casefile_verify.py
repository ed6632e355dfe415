#!/usr/bin/env python3
"""Check an electronic case file (电子卷宗) offline: ``python3 verify_casefile.py 卷宗.zip`` (Python 3 only, no packages).

It passes only when
1. every file listed in MANIFEST.json is in the ZIP with that SHA-256 and size, and no other file is there
   (SHA256SUMS holds the same hashes, so ``unzip -d x 卷宗.zip && cd x && sha256sum -c SHA256SUMS`` checks step 1 too);
2. every audit entry in audit/extract.jsonl still has the hash the server's chain gave it, and entries with
   consecutive numbers link up. "canonical" below is JSON with sorted keys, no spaces, UTF-8. Chain versions 1
   and 2: SHA-256 over the canonical entry without its ``hash``. Version 3 (``"version": 3``): SHA-256 of the
   text ``<prev_hash>:<seq>:<body>``, where body is the hex SHA-256 over the canonical entry without ``hash``,
   ``seq`` and ``prev_hash``;
3. every document's SHA-256 is the one its ``document.issue`` audit entry recorded when it was issued.

What it cannot do offline: prove the whole ZIP was not forged with fresh hashes throughout. For that, compare the
manifest's SHA-256 (printed at the end) with the ``casefile.export`` entry of the bureau's audit log, or upload any
document to the public verify page.
Exit status 0 when everything holds, 1 otherwise (each problem is printed).
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile

MANIFEST = "MANIFEST.json"


def _canonical(entry: dict, leave_out: set[str]) -> bytes:
    body = {k: v for k, v in entry.items() if k not in leave_out}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    """The hash the chain gives this entry (see step 2 of the module docstring)."""
    if isinstance(entry.get("version"), int) and entry["version"] >= 3:
        body = hashlib.sha256(_canonical(entry, {"hash", "seq", "prev_hash"})).hexdigest()
        return hashlib.sha256(f"{entry.get('prev_hash')}:{entry.get('seq')}:{body}".encode("utf-8")).hexdigest()
    return hashlib.sha256(_canonical(entry, {"hash"})).hexdigest()


def problems(path: str) -> list[str]:
    """Everything wrong with the case file at ``path`` (empty when it verifies)."""
    found: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if MANIFEST not in names:
            return [f"{MANIFEST} is missing"]
        manifest = json.loads(archive.read(MANIFEST))
        listed = {f["path"]: f for f in manifest["files"]}
        for name in sorted(names - set(listed) - {MANIFEST}):
            found.append(f"{name}: not listed in the manifest")
        for name, meta in sorted(listed.items()):
            if name not in names:
                found.append(f"{name}: missing")
                continue
            data = archive.read(name)
            if hashlib.sha256(data).hexdigest() != meta["sha256"] or len(data) != meta["size"]:
                found.append(f"{name}: changed (SHA-256 differs from the manifest)")
        entries = []
        if "audit/extract.jsonl" in names:
            entries = [json.loads(line) for line in archive.read("audit/extract.jsonl").decode("utf-8").splitlines() if line]
    by_seq = {}
    for entry in entries:
        if _entry_hash(entry) != entry.get("hash"):
            found.append(f"audit entry {entry.get('seq')}: content does not match its hash")
        by_seq[entry.get("seq")] = entry
    for seq, entry in by_seq.items():
        before = by_seq.get(seq - 1) if isinstance(seq, int) else None
        if before is not None and entry.get("prev_hash") != before.get("hash"):
            found.append(f"audit entry {seq}: does not follow entry {seq - 1}")
    issued = {e["entity_id"]: e["changes"].get("sha256") for e in entries if e.get("action") == "document.issue"}
    for document in manifest.get("documents", []):
        if issued.get(document["id"]) != document["sha256"]:
            found.append(f"{document['path']}: its SHA-256 is not the one recorded when {document['number']} was issued")
        if listed.get(document["path"], {}).get("sha256") != document["sha256"]:
            found.append(f"{document['path']}: the manifest lists another SHA-256 for it")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0])
        return 2
    found = problems(argv[1])
    with zipfile.ZipFile(argv[1]) as archive:
        digest = hashlib.sha256(archive.read(MANIFEST)).hexdigest() if MANIFEST in archive.namelist() else "-"
    for line in found:
        print("FAIL", line)
    print(("OK 卷宗校验通过" if not found else f"FAIL 卷宗校验未通过（{len(found)} 处）") + f"; MANIFEST.json SHA-256 {digest}")
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
