"""Check digits of the two national identifiers the system handles.

- 统一社会信用代码 (GB 32100-2015): 18 characters from a 31-symbol alphabet; the
  last one is a mod-31 check character over the first 17.
- 公民身份号码 (GB 11643-1999): 17 digits and a mod-11 check character (0-9 or X).

Pure functions, shared by the server and the phones so a phone can refuse a
mistyped number before it is ever queued.
"""

from __future__ import annotations

import datetime as dt
import re

from schemas.problems import ErrorCode, Refusal

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True if ``code`` is a well-formed 统一社会信用代码 with a correct check character."""
    if not isinstance(code, str) or not _CREDIT_RE.match(code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def normalize_credit_code(code: str) -> str:
    """Codes are printed upper-case; people type them with spaces and lower case."""
    return code.strip().replace(" ", "").upper()


def credit_code_refusal(code: str, field: str = "credit_code") -> Refusal | None:
    """Why ``code`` (normalised first) is not a 统一社会信用代码, or None."""
    if isinstance(code, str) and is_valid_credit_code(normalize_credit_code(code)):
        return None
    return Refusal(
        field=field,
        message="统一社会信用代码无效：应为 18 位，且校验位须符合 GB 32100-2015",
        message_en="invalid unified social credit code (GB 32100 check character)",
        code=ErrorCode.INVALID_CREDIT_CODE,
    )


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(number: str) -> str:
    """Upper-case and strip blanks, the form stored and hashed."""
    return number.strip().replace(" ", "").upper()


def is_valid_id_number(number: str) -> bool:
    """True if ``number`` is an 18-digit 身份号码 with a real birth date and a correct check digit."""
    number = normalize_id_number(number) if isinstance(number, str) else ""
    if not _ID_RE.match(number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return id_number_check_char(number[:17]) == number[17]


def id_number_refusal(number: str, field: str = "id_number") -> Refusal | None:
    """Why ``number`` is not a 身份号码 (length, birth date, check digit), or None."""
    if is_valid_id_number(number):
        return None
    return Refusal(
        field=field,
        message="身份证号码无效（位数、出生日期或校验码不符合 GB 11643）",
        message_en="invalid ID number (length, birth date or GB 11643 check digit)",
        code=ErrorCode.INVALID_ID_NUMBER,
    )


def mask_id_number(number: str) -> str:
    """Show the region and the last digit only: ``640502********123X`` → ``640502***********X``."""
    number = normalize_id_number(number)
    if len(number) <= 7:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 7) + number[-1]
