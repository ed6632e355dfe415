"""Pure checks a write passes before it is queued: the server's own rules, from the same functions.

A mistyped ID number or a major hazard without its 五落实 would sync and come
back rejected hours later, far from the site. These checks refuse it while the
inspector is still there: :class:`~sync_client.InvalidRecord` names the field,
and nothing is stored. Every rule the server also holds is called from
``schemas/`` (the function the server's policy calls), never copied here; the
server stays the judge of everything that needs its data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from schemas.enforcement import EnforcementProposal, proposal_refusal
from schemas.hazards import HazardCreate, deadline_refusal, five_in_place_refusal, level_refusal
from schemas.identifiers import (
    credit_code_refusal,
    id_number_refusal,
    normalize_credit_code,
    normalize_id_number,
)
from schemas.inspections import unanswered_refusal
from schemas.problems import Refusal
from schemas.vocab import HazardLevel
from sync_client._errors import InvalidRecord

T = TypeVar("T")
_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def refuse(refusal: Refusal | None) -> None:
    """Raise the refusal of a shared rule as ``InvalidRecord``."""
    if refusal is not None:
        raise InvalidRecord(refusal.field, refusal.message, refusal.message_en, str(refusal.code))


def build(type_: type[T], **fields: Any) -> T:
    """``type_`` from ``fields``, checked as the server decodes it (types, lengths, ranges, enums)."""
    try:
        return msgspec.convert(fields, type_)
    except msgspec.ValidationError as error:
        found = _PATH.search(str(error))
        field = (found.group("path") if found else "") or "?"
        detail = _PATH.sub("", str(error))
        raise InvalidRecord(field, f"字段 {field} 的值不符合要求：{detail}", detail) from None


def check_id_number(number: str, field: str = "id_number") -> str:
    """The normalised 身份号码, or ``InvalidRecord`` (GB 11643 length, birth date, check digit)."""
    refuse(id_number_refusal(number, field))
    return normalize_id_number(number)


def check_credit_code(code: str, field: str = "credit_code") -> str:
    """The normalised 统一社会信用代码, or ``InvalidRecord`` (GB 32100 check character), e.g. for a search form."""
    refuse(credit_code_refusal(code, field))
    return normalize_credit_code(code)


def check_hazard(hazard: HazardCreate, *, found_date: dt.date, item: Mapping[str, Any] | None) -> None:
    """The opening rules of ``schemas.hazards``: deadline, level vs the cited item (if known here), 五落实."""
    refuse(deadline_refusal(hazard.deadline_date, found_date))
    if item is not None or hazard.checklist_item_id is None:  # an item this phone does not hold: the server judges
        refuse(level_refusal(hazard.level, bool(item["is_major_criterion"]) if item is not None else None))
    if hazard.level == HazardLevel.MAJOR:
        refuse(five_in_place_refusal(hazard.five_in_place, hazard.deadline_date))


def check_proposal(proposal: EnforcementProposal) -> None:
    """The fields an enforcement kind needs (``schemas.enforcement``)."""
    refuse(proposal_refusal(proposal))


def check_all_answered(template: Mapping[str, Any] | None, results: Iterable[Mapping[str, Any]]) -> None:
    """Every item of the checklist has a result before signing (no template on the phone: the server judges)."""
    if template is None:
        return
    answered = [r["item_id"] for r in results if r.get("outcome")]
    items = sorted(template.get("items", []), key=lambda i: i.get("position", 0))
    refuse(unanswered_refusal(items, answered))
