"""企业名录导入: upload a registry file, watch its check, read its refused rows, confirm or discard, the report."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from litestar import Request, Response, get, post
from litestar.params import FromPath

from schemas.registry import ImportStatus
from schemas.vocab import Role
from server import database
from server.console import navigation
from server.console.paging import Cell, Table, read_page
from server.console.web import actor_of, local_time, redirect, render
from server.deps import AppSettings
from server.registry import imports

READERS = navigation.REGISTRY_READERS
IMPORTERS = navigation.REGISTRY_WRITERS
ROWS_PER_PAGE = 50
IMPORTS_PER_PAGE = 20

STATUS_LABELS = {
    ImportStatus.CHECKING: "正在检查",
    ImportStatus.CHECKED: "检查完成，待确认",
    ImportStatus.APPLYING: "正在写入",
    ImportStatus.APPLIED: "已导入",
    ImportStatus.FAILED: "失败",
    ImportStatus.DISCARDED: "已放弃",
}


@get("/console/registry/imports", opt={"roles": READERS}, include_in_schema=False)
async def import_list(request: Request, settings: AppSettings) -> Response:
    actor = actor_of(request)
    page = read_page(request.query_params)
    recent = await imports.list_imports(actor, offset=(page - 1) * IMPORTS_PER_PAGE, limit=IMPORTS_PER_PAGE)
    rows = [
        [
            Cell(item.file_name or "（未命名）", f"/console/registry/imports/{item.id}"),
            Cell(STATUS_LABELS[item.status]),
            Cell(str(item.total_rows), tone="num"),
            Cell(str(item.good_rows), tone="num"),
            Cell(str(item.bad_rows), tone="num bad" if item.bad_rows else "num"),
            Cell(str(item.applied_rows), tone="num"),
            Cell(local_time(item.created_at, settings)),
        ]
        for item in recent
    ]
    table = Table(
        path="/console/registry/imports", columns=["文件", "状态", "数据行", "有效", "有误", "已写入", "上传时间"], rows=rows,
        page=page, total=await imports.count_imports(actor), per_page=IMPORTS_PER_PAGE,
    )
    return render(request, "registry/imports.html", table=table, may_import=actor.role in IMPORTERS)


@post("/console/registry/imports", opt={"roles": IMPORTERS}, request_max_body_size=None, include_in_schema=False)
async def upload(request: Request, settings: AppSettings) -> Response:
    """The file arrives as the raw body (console.js sends it with its name in X-File-Name), bounded as it streams."""
    name = unquote(request.headers.get("x-file-name", ""))[:256]
    started = await imports.begin(
        actor_of(request), request.stream(), name, settings, declared_length=request.headers.get("content-length")
    )
    return redirect(request, f"/console/registry/imports/{started.id}")


@get("/console/registry/imports/template.csv", opt={"roles": READERS}, include_in_schema=False)
async def template(request: Request) -> Response:
    return Response(
        imports.template_csv(),
        media_type="text/csv",
        headers={"content-disposition": "attachment; filename*=UTF-8''%E4%BC%81%E4%B8%9A%E5%90%8D%E5%BD%95%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.csv"},
    )


async def _context(request: Request, import_id: uuid.UUID) -> dict:
    actor = actor_of(request)
    item = await imports.get(actor, import_id)
    page = read_page(request.query_params)
    refused = await imports.list_rows(actor, import_id, ok=False, offset=(page - 1) * ROWS_PER_PAGE, limit=ROWS_PER_PAGE)
    sample = await imports.list_rows(actor, import_id, ok=True, limit=10)
    errors = Table(
        path=f"/console/registry/imports/{import_id}",
        columns=["行号", "统一社会信用代码", "企业名称", "有误的列", "原因"],
        rows=[
            [Cell(str(r.row_number), tone="num"), Cell(r.credit_code), Cell(r.name),
             Cell("、".join(e.label for e in r.errors), tone="bad"), Cell("；".join(e.message for e in r.errors))]
            for r in refused.items
        ],
        page=page, total=refused.total, per_page=ROWS_PER_PAGE, target="import-errors",
    )
    running = item.status in (ImportStatus.CHECKING, ImportStatus.APPLYING)
    if item.status == ImportStatus.APPLYING:
        done, of = item.applied_rows, item.good_rows
    else:
        done, of = item.checked_rows, max(item.total_rows, item.checked_rows)
    may_decide = (
        item.status == ImportStatus.CHECKED and actor.role in IMPORTERS
        and (actor.role == Role.ADMIN or item.created_by == actor.user_id)
    )
    return {
        "item": item, "status_label": STATUS_LABELS[item.status], "errors": errors, "sample": sample.items,
        "running": running, "done": done, "of": of, "may_decide": may_decide,
    }


@get("/console/registry/imports/{import_id:uuid}", opt={"roles": READERS}, include_in_schema=False)
async def import_page(request: Request, import_id: FromPath[uuid.UUID]) -> Response:
    return render(request, "registry/import.html", **await _context(request, import_id))


@get("/console/registry/imports/{import_id:uuid}/progress", opt={"roles": READERS}, include_in_schema=False)
async def progress(request: Request, import_id: FromPath[uuid.UUID]) -> Response:
    """Polled by the page while the import runs; once it has settled, the whole page reloads to show the outcome."""
    context = await _context(request, import_id)
    if not context["running"]:
        return redirect(request, f"/console/registry/imports/{import_id}")
    return render(request, "registry/_progress.html", **context)


@post("/console/registry/imports/{import_id:uuid}/confirm", opt={"roles": IMPORTERS}, include_in_schema=False)
async def confirm(request: Request, import_id: FromPath[uuid.UUID]) -> Response:
    await imports.decide(actor_of(request), import_id)
    return redirect(request, f"/console/registry/imports/{import_id}")


@post("/console/registry/imports/{import_id:uuid}/discard", opt={"roles": IMPORTERS}, include_in_schema=False)
async def discard(request: Request, import_id: FromPath[uuid.UUID]) -> Response:
    async with database.transaction():
        await imports.discard(actor_of(request), import_id)
    return redirect(request, f"/console/registry/imports/{import_id}")


ROUTES = [import_list, upload, template, import_page, progress, confirm, discard]
