"""CSV and XLSX exports with Chinese headers, produced row by row (constant memory).

Shared below the domains: the statistics stream their tables through it and the
spot-check publication (公示) escapes its cells with :func:`safe_row`.

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
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any
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


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
_PERCENT = re.compile(r"^[+-]?\d+(\.\d+)?%$")
#: Rows read to size the columns (the workbook streams: later rows cannot widen them).
_SIZING_ROWS = 200


def _width(text: str) -> float:
    """Display width in Excel's units: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 2


class _Typed:
    """Cell formats, and writing a text cell as the type it holds (times are already in the bureau's zone)."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.integer = workbook.add_format({"num_format": "#,##0"})
        self.decimal = workbook.add_format({"num_format": "#,##0.00"})
        self.percent = workbook.add_format({"num_format": "+0.0%;-0.0%;0.0%"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.minute = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})

    def write(self, sheet: Any, line: int, col: int, cell: str) -> None:
        if _NUMBER.match(cell) and len(cell) < 16:
            sheet.write_number(line, col, float(cell), self.decimal if "." in cell else self.integer)
        elif _PERCENT.match(cell):
            sheet.write_number(line, col, float(cell[:-1]) / 100, self.percent)
        elif _DATE.match(cell):
            sheet.write_datetime(line, col, dt.datetime.strptime(cell, "%Y-%m-%d"), self.date)
        elif _MINUTE.match(cell):
            sheet.write_datetime(line, col, dt.datetime.strptime(cell, "%Y-%m-%d %H:%M"), self.minute)
        else:
            sheet.write_string(line, col, cell)


async def xlsx_stream(
    title: str, headers: list[str], rows: Iterable[list[str]] | AsyncIterable[list[str]]
) -> AsyncIterator[bytes]:
    """A typed workbook: numbers, percentages and dates as such, the header frozen and filtered, printed landscape."""
    fd, path = tempfile.mkstemp(prefix="fieldcheck-export-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        sheet = workbook.add_worksheet(_sheet_name(title))
        bold = workbook.add_format({"bold": True})
        head = workbook.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        typed = _Typed(workbook)
        sheet.write_string(0, 0, title, bold)
        sheet.write_row(1, 0, headers, head)
        widths = [_width(h) for h in headers]
        line = 2
        async for row in _aiter(rows):
            for col, cell in enumerate(row):
                typed.write(sheet, line, col, cell)
                if line < 2 + _SIZING_ROWS and col < len(widths):
                    widths[col] = max(widths[col], _width(cell))
            line += 1
        for col, width in enumerate(widths):
            sheet.set_column(col, col, min(max(width, 8), 60))
        sheet.freeze_panes(2, 0)
        sheet.autofilter(1, 0, max(line - 1, 1), max(len(headers) - 1, 0))
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)  # every column on the page's width, as many pages down as it takes
        sheet.repeat_rows(1)
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
