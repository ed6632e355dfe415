"""The case file (电子卷宗) of a fixture case verifies offline with its documented procedure, and fails when one file in
it is changed by one byte (a document, a photo, an audit entry), or when a file is added."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.server.documents import pdftext
from tests.server.documents.factories import make_case


def _verify(path: Path) -> subprocess.CompletedProcess:
    # run as the procedure says: the script shipped inside the ZIP, with a plain Python 3 and nothing else
    script = path.parent / f"{path.stem}-verify.py"
    with zipfile.ZipFile(path) as archive:
        script.write_bytes(archive.read("verify_casefile.py"))
    return subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, timeout=120)


def _changed(source: Path, target: Path, member: str, change) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info, change(data) if info.filename == member else data)
    return target


def _flip(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


async def test_case_file_verifies_offline_and_fails_when_one_file_changes(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=3, n_photos=2)
    record = await case.issued(case.inspectors[0], type="inspection_record", inspection_id=case.inspection_id)
    order = await case.issued(case.inspectors[0], type="rectification_order", inspection_id=case.inspection_id)
    await client.post(f"/api/v1/documents/{order['id']}/void", json={"reason": "期限有误"},
                      headers=await case.headers(case.supervisor_id))

    outsider = await client.get("/api/v1/documents/casefile", params={"inspection_id": str(case.inspection_id)},
                                headers=await case.headers(case.inspectors[2]))
    assert outsider.status_code == 404
    response = await client.get("/api/v1/documents/casefile", params={"inspection_id": str(case.inspection_id)},
                                headers=await case.headers(case.leader_id))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    path = tmp_path / "case.zip"
    path.write_bytes(response.content)

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("MANIFEST.json"))
        cover, toc = archive.read("00-卷宗首页.pdf"), archive.read("01-卷内目录.pdf")
        documents = [n for n in names if n.startswith("documents/")]
        evidence = [n for n in names if n.startswith("evidence/")]
        extract = archive.read("audit/extract.jsonl").decode().splitlines()
        assert archive.read(documents[0]) == await case.pdf(record["id"])  # byte for byte as issued
    assert len(documents) == 2 and len(evidence) == 3  # two photos and the signature
    assert {"verify_casefile.py", "校验说明.txt", "SHA256SUMS", "audit/extract.jsonl"} <= set(names)
    assert {d["number"] for d in manifest["documents"]} == {record["number"], order["number"]}
    assert any(json.loads(e)["action"] == "document.issue" for e in extract)
    cover_text, toc_text = pdftext.flat(pdftext.text(cover)), pdftext.flat(pdftext.text(toc))
    assert "卷宗首页" in cover_text and "中卫市金沙岸化工有限公司" in cover_text and "2份" in cover_text
    assert record["number"] in toc_text and order["number"] in toc_text and "已作废" in toc_text
    pdftext.first_page_png(cover, "casefile-cover")
    pdftext.first_page_png(toc, "casefile-contents")

    good = _verify(path)
    assert good.returncode == 0 and "OK" in good.stdout, good.stdout
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unpacked)
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True).returncode == 0

    for n, member in enumerate([documents[0], evidence[0], "00-卷宗首页.pdf"]):
        bad = _verify(_changed(path, tmp_path / f"bad-{n}.zip", member, _flip))
        assert bad.returncode == 1 and member in bad.stdout, (member, bad.stdout)

    def edit_entry(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        entry = json.loads(lines[0])
        entry["actor_role"] = "supervisor" if entry["actor_role"] != "supervisor" else "inspector"
        lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return ("\n".join(lines) + "\n").encode()

    # an audit entry edited and the hashes of the files rewritten to match: the entry's own hash still tells
    edited = _changed(path, tmp_path / "edited.zip", "audit/extract.jsonl", edit_entry)
    with zipfile.ZipFile(edited) as archive:
        new_extract = archive.read("audit/extract.jsonl")
    import hashlib

    def rewrite_manifest(data: bytes) -> bytes:
        m = json.loads(data)
        for f in m["files"]:
            if f["path"] == "audit/extract.jsonl":
                f["sha256"], f["size"] = hashlib.sha256(new_extract).hexdigest(), len(new_extract)
        return json.dumps(m).encode()

    forged = _verify(_changed(edited, tmp_path / "forged.zip", "MANIFEST.json", rewrite_manifest))
    assert forged.returncode == 1 and "content does not match its hash" in forged.stdout, forged.stdout

    with zipfile.ZipFile(path) as old, zipfile.ZipFile(tmp_path / "extra.zip", "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info.filename))
        new.writestr("evidence/extra.jpg", b"not from the case")
    extra = _verify(tmp_path / "extra.zip")
    assert extra.returncode == 1 and "evidence/extra.jpg" in extra.stdout
