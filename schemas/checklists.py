"""Wire types of versioned checklist templates (检查表).

A template is named by ``code`` across its versions. Changing it never edits
a version in place: it creates version N+1 with the full new content, which
becomes current; inspections keep pointing at the version they were made with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Struct
from schemas.vocab import Sector

TemplateCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
ItemCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Basis = Annotated[str, msgspec.Meta(max_length=256)]
Category = Annotated[str, msgspec.Meta(max_length=64)]
ItemText = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
LegalBasis = Annotated[str, msgspec.Meta(max_length=1000)]

#: Most items one template version may hold.
MAX_ITEMS = 500


class ChecklistItem(Struct, kw_only=True):
    """One item: what to check, why (依据), and whether failing it is a 重大事故隐患."""

    id: uuid.UUID
    position: int
    code: str
    category: str
    text: str
    legal_basis: str
    is_major_criterion: bool


class ChecklistTemplateSummary(Struct, kw_only=True):
    """A template version without its items (for lists)."""

    id: uuid.UUID
    code: str
    version: int
    sector: Sector
    title: str
    basis: str
    is_current: bool
    item_count: int
    created_at: dt.datetime


class ChecklistTemplate(Struct, kw_only=True):
    """One version of a template with its items in order."""

    id: uuid.UUID
    code: str
    version: int
    sector: Sector
    title: str
    basis: str
    is_current: bool
    created_by: uuid.UUID | None
    created_at: dt.datetime
    items: list[ChecklistItem]


class ChecklistItemInput(Input, kw_only=True):
    code: ItemCode
    category: Category = ""
    text: ItemText
    legal_basis: LegalBasis = ""
    is_major_criterion: bool = False


class ChecklistTemplateCreate(Input, kw_only=True):
    """A new template (version 1)."""

    code: TemplateCode
    sector: Sector
    title: Title
    basis: Basis = ""
    items: Annotated[list[ChecklistItemInput], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class ChecklistTemplateRevise(Input, kw_only=True):
    """The full content of the next version; ``expected_version`` refuses a revision of a stale read."""

    title: Title
    basis: Basis = ""
    items: Annotated[list[ChecklistItemInput], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    expected_version: Annotated[int, msgspec.Meta(ge=1)] | None = None
