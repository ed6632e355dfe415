"""CSV and XLSX exports with Chinese headers, produced row by row (constant memory).

CSV is encoded as it is read and carries a UTF-8 BOM so that Excel on a
bureau desktop opens the Chinese correctly. XLSX is written by xlsxwriter in
``constant_memory`` mode (each row is flushed to a temporary file as soon as
it is written) into a temporary workbook that is streamed out in chunks and
deleted; a ZIP cannot be sent before it is finished, so the memory bound is
one row, the disk bound the workbook.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from urllib.parse import quote

import xlsxwriter

CHUNK = 64 * 1024
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Figures the exports write themselves: a signed number or percentage (同比 "+400.0%") is data, not a formula.
_SIGNED_FIGURE = re.compile(r"^[+-]?\d+(\.\d+)?%?$")


def safe_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: prefix a quote)."""
    # Numbers (including negative ones) stay numbers; any other text starting like a formula is quoted.
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _SIGNED_FIGURE.match(value):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(v) for v in row]


async def _aiter(rows: Iterable[list[str]] | AsyncIterable[list[str]]) -> AsyncIterator[list[str]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def csv_stream(
    title: str, headers: list[str], rows: Iterable[list[str]] | AsyncIterable[list[str]]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(safe_row([title]))
    writer.writerow(safe_row(headers))
    async for row in _aiter(rows):
        writer.writerow(safe_row(row))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


async def xlsx_stream(
    title: str, headers: list[str], rows: Iterable[list[str]] | AsyncIterable[list[str]]
) -> AsyncIterator[bytes]:
    fd, path = tempfile.mkstemp(prefix="fieldcheck-export-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        sheet = workbook.add_worksheet(_sheet_name(title))
        bold = workbook.add_format({"bold": True})
        sheet.write_string(0, 0, title, bold)
        sheet.write_row(1, 0, headers, bold)
        sheet.set_column(0, max(len(headers) - 1, 0), 16)
        line = 2
        async for row in _aiter(rows):
            for col, cell in enumerate(row):
                if _NUMBER.match(cell) and len(cell) < 16:
                    sheet.write_number(line, col, float(cell))
                else:
                    sheet.write_string(line, col, cell)
            line += 1
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _sheet_name(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "", title)
    return cleaned[:31] or "统计"


def content_disposition(title: str, extension: str) -> str:
    """An attachment name that survives both old and new browsers (RFC 6266 / 5987)."""
    name = re.sub(r"[\\/:*?\"<>|\s]+", "_", title) + f".{extension}"
    return f"attachment; filename=\"fieldcheck.{extension}\"; filename*=UTF-8''{quote(name)}"


MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to every text/* type
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
