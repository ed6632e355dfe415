"""Who may read statistics, and the CSV / XLSX exports."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import httpx
import pytest

from tests.conftest import login
from tests.server.stats.conftest import City
from tests.server.stats.test_indicators import HAND


def _figure(body: dict, key: str) -> float | None:
    return next(f.get("value") for f in body["figures"] if f["key"] == key)


async def test_inspectors_see_nothing_and_tokens_are_required(city: City) -> None:
    city.users["I"] = city.users["A"]
    for path in ("summary", "indicators", "dashboard", "breakdown?by=district", "export?view=summary"):
        response = await city.get("I", path)
        assert response.status_code == 403, (path, response.text)
    anonymous = await city.client.get("/api/v1/stats/summary", params={"period": "2025"})
    assert anonymous.status_code == 401
    page = await city.client.get("/dashboard")  # the shell is public; its data is not
    assert page.status_code == 200 and "安全生产执法统计驾驶舱" in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"


async def test_supervisors_see_their_department_only(city: City) -> None:
    own = await city.get("S1", "summary", period="2025")
    assert own.status_code == 200
    body = own.json()
    assert body["scope"]["department_id"] == str(city.departments["D1"])
    assert _figure(body, "checks") == 3 and _figure(body, "violations") == 2  # I1 I2 I4; V1 V4
    assert _figure(body, "enterprises_inspected") == 2  # E1, E4

    other = await city.get("S1", "summary", period="2025", department_id=city.departments["D2"])
    assert other.status_code == 403
    departments = (await city.get("S1", "breakdown", by="department", period="2025")).json()
    assert [r["group"] for r in departments["rows"]] == [str(city.departments["D1"])]
    drill = (await city.get("S1", "drilldown", period="2025", indicator="hazards_found")).json()
    assert drill["total"] == 2  # H1, H2 (D1); H3, H4 belong to D2
    refused = await city.get("S1", "drilldown", period="2025", indicator="checks", department_id=city.departments["D2"])
    assert refused.status_code == 403

    leader = (await city.get("L", "summary", period="2025", department_id=city.departments["D2"])).json()
    assert _figure(leader, "checks") == 3  # I3 I7 I8
    admin = (await city.get("ADMIN", "summary", period="2025")).json()
    assert _figure(admin, "checks") == HAND["checks"]


async def test_statistics_are_read_only(city: City) -> None:
    headers = await city.headers("L")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await city.client.request(method, "/api/v1/stats/summary", headers=headers)
        assert response.status_code == 405, method


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2025-13"}, "period"),
        ({"period": "25"}, "period"),
        ({"period": "2025", "district": "beijing"}, "district"),
        ({"period": "2025", "indicator": "no_such"}, "indicator"),
    ],
)
async def test_bad_input_is_refused(city: City, params: dict, field: str) -> None:
    path = "drilldown" if "indicator" in params else "summary"
    response = await city.get("L", path, **params)
    assert response.status_code in (400, 422), response.text
    assert field in response.text


async def test_drilldown_refuses_a_split_the_indicator_does_not_have(city: City) -> None:
    response = await city.get("L", "drilldown", period="2025", indicator="coverage_rate", by="inspector", group=str(city.users["A"]))
    assert response.status_code == 422
    assert "不按检查人员统计" in response.json()["message"]


async def test_csv_exports_of_every_view(city: City) -> None:
    response = await city.get("L", "export", view="summary", format="csv", period="2025")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # one charset, not two
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["统计概要（2025年）"]
    assert rows[1] == ["指标", "单位", "本期", "上年同期", "同比", "指标口径"]
    checks = next(r for r in rows if r[0] == "检查次数")
    assert checks[1:5] == ["家次", "6", "1", "+500.0%"]  # I1 I2 I3 I4 I7 I8 against I6

    breakdown = await city.get("L", "export", view="breakdown", by="district", format="csv", period="2025")
    rows = list(csv.reader(io.StringIO(breakdown.content.decode("utf-8-sig"))))
    assert rows[1][0] == "区县"
    assert ["中宁县", "检查次数", "家次", "3"] == next(r for r in rows if r[:2] == ["中宁县", "检查次数"])[:4]

    drill = await city.get("L", "export", view="drilldown", indicator="rectification_rate", format="csv", period="2025")
    rows = list(csv.reader(io.StringIO(drill.content.decode("utf-8-sig"))))
    assert rows[0] == ["隐患整改率（2025年）"] and rows[1][-1] == "计入分子"
    assert len(rows) == 2 + 4 and sorted(r[-1] for r in rows[2:]) == ["否", "否", "是", "是"]


def _xlsx_cells(content: bytes) -> list[str]:
    """Every string in the first sheet, in order (xlsxwriter's constant_memory writes inline strings)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        shared = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
    strings = re.findall(r"<t[^>]*>([^<]*)</t>", shared)
    out = []
    for cell in re.finditer(r"<c ([^>]*)>(.*?)</c>", sheet):
        kind_match = re.search(r't="(\w+)"', cell.group(1))
        kind, inner = (kind_match.group(1) if kind_match else None), cell.group(2)
        if kind == "s":
            out.append(strings[int(re.search(r"<v>(\d+)</v>", inner).group(1))])
        elif kind == "inlineStr":
            out.append(re.search(r"<t[^>]*>([^<]*)</t>", inner).group(1))
        else:
            value = re.search(r"<v>([^<]*)</v>", inner)
            out.append(value.group(1) if value else "")
    return out


async def test_xlsx_exports(city: City) -> None:
    response = await city.get("L", "export", view="drilldown", indicator="hazards_found", format="xlsx", period="2025")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    cells = _xlsx_cells(response.content)
    assert cells[0] == "发现隐患数（2025年）"
    assert cells[1:4] == ["隐患编号", "发现时间", "企业名称"]
    assert "中卫市美利化工有限公司" in cells and "重大隐患" in cells and "一般隐患" in cells

    summary = await city.get("L", "export", view="summary", format="xlsx", period="2025", district="zhongning")
    cells = _xlsx_cells(summary.content)
    assert cells[0] == "统计概要（2025年）" and "检查覆盖率" in cells


async def test_large_export_streams_in_pieces(city: City) -> None:
    """Thousands of records leave as a stream of chunks, read from a server-side cursor."""
    from tests.server.stats.conftest import at

    from server import database

    async with database.transaction():  # one commit: SQLite would otherwise sync the file 3000 times
        for n in range(3000):
            await city.add_inspection(f"X{n}", "E5", "routine", "D1", at("2025-10-01", f"{8 + n % 10:02d}:{n % 60:02d}"), ["A"],
                                      checklist=False)
    # Through the app (httpx's ASGI transport gathers the body, so count rows there)…
    response = await city.get("L", "export", view="drilldown", indicator="checks", format="csv", period="2025")
    assert response.status_code == 200 and response.text.count("\n") == 2 + HAND["checks"] + 3000
    # …and the stream itself: rows come from a server-side cursor and leave in 64 KiB pieces.
    from server.accounts.policy import Actor
    from server import exports
    from server.stats import drilldown as stats_drill
    from server.stats import query as stats_query
    from schemas.vocab import Role

    query = stats_query.query_from("2025")
    title, headers, rows = await stats_drill.iter_drilldown(Actor(user_id=None, role=Role.LEADER), query, "checks")
    sizes = [len(chunk) async for chunk in exports.csv_stream(title, headers, rows)]
    assert len(sizes) >= 3 and max(sizes) < 2 * exports.CHUNK
    assert sum(sizes) > 3000 * 60


def test_csv_cells_that_start_like_a_formula_are_neutralised_and_figures_are_not():
    from server.exports import safe_cell

    for hostile in ("=HYPERLINK(\"http://x\",\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(hostile) == "'" + hostile
    for figure in ("+400.0%", "-12.5", "15", "0.0%", "灭火器过期", 7):
        assert safe_cell(figure) == figure


async def test_xlsx_cells_are_typed_and_the_sheet_prints_landscape_on_one_width(city: City) -> None:
    """Dates as dates, numbers as numbers, 同比 as a percentage; header frozen and filtered; columns sized; A4 landscape."""
    drill = await city.get("L", "export", view="drilldown", indicator="hazards_found", format="xlsx", period="2025")
    breakdown = await city.get("L", "export", view="breakdown", by="district", format="xlsx", period="2025")
    for response in (drill, breakdown):
        assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(drill.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert 'ySplit="2"' in sheet and 'state="frozen"' in sheet  # the title and header rows stay put
    assert re.search(r'<autoFilter ref="A2:[A-Z]+\d+"/>', sheet)
    assert 'orientation="landscape"' in sheet and 'fitToHeight="0"' in sheet and 'fitToPage="1"' in sheet
    assert 'paperSize="9"' in sheet
    widths = [float(w) for w in re.findall(r'<col [^>]*width="([\d.]+)"', sheet)]
    assert widths and max(widths) > 20 and min(widths) >= 8  # 企业名称 wider than 状态
    # 发现时间 (B3) is a number under a date-and-time format, not text.
    found = re.search(r'<c r="B3" s="(\d+)"><v>([\d.]+)</v></c>', sheet)
    assert found, sheet[:2000]
    assert 'formatCode="yyyy-mm-dd hh:mm"' in styles
    with zipfile.ZipFile(io.BytesIO(breakdown.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert 'formatCode="+0.0%;-0.0%;0.0%"' in styles
    # 同比 of 检查次数 in 沙坡头区 (2 checks against 1 in 2024): +100.0% stored as the number 1.
    assert re.search(r'<c r="F\d+" s="\d+"><v>1</v></c>', sheet)
