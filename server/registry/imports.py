"""Registry imports: a file checked row by row and staged, then applied in one transaction when the person confirms.

    start ──> checking ──(check job)──> checked ──confirm──> applying ──(apply job)──> applied
                 │                        │                     │
                 └──> failed              └──> discarded        └──> failed (nothing written)

- Every row goes through the registry's own rules: the wire type ``EnterpriseCreate`` (shape and
  bounds, as the API decodes it), then ``registry_service.new_enterprise_values`` (the GB 32100
  check character); duplicates are looked for within the file (in the rows staged so far) and
  in the registry.
- The check streams the file and stages rows ``CHUNK`` at a time (committed, so another request
  can show the progress); memory stays bounded whatever the file's length.
- Applying prepares the good rows in committed batches (the change-feed payloads, each
  enterprise's id its staged row's, stored on the staged rows; ``applied_rows`` counts them, so the
  progress is in the database for every server process), then registers them all in ONE
  set-based transaction (``registry_service.create_imported``): a failure (a code registered
  meanwhile, a crash) leaves the registry as it was. Memory does not grow with the file.

Unlike other services this module opens its own transactions (``begin``, ``check``, ``decide``,
``apply``): its jobs outlive the request that starts them, and the check commits as it goes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from schemas import registry as wire
from schemas.identifiers import credit_code_check_char
from schemas.registry import ImportStatus
from schemas.vocab import LABELS, District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.errors import FieldcheckError, InvalidInput, NotFound, PayloadTooLarge, PermissionDenied, StateConflict
from server.registry import service as registry_service
from server.registry.import_file import COLUMNS, Sheet, open_sheet
from server.registry.tables import EnterpriseImport, EnterpriseImportRow
from server.settings import Settings
from server.sync import sql

log = logging.getLogger("fieldcheck.registry.imports")

CHUNK = 500
#: Staged rows an apply prepares per transaction (their payloads, ~1 KiB each, are what it holds at once).
APPLY_CHUNK = 2000
#: An import still "checking" or "applying" with no sign of life for this long was interrupted (a restart).
STALE_AFTER = dt.timedelta(minutes=10)

_CHOICES: dict[str, type] = {
    "sector": Sector,
    "district": District,
    "risk_grade": RiskGrade,
    "standardization_level": StandardizationLevel,
    "operating_status": OperatingStatus,
}
_TRUE = {"是", "有", "true", "yes", "y", "1"}
_FALSE = {"否", "无", "false", "no", "n", "0"}
_NUMBERS = ("longitude", "latitude")

_jobs: set[asyncio.Task[Any]] = set()


# ------------------------------------------------------------------ one row


def _choice(field: str, text: str) -> tuple[str | None, str | None]:
    kind = _CHOICES[field]
    for value in kind:
        if text.lower() == str(value).lower() or text == LABELS.get(value):
            return str(value), None
    options = "、".join(LABELS.get(v, str(v)) for v in kind)
    return None, f"{COLUMNS[field]}“{text}”无效，可选：{options}"


def check_row(cells: dict[str, str]) -> tuple[dict[str, Any] | None, str, list[wire.ImportRowError]]:
    """One row as the registry would take it: ``(its columns, normalised credit code, [])`` or ``(None, code, errors)``.

    The columns are what ``registry_service.new_enterprise_values`` makes of the row (code checked
    and normalised, name trimmed): what the apply registers.
    """
    errors: list[wire.ImportRowError] = []

    def refuse(field: str, message: str) -> None:
        errors.append(wire.ImportRowError(field=field, label=COLUMNS.get(field, field), message=message))

    values: dict[str, Any] = {}
    for field, text in cells.items():
        if text == "":
            continue
        if field in _CHOICES:
            value, problem = _choice(field, text)
            if problem:
                refuse(field, problem)
            values[field] = value
        elif field == "major_hazard_source":
            if text.lower() in _TRUE:
                values[field] = True
            elif text.lower() in _FALSE:
                values[field] = False
            else:
                refuse(field, f"重大危险源应填“是”或“否”，而不是“{text}”")
        elif field in _NUMBERS:
            try:
                values[field] = float(text)
            except ValueError:
                refuse(field, f"{COLUMNS[field]}应为数字，而不是“{text}”")
        else:
            values[field] = text
    code_text = cells.get("credit_code", "")
    for field in ("credit_code", "name", "sector", "district"):
        if not cells.get(field):
            refuse(field, f"{COLUMNS[field]}不能为空")
    if errors:
        return None, code_text, errors
    try:
        data = msgspec.convert(values, wire.EnterpriseCreate)
    except msgspec.ValidationError as exc:
        field = _field_of(str(exc))
        refuse(field, f"{COLUMNS.get(field, field)}不符合要求：{exc}")
        return None, code_text, errors
    try:
        checked = registry_service.new_enterprise_values(data)
    except FieldcheckError as exc:
        refuse(exc.field or "credit_code", exc.message)
        return None, code_text, errors
    return checked, checked["credit_code"], []


def _field_of(message: str) -> str:
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].split("`", 1)[0]
    return "file"


# ------------------------------------------------------------------ reading


def to_import(row: dict[str, Any]) -> wire.EnterpriseImport:
    return msgspec.convert(row, wire.EnterpriseImport)


def _may_read(actor: Actor) -> bool:
    return actor.role in {Role.ADMIN, Role.SUPERVISOR, Role.LEADER}


async def _row(actor: Actor, import_id: uuid.UUID) -> dict[str, Any]:
    row = await EnterpriseImport.select().where(EnterpriseImport.id == import_id).first()
    # A supervisor sees their own imports; admins and leaders all of them.
    if row is None or not _may_read(actor) or (actor.role == Role.SUPERVISOR and row["created_by"] != actor.user_id):
        raise NotFound("导入记录不存在", "import not found")
    return row


async def get(actor: Actor, import_id: uuid.UUID) -> wire.EnterpriseImport:
    row = await _row(actor, import_id)
    if row["status"] in (ImportStatus.CHECKING, ImportStatus.APPLYING) and _stale(row):
        await _fail(import_id, "导入在处理中被中断（服务重启），未写入任何企业，请重新上传文件")
        row = await _row(actor, import_id)
    return to_import(row)


def _stale(row: dict[str, Any]) -> bool:
    running_here = any(t.get_name() == str(row["id"]) for t in _jobs)
    return not running_here and row["updated_at"] < dt.datetime.now(dt.UTC) - STALE_AFTER


async def list_imports(actor: Actor, *, limit: int = 20, offset: int = 0) -> list[wire.EnterpriseImport]:
    """The imports ``actor`` may read, newest first (a supervisor: their own); one page (:func:`count_imports`)."""
    if not _may_read(actor):
        raise PermissionDenied("无权查看企业名录导入", "may not read registry imports")
    query = (EnterpriseImport.select().order_by(EnterpriseImport.created_at, ascending=False).order_by(EnterpriseImport.id)
             .offset(max(offset, 0)).limit(limit))
    if actor.role == Role.SUPERVISOR:
        query = query.where(EnterpriseImport.created_by == actor.user_id)
    return [to_import(r) for r in await query]


async def count_imports(actor: Actor) -> int:
    if not _may_read(actor):
        raise PermissionDenied("无权查看企业名录导入", "may not read registry imports")
    query = EnterpriseImport.count()
    if actor.role == Role.SUPERVISOR:
        query = query.where(EnterpriseImport.created_by == actor.user_id)
    return await query


async def list_rows(
    actor: Actor, import_id: uuid.UUID, *, ok: bool | None = None, offset: int = 0, limit: int = 50
) -> wire.EnterpriseImportRowPage:
    """The staged rows of an import in file order; ``ok=False`` gives the refused ones with their reasons."""
    await _row(actor, import_id)
    where = EnterpriseImportRow.batch == import_id
    if ok is not None:
        where &= EnterpriseImportRow.ok == ok
    total = await EnterpriseImportRow.count().where(where)
    rows = await (
        EnterpriseImportRow.select(
            EnterpriseImportRow.row_number, EnterpriseImportRow.ok, EnterpriseImportRow.credit_code,
            EnterpriseImportRow.name, EnterpriseImportRow.errors,
        )
        .where(where)
        .order_by(EnterpriseImportRow.row_number)
        .offset(max(offset, 0))
        .limit(max(1, min(limit, 200)))
    )
    items = [
        wire.EnterpriseImportRow(
            row_number=r["row_number"], ok=r["ok"], credit_code=r["credit_code"], name=r["name"],
            errors=msgspec.json.decode(r["errors"], type=list[wire.ImportRowError]) if r["errors"] else [],
        )
        for r in rows
    ]
    return wire.EnterpriseImportRowPage(items=items, total=total)


# ------------------------------------------------------------------ the check


def require_importer(actor: Actor) -> None:
    if actor.role not in {Role.ADMIN, Role.SUPERVISOR}:
        raise PermissionDenied("仅管理员和科室负责人可以导入企业名录", "only admins and supervisors import the registry")


async def start(actor: Actor, path: Path, file_name: str, settings: Settings) -> tuple[wire.EnterpriseImport, Sheet]:
    """Judge the uploaded file and record its import as ``checking``; the caller commits, then runs :func:`check`."""
    require_importer(actor)
    registry_service.require_writer(actor)
    sheet = open_sheet(path, settings.registry.import_max_bytes)
    if sheet.estimated_rows > settings.registry.import_max_rows:
        raise InvalidInput(
            f"文件约有 {sheet.estimated_rows} 行，超过单次导入上限 {settings.registry.import_max_rows} 行，请分批导入",
            "too many rows", field="file",
        )
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    now = dt.datetime.now(dt.UTC)
    row = EnterpriseImport(
        id=uuid.uuid4(), created_by=actor.user_id, created_at=now, updated_at=now, file_name=file_name[:256],
        file_sha256=digest.hexdigest(), file_bytes=path.stat().st_size, status=ImportStatus.CHECKING,
        total_rows=sheet.estimated_rows,
    )
    await EnterpriseImport.insert(row)
    audit_service.record(actor, "enterprise_import.start", "enterprise_import", row.id,
                         {"file_name": row.file_name, "file_sha256": row.file_sha256, "file_bytes": row.file_bytes})
    return to_import(row.to_dict()), sheet


async def check(import_id: uuid.UUID, sheet: Sheet, settings: Settings) -> None:
    """Read every row, check it and stage it, committing ``CHUNK`` rows at a time; ends ``checked`` or ``failed``."""
    counts = {"checked": 0, "good": 0, "bad": 0}
    try:
        batch: list[tuple[int, dict[str, str]]] = []
        for number, cells in sheet.rows():
            batch.append((number, cells))
            if counts["checked"] + len(batch) > settings.registry.import_max_rows:
                raise InvalidInput(f"文件超过单次导入上限 {settings.registry.import_max_rows} 行，请分批导入", "too many rows")
            if len(batch) == CHUNK:
                await _stage(import_id, batch, counts)
                batch = []
        await _stage(import_id, batch, counts)
        async with database.transaction():
            await EnterpriseImport.update({
                EnterpriseImport.status: ImportStatus.CHECKED, EnterpriseImport.total_rows: counts["checked"],
                EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
            }).where((EnterpriseImport.id == import_id) & (EnterpriseImport.status == ImportStatus.CHECKING))
    except FieldcheckError as exc:
        await _fail(import_id, exc.message, drop_rows=True)
    except Exception:
        log.exception("registry import %s: check failed", import_id)
        await _fail(import_id, "读取文件时出错，未写入任何企业", drop_rows=True)
    finally:
        sheet.path.unlink(missing_ok=True)


_STAGED = ("id", "batch", "row_number", "ok", "credit_code", "name", "data", "errors")


async def _stage(import_id: uuid.UUID, batch: list[tuple[int, dict[str, str]]], counts: dict[str, int]) -> None:
    """Check and stage one chunk; a credit code an earlier chunk had is found in the staged rows, not kept in memory."""
    if not batch:
        return
    checked = [(number, cells, *check_row(cells)) for number, cells in batch]
    codes = sorted({code for _, _, data, code, _ in checked if data is not None})
    async with database.transaction():
        first_row_of = await _staged_codes(import_id, codes)  # normalised credit code -> the row that first had it
        registered = await registry_service.registered_codes([c for c in codes if c not in first_row_of])
        rows = [_staged_row(import_id, entry, first_row_of, registered, counts) for entry in checked]
        counts["checked"] += len(batch)
        await sql.copy("enterprise_import_row", _STAGED, rows)
        await EnterpriseImport.update({
            EnterpriseImport.checked_rows: counts["checked"], EnterpriseImport.good_rows: counts["good"],
            EnterpriseImport.bad_rows: counts["bad"], EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
        }).where(EnterpriseImport.id == import_id)


def _staged_row(
    import_id: uuid.UUID, entry: tuple, first_row_of: dict[str, int], registered: set[str], counts: dict[str, int]
) -> tuple:
    number, cells, data, code, errors = entry
    if data is not None:
        if code in first_row_of:
            errors = [wire.ImportRowError(field="credit_code", label=COLUMNS["credit_code"],
                                          message=f"与第 {first_row_of[code]} 行的统一社会信用代码重复")]
        elif code in registered:
            errors = [wire.ImportRowError(field="credit_code", label=COLUMNS["credit_code"],
                                          message="该统一社会信用代码已登记在企业名录中")]
        first_row_of.setdefault(code, number)
    ok = data is not None and not errors
    counts["good" if ok else "bad"] += 1
    as_id = (lambda u: u) if database.is_postgres() else str  # noqa: E731  (SQLite keeps UUIDs as text)
    return (
        as_id(uuid.uuid4()), as_id(import_id), number, ok, code[:64], cells.get("name", "")[:256],
        # Kept for every row whose values passed the rules (a repeated code too): what later chunks look codes up in.
        msgspec.json.encode(data).decode() if data is not None else "",
        msgspec.json.encode(errors).decode() if errors else "",
    )


async def _staged_codes(import_id: uuid.UUID, codes: list[str]) -> dict[str, int]:
    """Of ``codes``, those a row staged earlier in this import had valid, with the first such row (inside a transaction)."""
    if not codes:
        return {}
    rows = await sql.fetch(
        # One index probe per code (a plain ANY would let a planner with stale counts scan the whole batch).
        "SELECT r.credit_code, min(r.row_number) FROM unnest($2::varchar[]) AS c(code)"
        " CROSS JOIN LATERAL (SELECT credit_code, row_number FROM enterprise_import_row"
        " WHERE batch = $1 AND credit_code = c.code AND data <> '' ORDER BY row_number LIMIT 1) AS r"
        " GROUP BY r.credit_code",
        "SELECT credit_code, min(row_number) FROM enterprise_import_row"
        f" WHERE batch = ? AND credit_code IN ({', '.join('?' * len(codes))}) AND data <> '' GROUP BY credit_code",
        *((import_id, codes) if database.is_postgres() else (str(import_id), *codes)),
    )
    return {r[0]: r[1] for r in rows}


async def _fail(import_id: uuid.UUID, reason: str, *, drop_rows: bool = False) -> None:
    async with database.transaction():
        if drop_rows:
            await EnterpriseImportRow.delete().where(EnterpriseImportRow.batch == import_id)
        await EnterpriseImport.update({
            EnterpriseImport.status: ImportStatus.FAILED, EnterpriseImport.failure: reason[:2000],
            EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
        }).where((EnterpriseImport.id == import_id)
                 & EnterpriseImport.status.is_in([ImportStatus.CHECKING, ImportStatus.CHECKED, ImportStatus.APPLYING]))


# ------------------------------------------------------------------ confirm, apply, discard


async def _own(actor: Actor, import_id: uuid.UUID) -> dict[str, Any]:
    require_importer(actor)
    row = await _row(actor, import_id)
    if actor.role != Role.ADMIN and row["created_by"] != actor.user_id:
        raise PermissionDenied("只能处理本人上传的导入", "only the uploader or an admin may decide an import")
    return row


async def confirm(actor: Actor, import_id: uuid.UUID) -> wire.EnterpriseImport:
    """The person confirms the checked file: ``checked`` -> ``applying``; the caller commits, then runs :func:`apply`."""
    row = await _own(actor, import_id)
    registry_service.require_writer(actor)
    if row["good_rows"] == 0:
        raise StateConflict("文件中没有可导入的有效记录", "nothing to import")
    moved = await EnterpriseImport.update({
        EnterpriseImport.status: ImportStatus.APPLYING, EnterpriseImport.applied_by: actor.user_id,
        EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
    }).where((EnterpriseImport.id == import_id) & (EnterpriseImport.status == ImportStatus.CHECKED)).returning(
        EnterpriseImport.id
    )
    if not moved:
        raise StateConflict("该导入当前状态不能确认（可能已确认、已放弃或仍在检查）", "import not waiting for confirmation")
    audit_service.record(actor, "enterprise_import.confirm", "enterprise_import", import_id, {"good_rows": row["good_rows"]})
    return to_import(await EnterpriseImport.select().where(EnterpriseImport.id == import_id).first())


async def apply(actor: Actor, import_id: uuid.UUID) -> None:
    """Write every staged good row: prepared in committed batches, then registered in one set-based transaction.

    Preparing makes each staged row's change-feed payload (``registry_service.imported_payload``:
    the enterprise as phones will get it, its id the staged row's) and stores it on the row,
    ``APPLY_CHUNK`` rows a transaction, counting them in ``applied_rows`` so every process sees the
    progress. Nothing is in the registry until the last step, one transaction that inserts them
    all and publishes them by SQL (``registry_service.create_imported``): on any failure nothing
    is written and the import fails. Memory does not grow with the file.
    """
    now = dt.datetime.now(dt.UTC)
    try:
        prepared, after = 0, 0
        while True:
            async with database.transaction():
                rows = await sql.fetch(
                    "SELECT id, row_number, data FROM enterprise_import_row"
                    " WHERE batch = $1 AND ok AND row_number > $2 ORDER BY row_number LIMIT $3",
                    "SELECT id, row_number, data FROM enterprise_import_row"
                    " WHERE batch = ? AND ok AND row_number > ? ORDER BY row_number LIMIT ?",
                    import_id if database.is_postgres() else str(import_id), after, APPLY_CHUNK,
                )
                if not rows:
                    break
                ids = [r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]) for r in rows]
                payloads = [registry_service.imported_payload(i, msgspec.json.decode(r[2]), now) for i, r in zip(ids, rows, strict=True)]
                await _store_payloads(ids, payloads)
                prepared += len(rows)
                after = rows[-1][1]
                moved = await EnterpriseImport.update({
                    EnterpriseImport.applied_rows: prepared, EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
                }).where((EnterpriseImport.id == import_id) & (EnterpriseImport.status == ImportStatus.APPLYING)).returning(
                    EnterpriseImport.id
                )
                if not moved:  # failed meanwhile (judged interrupted by another process): stop
                    return
        async with database.transaction():
            done = dt.datetime.now(dt.UTC)
            # First, so a process judging the import interrupted meanwhile waits for this one (or wins, and stops it).
            moved = await EnterpriseImport.update({
                EnterpriseImport.status: ImportStatus.APPLIED, EnterpriseImport.applied_rows: prepared,
                EnterpriseImport.applied_at: done, EnterpriseImport.updated_at: done,
            }).where((EnterpriseImport.id == import_id) & (EnterpriseImport.status == ImportStatus.APPLYING)).returning(
                EnterpriseImport.id
            )
            if not moved:
                return
            await registry_service.create_imported(actor, import_id, now)
            record = await EnterpriseImport.select().where(EnterpriseImport.id == import_id).first()
            # One entry for the batch: the staged rows (kept) name each enterprise by its credit code.
            audit_service.record(actor, "enterprise.import", "enterprise_import", import_id, {
                "file_name": record["file_name"], "file_sha256": record["file_sha256"], "enterprises": prepared,
            })
    except FieldcheckError as exc:
        await _fail(import_id, f"导入未完成，未写入任何企业：{exc.message}")
    except Exception:
        log.exception("registry import %s: apply failed", import_id)
        await _fail(import_id, "导入未完成，未写入任何企业：写入时出错，请稍后重试或联系管理员")


async def _store_payloads(row_ids: list[uuid.UUID], payloads: list[bytes]) -> None:
    await sql.bulk(
        "UPDATE enterprise_import_row AS r SET payload = t.payload"
        " FROM unnest($1::uuid[], $2::bytea[]) AS t(id, payload) WHERE r.id = t.id",
        "UPDATE enterprise_import_row SET payload = ? WHERE id = ?",
        (row_ids, payloads),
        [(payload, str(row_id)) for row_id, payload in zip(row_ids, payloads, strict=True)],
    )


async def discard(actor: Actor, import_id: uuid.UUID) -> wire.EnterpriseImport:
    """Give up a checked import; its staged rows are dropped and nothing is written."""
    await _own(actor, import_id)
    moved = await EnterpriseImport.update({
        EnterpriseImport.status: ImportStatus.DISCARDED, EnterpriseImport.updated_at: dt.datetime.now(dt.UTC),
    }).where((EnterpriseImport.id == import_id) & (EnterpriseImport.status == ImportStatus.CHECKED)).returning(
        EnterpriseImport.id
    )
    if not moved:
        raise StateConflict("该导入当前状态不能放弃", "import not waiting for confirmation")
    await EnterpriseImportRow.delete().where(EnterpriseImportRow.batch == import_id)
    audit_service.record(actor, "enterprise_import.discard", "enterprise_import", import_id, {})
    return to_import(await EnterpriseImport.select().where(EnterpriseImport.id == import_id).first())


def run_job(import_id: uuid.UUID, job: Awaitable[None]) -> asyncio.Task[None]:
    """Run a check or apply after the request that started it has committed (kept referenced until it ends)."""
    task = asyncio.ensure_future(job)
    task.set_name(str(import_id))
    _jobs.add(task)
    task.add_done_callback(_jobs.discard)
    return task


async def wait_for(import_ids: Iterable[uuid.UUID]) -> None:
    """Wait for this process's jobs of these imports (tests, the CLI)."""
    names = {str(i) for i in import_ids}
    running = [t for t in _jobs if t.get_name() in names]
    if running:
        await asyncio.gather(*running, return_exceptions=True)


def template_csv() -> bytes:
    """The import template: the headings, and one example row (UTF-8 with BOM, so Excel opens it right)."""
    body = "91640500MA76ABC12"
    example = [body + credit_code_check_char(body), "示例化工有限公司", "危险化学品", "沙坡头区", "中卫市沙坡头区示例路1号", "", "",
               "一般风险", "三级", "否", "正常生产", "张三", "0955-0000000", ""]
    lines = [",".join(COLUMNS.values()), ",".join(example)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


async def save_upload(chunks: AsyncIterator[bytes], settings: Settings, declared_length: str | None = None) -> Path:
    """Write an uploaded file to the data folder as it arrives, refusing it past ``import_max_bytes``."""
    limit = settings.registry.import_max_bytes
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise PayloadTooLarge(f"文件超过 {limit // (1024 * 1024)} MB，请分批导入", "import file too large", field="file")
    folder = Path(settings.server.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4()}.upload"
    size = 0
    try:
        with path.open("wb") as f:
            async for piece in chunks:
                size += len(piece)
                if size > limit:
                    raise PayloadTooLarge(f"文件超过 {limit // (1024 * 1024)} MB，请分批导入", "import file too large", field="file")
                f.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def begin(actor: Actor, chunks: AsyncIterator[bytes], file_name: str, settings: Settings,
                declared_length: str | None = None) -> wire.EnterpriseImport:
    """Receive a file and start its check: the one entry of an upload, for the API and the console alike."""
    require_importer(actor)
    path = await save_upload(chunks, settings, declared_length)
    try:
        async with database.transaction():
            started, sheet = await start(actor, path, file_name, settings)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    run_job(started.id, check(started.id, sheet, settings))
    return started


async def decide(actor: Actor, import_id: uuid.UUID) -> wire.EnterpriseImport:
    """Confirm an import and start writing it (API and console)."""
    async with database.transaction():
        confirmed = await confirm(actor, import_id)
    run_job(import_id, apply(actor, import_id))
    return confirmed
