"""The paged-table helper: filter values are bounded and page links keep the filters."""

from __future__ import annotations

import pytest

from server.console.paging import Cell, Filter, Table, read_filters, read_page, slice_of
from server.errors import InvalidInput

FILTERS = [Filter("q", "名称"), Filter("district", "区县", "select", [("shapotou", "沙坡头区"), ("zhongning", "中宁县")])]


def test_filters_are_read_and_bounded() -> None:
    assert read_filters(FILTERS, {"q": " 钢铁 ", "district": "zhongning"}) == {"q": "钢铁", "district": "zhongning"}
    assert read_filters(FILTERS, {}) == {"q": "", "district": ""}
    with pytest.raises(InvalidInput) as refused:
        read_filters(FILTERS, {"district": "atlantis"})
    assert refused.value.field == "district" and "区县" in refused.value.message
    with pytest.raises(InvalidInput):
        read_filters(FILTERS, {"q": "x" * 129})
    with pytest.raises(InvalidInput):
        read_filters(FILTERS, {"q": "a\x00b"})


def test_page_numbers_are_bounded() -> None:
    assert read_page({}) == 1 and read_page({"page": "3"}) == 3
    for bad in ("0", "-1", "x", "1" * 10):
        with pytest.raises(InvalidInput):
            read_page({"page": bad})


def test_page_links_keep_the_filters() -> None:
    table = Table(path="/console/x", columns=["名称"], rows=[[Cell("a")]], values={"q": "钢", "district": ""}, page=2, total=120)
    assert table.pages == 3
    assert table.next_url == "/console/x?q=%E9%92%A2&page=3"
    assert table.previous_url == "/console/x?q=%E9%92%A2"
    last = Table(path="/console/x", columns=[], rows=[], page=3, total=120)
    assert last.next_url is None
    cursor = Table(path="/console/x", columns=[], rows=[], values={"q": "钢"}, next_cursor="abc")
    assert cursor.next_url == "/console/x?q=%E9%92%A2&cursor=abc&page=2"
    assert list(slice_of(list(range(120)), 3)) == list(range(100, 120))
