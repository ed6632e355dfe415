"""Registry import through the API: rows checked by the registry's rules, staged, applied all or none on confirm."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from schemas.vocab import Role
from server.audit.tables import AuditEntry
from server.registry import imports
from server.registry.tables import Enterprise, EnterpriseImportRow
from tests.conftest import login, make_enterprise, make_user, username_of
from tests.server.registry.import_files import credit_code, registry_file
from tests.server.registry.test_import_apply import feed_matches_the_registry

API = "/api/v1/enterprise-imports"


async def _as(client: httpx.AsyncClient, role: Role) -> dict[str, str]:
    return await login(client, await username_of(await make_user(role)))


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], body: bytes, name: str = "名录.csv") -> httpx.Response:
    return await client.post(API, params={"file_name": name}, content=body, headers=headers)


async def _settled(client: httpx.AsyncClient, headers: dict[str, str], import_id: str) -> dict:
    await imports.wait_for([uuid.UUID(import_id)])
    answer = await client.get(f"{API}/{import_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_file_with_three_bad_rows_is_checked_and_applied_only_on_confirm(client: httpx.AsyncClient, kind: str) -> None:
    admin = await _as(client, Role.ADMIN)
    existing = credit_code(7)  # already registered: its row must be refused as a duplicate
    await make_enterprise(credit_code=existing)
    sheet = registry_file(500)
    body = sheet.csv() if kind == "csv" else sheet.xlsx()
    started = await _upload(client, admin, body, f"名录.{kind}")
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "checking"
    done = await _settled(client, admin, started.json()["id"])
    assert done["status"] == "checked" and done["total_rows"] == 500
    assert (done["good_rows"], done["bad_rows"]) == (496, 4)
    assert await Enterprise.count() == 1  # nothing written before the person confirms

    refused = (await client.get(f"{API}/{done['id']}/rows", params={"ok": "false"}, headers=admin)).json()
    by_row = {r["row_number"]: r["errors"][0] for r in refused["items"]}
    assert set(by_row) == set(sheet.bad) | {9}  # file row 9 holds credit_code(7)
    for number, field in sheet.bad.items():
        assert by_row[number]["field"] == field
    bad_digit, repeated, district = sorted(sheet.bad)
    assert "GB 32100" in by_row[bad_digit]["message"] and by_row[bad_digit]["label"] == "统一社会信用代码"
    assert by_row[repeated]["message"] == "与第 3 行的统一社会信用代码重复"
    assert "银川市" in by_row[district]["message"] and by_row[district]["label"] == "区县"
    assert by_row[9]["message"] == "该统一社会信用代码已登记在企业名录中"

    confirmed = await client.post(f"{API}/{done['id']}/confirm", headers=admin)
    assert confirmed.status_code == 202, confirmed.text
    applied = await _settled(client, admin, done["id"])
    assert applied["status"] == "applied" and applied["applied_rows"] == 496
    assert await Enterprise.count() == 497
    names = {r["name"] for r in await Enterprise.select(Enterprise.name)}
    assert "中卫市测试0企业00000有限公司" in names
    entry = await AuditEntry.select().where(AuditEntry.action == "enterprise.import").first()
    assert entry is not None and entry["entity_id"] == done["id"]
    again = await client.post(f"{API}/{done['id']}/confirm", headers=admin)
    assert again.status_code == 409


async def test_a_code_registered_between_check_and_confirm_fails_the_whole_import(client: httpx.AsyncClient) -> None:
    supervisor = await _as(client, Role.SUPERVISOR)
    sheet = registry_file(1200, salt=3, bad=False)
    started = await _upload(client, supervisor, sheet.csv())
    done = await _settled(client, supervisor, started.json()["id"])
    assert done["good_rows"] == 1200
    # Someone registers the file's last enterprise through the API meanwhile (it is in the third chunk written).
    created = await client.post("/api/v1/enterprises/", headers=supervisor, json={
        "credit_code": sheet.rows[-1][0], "name": "抢先登记的企业", "sector": "industry_trade", "district": "haiyuan",
    })
    assert created.status_code == 201, created.text
    await client.post(f"{API}/{done['id']}/confirm", headers=supervisor)
    failed = await _settled(client, supervisor, done["id"])
    assert failed["status"] == "failed" and "未写入任何企业" in failed["failure"] and "已登记" in failed["failure"]
    assert await Enterprise.count() == 1  # the first 1,000 rows written before the clash were rolled back


async def test_who_may_import_and_see_imports(client: httpx.AsyncClient) -> None:
    leader = await _as(client, Role.LEADER)
    inspector = await _as(client, Role.INSPECTOR)
    mine = await _as(client, Role.SUPERVISOR)
    other = await _as(client, Role.SUPERVISOR)
    body = registry_file(20, salt=5).csv()
    assert (await _upload(client, leader, body)).status_code == 403
    assert (await _upload(client, inspector, body)).status_code == 403
    started = (await _upload(client, mine, body)).json()
    await imports.wait_for([uuid.UUID(started["id"])])
    assert (await client.get(f"{API}/{started['id']}", headers=other)).status_code == 404
    assert (await client.post(f"{API}/{started['id']}/confirm", headers=other)).status_code == 404
    assert (await client.get(f"{API}/{started['id']}", headers=leader)).status_code == 200
    assert (await client.post(f"{API}/{started['id']}/confirm", headers=leader)).status_code == 403
    discarded = await client.post(f"{API}/{started['id']}/discard", headers=mine)
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    assert await EnterpriseImportRow.count() == 0 and await Enterprise.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415, "CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, 415, ".xls"),
        (b"PK\x03\x04garbage", 415, "Excel"),
        ("名称,地址\r\n甲,乙\r\n".encode(), 422, "缺少：统一社会信用代码"),
        (b"", 422, "空"),
    ],
)
async def test_a_file_is_judged_by_its_content(client: httpx.AsyncClient, body: bytes, status: int, phrase: str) -> None:
    admin = await _as(client, Role.ADMIN)
    answer = await _upload(client, admin, body, "名录.csv")
    assert answer.status_code == status, answer.text
    assert phrase in answer.json()["message"]


async def test_a_file_over_the_row_bound_is_refused(client: httpx.AsyncClient, app) -> None:
    admin = await _as(client, Role.ADMIN)
    limit = app.state.settings.registry.import_max_rows
    body = "统一社会信用代码,企业名称,行业,区县\r\n".encode() + b"x,y,z,w\r\n" * (limit + 1)
    answer = await _upload(client, admin, body)
    assert answer.status_code == 422 and "超过单次导入上限" in answer.json()["message"]
    await asyncio.sleep(0)


@pytest.mark.sqlite
async def test_the_import_works_on_the_embedded_sqlite_default(sqlite_client: httpx.AsyncClient) -> None:
    admin = await make_user(Role.ADMIN)
    headers = await login(sqlite_client, await username_of(admin))
    sheet = registry_file(700, salt=41)
    started = await _upload(sqlite_client, headers, sheet.xlsx(), "名录.xlsx")
    assert started.status_code == 202, started.text
    done = await _settled(sqlite_client, headers, started.json()["id"])
    assert (done["status"], done["good_rows"], done["bad_rows"]) == ("checked", 697, 3)
    await sqlite_client.post(f"{API}/{done['id']}/confirm", headers=headers)
    applied = await _settled(sqlite_client, headers, done["id"])
    assert applied["status"] == "applied" and applied["applied_rows"] == 697
    assert await Enterprise.count() == 697
    await feed_matches_the_registry(sqlite_client, headers, 697)
