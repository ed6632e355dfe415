"""Filterable, paged tables: what a list page hands its template (``_table.html`` draws it).

A page declares its filters, reads their values from the query string (bounded like any API
input), asks its service for one page, and returns a :class:`Table` of ready-made cells.
Numbered pages (``page``) and opaque service cursors (``cursor``) are both supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from server.errors import InvalidInput

#: Longest filter value read from a query string.
MAX_FILTER_LENGTH = 128
PER_PAGE = 50
MAX_PAGE_NUMBER = 100_000


@dataclass(frozen=True)
class Filter:
    """One filter above a table: a text box, a select (``options``: value, label) or a date."""

    name: str
    label: str
    kind: str = "text"  # text | select | date
    options: Sequence[tuple[str, str]] = ()

    def read(self, raw: str | None) -> str:
        value = (raw or "").strip()
        if len(value) > MAX_FILTER_LENGTH or "\x00" in value:
            raise InvalidInput(f"筛选条件“{self.label}”过长或含非法字符", "filter value too long", field=self.name)
        if self.kind == "select" and value and value not in {v for v, _ in self.options}:
            raise InvalidInput(f"筛选条件“{self.label}”的取值无效", "unknown filter value", field=self.name)
        return value


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    #: A css class for the cell (e.g. ``bad`` for a refused row, ``num`` for figures).
    tone: str = ""


@dataclass(frozen=True)
class Table:
    """One page of a table, with what its template needs to draw filters and page links."""

    path: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    filters: Sequence[Filter] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    total: int | None = None
    per_page: int = PER_PAGE
    next_cursor: str | None = None
    #: The element htmx swaps when a filter or page link is used.
    target: str = "table-area"

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))

    def url(self, **changes: str | int | None) -> str:
        """This table's address with the current filters and ``changes`` applied (None drops a key)."""
        query: dict[str, str] = {k: v for k, v in self.values.items() if v}
        for key, value in changes.items():
            if value is None or value == "":
                query.pop(key, None)
            else:
                query[key] = str(value)
        return self.path + (f"?{urlencode(query)}" if query else "")

    @property
    def previous_url(self) -> str | None:
        return self.url(page=self.page - 1 if self.page > 2 else None, cursor=None) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        if self.next_cursor:
            return self.url(cursor=self.next_cursor, page=self.page + 1)
        if self.pages is not None and self.page < self.pages:
            return self.url(page=self.page + 1)
        return None


def read_filters(filters: Sequence[Filter], query: Mapping[str, str]) -> dict[str, str]:
    return {f.name: f.read(query.get(f.name)) for f in filters}


def read_page(query: Mapping[str, str]) -> int:
    raw = query.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_NUMBER:
        raise InvalidInput("页码无效", "invalid page number", field="page")
    return int(raw)


def slice_of(rows: Sequence, page: int, per_page: int = PER_PAGE) -> Sequence:
    """The rows of one numbered page of a list the service returned whole."""
    return rows[(page - 1) * per_page : page * per_page]
