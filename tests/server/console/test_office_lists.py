"""The console's long lists page in the database with their true count, and their filters stay on every page link."""

from __future__ import annotations

import re

import httpx

from schemas.vocab import Role
from tests.conftest import make_user
from tests.server.console.office_world import make_office
from tests.server.console.test_office_enforcement import console_session, proposed


def _rows(html: str) -> list[str]:
    return re.findall(r'href="/console/enforcement/([0-9a-f-]{36})"', html)


async def test_the_enforcement_list_pages_past_its_first_page_with_the_filter_kept(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    inspection = await office.assign(office.inspectors[:2])
    warnings = [await proposed(client, office, inspection, "admonition") for _ in range(53)]
    other = await proposed(client, office, inspection, "public_notice")
    await console_session(client, office, office.supervisor)

    first = await client.get("/console/enforcement", params={"kind": "admonition"})
    assert first.status_code == 200 and "共 53 条，第 1/2 页" in first.text
    assert len(_rows(first.text)) == 50 and other not in first.text
    following = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text).group(1).replace("&amp;", "&")
    assert "kind=admonition" in following and "page=2" in following
    second = await client.get(following)
    assert "共 53 条，第 2/2 页" in second.text and len(_rows(second.text)) == 3
    assert set(_rows(first.text)) | set(_rows(second.text)) == set(warnings)  # every one, none twice
    everything = await client.get("/console/enforcement")
    assert "共 54 条" in everything.text
    client.cookies.clear()


async def test_another_departments_supervisor_counts_none_of_them(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    inspection = await office.assign(office.inspectors[:2])
    await proposed(client, office, inspection, "admonition")
    await console_session(client, office, office.other_supervisor)
    page = await client.get("/console/enforcement")
    assert page.status_code == 200 and "共 0 条" in page.text and not _rows(page.text)
    client.cookies.clear()


async def test_the_violation_register_and_the_imports_list_page_in_the_database(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    await console_session(client, office, office.supervisor)
    register = await client.get("/console/violations", params={"page": "2"})
    assert register.status_code == 200 and "共 0 条" in register.text
    imports = await client.get("/console/registry/imports", params={"page": "3"})
    assert imports.status_code == 200 and "共 0 条" in imports.text
    conflicts = await client.get("/console/conflicts", params={"page": "2", "revoked": "include"})
    assert conflicts.status_code == 200 and "共 0 条" in conflicts.text
    bad = await client.get("/console/enforcement", params={"page": "0"})
    assert bad.status_code == 422
    client.cookies.clear()


async def test_the_people_list_is_filtered_and_paged_in_the_database(client: httpx.AsyncClient) -> None:
    office = await make_office(client)
    for n in range(52):
        await make_user(Role.INSPECTOR, username=f"xunjian-{n:02d}")
    await console_session(client, office, office.admin)
    first = await client.get("/console/people", params={"q": "xunjian", "role": "inspector"})
    assert first.status_code == 200 and "共 52 条，第 1/2 页" in first.text
    assert "xunjian-00" in first.text and "xunjian-49" in first.text and "xunjian-50" not in first.text
    following = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text).group(1).replace("&amp;", "&")
    assert "q=xunjian" in following and "role=inspector" in following
    second = await client.get(following)
    assert "共 52 条，第 2/2 页" in second.text and "xunjian-51" in second.text and "xunjian-00" not in second.text
    wildcard = await client.get("/console/people", params={"q": "%"})  # a typed % is no wildcard: every account
    assert wildcard.status_code == 200 and "共 52 条" not in wildcard.text and "xunjian-00" in wildcard.text
    stopped = await client.get("/console/people", params={"q": "xunjian", "active": "no"})
    assert "共 0 条" in stopped.text
    client.cookies.clear()
