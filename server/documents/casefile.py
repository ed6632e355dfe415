"""The electronic case file (电子卷宗) of one case (inspection): one ZIP holding

    00-卷宗首页.pdf          cover: the case, the party, the officers, how many documents and files
    01-卷内目录.pdf          table of contents: every document with its number, date and status, then the evidence
    documents/NN-<number>.pdf  every issued document, byte for byte as issued (voided and superseded ones too)
    evidence/<kind>-<id>.<ext> every stored photo and signature, as uploaded
    audit/extract.jsonl      the audit entries about the case, each in its canonical form with its chain hash
    verify_casefile.py       the offline check (Python 3, no packages); 校验说明.txt says how to run it
    SHA256SUMS               the same hashes for ``sha256sum -c``
    MANIFEST.json            every file's SHA-256 and size, and each document's issued hash

Exporting is a read: whoever may see the case may export it; each export is audited with the manifest's
SHA-256, so a later copy can be matched against the log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.documents import DocumentStatus
from schemas.evidence import EvidenceStatus
from schemas.vocab import label
from server import localtime
from server.accounts import service as accounts_service
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.documents import render
from server.documents import service as documents_service
from server.documents.tables import Document
from server.evidence import service as evidence_service
from server.hazards import lifecycle as hazard_lifecycle
from server.inspections import records as inspection_records
from server.registry import service as registry_service
from server.settings import Settings
from server.violations import service as violations_service
from storage.base import ObjectStore

_STATUS = {DocumentStatus.ISSUED: "有效", DocumentStatus.VOIDED: "已作废", DocumentStatus.SUPERSEDED: "已被更正"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic", "image/heif": "heif"}
VERIFIER = Path(__file__).with_name("casefile_verify.py")
HOWTO = """电子卷宗校验说明 / How to check this case file offline

1. 用 Python 3 运行（无需安装任何软件包）/ with Python 3, nothing to install:
       python3 verify_casefile.py <本卷宗.zip>
   输出 OK 即通过；任何文件被改动、缺失或多出，输出 FAIL 并指明文件，退出码为 1。
2. 或者只校验文件哈希 / or only the files' hashes (coreutils):
       unzip -d 卷宗 <本卷宗.zip> && cd 卷宗 && sha256sum -c SHA256SUMS
3. 文书是否为签发原件，可在核验页面上传文书 PDF 或输入核验码查询；MANIFEST.json 的 SHA-256 记录在签发机关的审计日志
   （casefile.export）中，可请签发机关核对。
"""


def _date(moment: dt.datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日"


async def _evidence_bytes(actor: Actor, store: ObjectStore, evidence_id: uuid.UUID, settings: Settings) -> bytes:
    limits = dataclasses.replace(settings.evidence, presigned_downloads=False)  # the bytes themselves, never a link
    found = await evidence_service.download(actor, store, evidence_id, limits=limits)
    chunks = bytearray()
    assert found.chunks is not None
    async for chunk in found.chunks:
        chunks += chunk
    return bytes(chunks)


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch not in '/\\:*?"<>|')


async def build(actor: Actor, inspection_id: uuid.UUID, store: ObjectStore, settings: Settings,
                *, now: dt.datetime | None = None) -> tuple[str, bytes]:
    """(file name, ZIP bytes) of the case file; NotFound when the actor may not see the case."""
    now = now or dt.datetime.now(dt.UTC)
    tz = localtime.zone(settings.hazards.timezone)
    inspection = await inspection_records.get(actor, inspection_id)
    enterprise = await registry_service.get(actor, inspection.enterprise_id)
    users = await accounts_service.users_by_id(inspection.inspector_ids)
    hazards = await hazard_lifecycle.list_for_inspection(actor, inspection_id, settings)
    violations = await violations_service.list_for_inspection(actor, inspection_id)
    evidence = [e for e in await evidence_service.list_for_inspection(actor, inspection_id) if e.status == EvidenceStatus.STORED]
    rows = await Document.select().where(Document.inspection == inspection_id).order_by(Document.issued_at)

    files: dict[str, bytes] = {}
    documents = []
    for n, row in enumerate(rows, start=1):
        path = f"documents/{n:02d}-{_safe(row['number'])}.pdf"
        files[path] = await documents_service.pdf_bytes(store, row)
        documents.append({"id": str(row["id"]), "number": row["number"], "title": row["title"], "path": path,
                          "sha256": row["sha256"], "status": row["status"], "issued_at": row["issued_at"].isoformat()})
    for e in evidence:
        path = f"evidence/{e.kind}-{e.id}.{_EXTENSIONS.get(e.media_type, 'bin')}"
        files[path] = await _evidence_bytes(actor, store, e.id, settings)
    entity_ids = {str(inspection_id), *(str(r["id"]) for r in rows), *(str(h.id) for h in hazards),
                  *(str(v.id) for v in violations), *(str(e.id) for e in evidence),
                  *(str(r["action"]) for r in rows if r["action"]), *(str(r["recheck"]) for r in rows if r["recheck"])}
    extract = await audit_service.extract(entity_ids)
    files["audit/extract.jsonl"] = "".join(
        json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for e in extract).encode()

    officers = "；".join(f"{u.display_name}（执法证号 {u.badge_number or '—'}）" for u in users.values())
    cover_fields = [
        ("案件", f"{enterprise.name} {label(inspection.kind)}"), ("被检查单位", enterprise.name),
        ("统一社会信用代码", enterprise.credit_code), ("地址", enterprise.address), ("执法人员", officers),
        ("检查时间", _date(inspection.started_at or now, tz) + " 至 " + _date(inspection.submitted_at or now, tz)),
        ("文书", f"{len(rows)} 份"), ("证据", f"{len(evidence)} 件"), ("审计记录", f"{len(extract)} 条"),
        ("立卷机关", settings.documents.issuing_body), ("立卷时间", _date(now, tz)),
    ]
    fonts = documents_service.fonts(settings)
    toc = [("序号", "文书 / 材料", "文号", "日期", "状态")]
    toc += [(str(n), d["title"], d["number"], _date(dt.datetime.fromisoformat(d["issued_at"]), tz), _STATUS[DocumentStatus(d["status"])])
            for n, d in enumerate(documents, start=1)]
    toc += [(str(len(documents) + n), label(e.kind), e.sha256[:16] + "…", _date(e.captured_at, tz), "")
            for n, e in enumerate(evidence, start=1)]
    cover = await asyncio.to_thread(render.render_sheet, "卷宗首页", cover_fields, [], (), fonts, created_at=now)
    contents = await asyncio.to_thread(render.render_sheet, "卷内目录", [], toc, (12, 48, 58, 30, 22), fonts, created_at=now)
    files = {"00-卷宗首页.pdf": cover, "01-卷内目录.pdf": contents, **files,
             "verify_casefile.py": VERIFIER.read_bytes(), "校验说明.txt": HOWTO.encode()}
    sums = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    files["SHA256SUMS"] = "".join(f"{digest}  {path}\n" for path, digest in sums.items()).encode()
    sums["SHA256SUMS"] = hashlib.sha256(files["SHA256SUMS"]).hexdigest()
    manifest: dict[str, Any] = {
        "case": {"inspection_id": str(inspection_id), "enterprise": enterprise.name, "credit_code": enterprise.credit_code},
        "created_at": now.isoformat(),
        "files": [{"path": p, "sha256": sums[p], "size": len(files[p])} for p in files],
        "documents": documents,
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr("MANIFEST.json", manifest_bytes)
    audit_service.record(actor, "casefile.export", "inspection", inspection_id,
                         {"manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(), "files": len(files)})
    return f"电子卷宗-{_safe(enterprise.name)}-{inspection_id.hex[:8]}.zip", out.getvalue()
