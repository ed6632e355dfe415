"""Reading a registry file (XLSX or CSV) as rows of text, judged by its content, streamed in bounded memory.

The first non-empty row names the columns (the Chinese headings of ``COLUMNS``, or the
field names); each later row becomes ``{field: text}``. Nothing here decides whether a
row is acceptable: ``server.registry.imports`` does, through the registry's own rules.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import InvalidInput, UnsupportedMedia

#: field -> the heading people see in the template (and may type instead of the field name).
COLUMNS: dict[str, str] = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "sector": "行业",
    "district": "区县",
    "address": "地址",
    "longitude": "经度",
    "latitude": "纬度",
    "risk_grade": "风险等级",
    "standardization_level": "标准化等级",
    "major_hazard_source": "重大危险源",
    "operating_status": "经营状态",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "notes": "备注",
}
REQUIRED = ("credit_code", "name", "sector", "district")
_BY_HEADING = {heading: name for name, heading in COLUMNS.items()} | {name: name for name in COLUMNS}

#: Unpacked, a workbook may be at most this many times the bound on the file (a zip bomb is refused unread).
_MAX_UNPACKED_RATIO = 20
_LONGEST_CELL = 4000


@dataclass(frozen=True)
class Sheet:
    """A readable registry file: its columns, an estimate of its data rows, and a way to stream them."""

    path: Path
    kind: str  # "xlsx" | "csv"
    encoding: str
    fields: list[str | None]  # per column position: the field it holds (None: a column nobody asked for)
    estimated_rows: int

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """``(row number as the person sees it in the file, {field: text})`` for each non-empty data row."""
        source = _xlsx_rows(self.path) if self.kind == "xlsx" else _csv_rows(self.path, self.encoding)
        header_seen = False
        for number, cells in source:
            if not any(cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield number, {
                field: cells[i] for i, field in enumerate(self.fields) if field is not None and i < len(cells)
            }


def open_sheet(path: Path, max_bytes: int) -> Sheet:
    """Judge the file by its bytes (never its name) and read its heading row; refuses what it cannot read."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput("文件是空的", "empty file", field="file")
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        _check_workbook(path, max_bytes)
        kind, encoding = "xlsx", ""
        estimated = _xlsx_dimension(path)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedMedia("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入", "legacy xls", field="file")
    else:
        kind, encoding = "csv", _text_encoding(path)
        estimated = _count_lines(path)
    source = _xlsx_rows(path) if kind == "xlsx" else _csv_rows(path, encoding)
    header = next((cells for _, cells in source if any(cells)), None)
    if header is None:
        raise InvalidInput("文件中没有数据", "no rows", field="file")
    fields = [_BY_HEADING.get(h.strip().lstrip("*").strip()) for h in header]
    missing = [COLUMNS[name] for name in REQUIRED if name not in fields]
    if missing:
        raise InvalidInput(
            f"第一行须为列名，缺少：{'、'.join(missing)}（可下载导入模板）", "missing required columns", field="file"
        )
    duplicated = {f for f in fields if f is not None and fields.count(f) > 1}
    if duplicated:
        raise InvalidInput(
            f"列名重复：{'、'.join(COLUMNS[f] for f in sorted(duplicated))}", "duplicated columns", field="file"
        )
    return Sheet(path=path, kind=kind, encoding=encoding, fields=fields, estimated_rows=max(estimated - 1, 0))


def _check_workbook(path: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsupportedMedia("无法读取该文件：不是有效的 Excel（.xlsx）或 CSV 文件", "unreadable zip", field="file") from None
    if "xl/workbook.xml" not in names:
        raise UnsupportedMedia("无法读取该文件：不是 Excel 工作簿（.xlsx）", "zip without a workbook", field="file")
    if unpacked > max_bytes * _MAX_UNPACKED_RATIO:
        raise InvalidInput("文件解压后过大，拒绝读取", "workbook unpacks too large", field="file")


@contextmanager
def _open_book(path: Path) -> Iterator[Any]:
    """The workbook read-only (rows stream from the sheet's XML); a damaged one is refused."""
    from openpyxl import load_workbook

    with path.open("rb") as f:
        try:
            # A file object, not the path: openpyxl would judge a path by its extension.
            book = load_workbook(f, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types on a damaged workbook
            raise UnsupportedMedia("无法读取该 Excel 文件，文件可能已损坏", "unreadable workbook", field="file") from None
        try:
            yield book
        finally:
            book.close()


def _xlsx_dimension(path: Path) -> int:
    with _open_book(path) as book:
        return int(book.worksheets[0].max_row or 0) if book.worksheets else 0


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with _open_book(path) as book:
        if not book.worksheets:
            return
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()[:_LONGEST_CELL]


def _text_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030 (Excel on Chinese Windows); anything else is not a CSV."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                while chunk := f.read(1 << 16):
                    if b"\x00" in chunk:
                        raise UnicodeDecodeError(encoding, chunk, 0, 1, "NUL byte")
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise UnsupportedMedia("无法读取该文件：请上传 Excel（.xlsx）或 UTF-8/GBK 编码的 CSV 文件", "not text", field="file")


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    csv.field_size_limit(_LONGEST_CELL * 4)
    with io.open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        try:
            for cells in reader:
                yield reader.line_num, [c.strip()[:_LONGEST_CELL] for c in cells]
        except csv.Error as exc:
            raise InvalidInput(f"CSV 第 {reader.line_num} 行格式有误：{exc}", "malformed csv", field="file") from None
