"""Registry files as a bureau would bring them: N rows in the template's columns, a few of them wrong on purpose."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import xlsxwriter

from schemas.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from server.registry.import_file import COLUMNS

_SECTORS = ("危险化学品", "冶金", "工贸", "非煤矿山")
_DISTRICTS = ("沙坡头区", "中宁县", "海原县")


def credit_code(n: int, salt: int = 0) -> str:
    """A valid 统一社会信用代码, distinct for each (n, salt)."""
    digits, x = [], n * 7919 + salt * 1_000_003 + 12345
    for _ in range(9):
        x, r = divmod(x, len(CREDIT_CODE_ALPHABET))
        digits.append(CREDIT_CODE_ALPHABET[r])
    body = "91640500" + "".join(digits)
    return body + credit_code_check_char(body)


@dataclass(frozen=True)
class RegistryFile:
    rows: list[list[str]]  # data rows, template column order
    #: row number in the file (the heading is row 1) -> the column it is wrong in
    bad: dict[int, str]

    @property
    def good(self) -> int:
        return len(self.rows) - len(self.bad)

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS.values())
        writer.writerows(self.rows)
        return ("\ufeff" + out.getvalue()).encode()

    def xlsx(self) -> bytes:
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"in_memory": True})
        sheet = book.add_worksheet("企业名录")
        sheet.write_row(0, 0, list(COLUMNS.values()))
        for i, row in enumerate(self.rows, start=1):
            sheet.write_row(i, 0, row)
        book.close()
        return out.getvalue()

    def codes(self) -> list[str]:
        return [r[0] for r in self.rows]


def registry_file(count: int, *, salt: int = 0, bad: bool = True) -> RegistryFile:
    """``count`` enterprises; with ``bad``, three wrong rows: a check digit, a repeated code, an unknown district."""
    rows = []
    for i in range(count):
        rows.append([
            credit_code(i, salt), f"中卫市测试{salt}企业{i:05d}有限公司", _SECTORS[i % len(_SECTORS)], _DISTRICTS[i % 3],
            f"中卫市测试路{i}号", "105.19", "37.51", "一般风险", "三级", "否" if i % 10 else "是", "正常生产",
            "联系人", "0955-1234567", "",
        ])
    wrong: dict[int, str] = {}
    if bad and count >= 10:
        a, b, c = count // 9, count // 2, count - 3
        code = rows[a][0]
        rows[a][0] = code[:-1] + ("0" if code[-1] != "0" else "1")  # check character no longer matches
        wrong[a + 2] = "credit_code"
        rows[b][0] = rows[1][0]  # the same code as data row 2 (file row 3)
        wrong[b + 2] = "credit_code"
        rows[c][3] = "银川市"
        wrong[c + 2] = "district"
    return RegistryFile(rows=rows, bad=wrong)
